"""Machine classes, forced one at a time: the device and precision each one picks, never this CPU's."""

from __future__ import annotations

import pytest

from studio.core.errors import UsageError
from studio.core.vocabulary import MACHINE_CLASSES
from studio.models.backends import devices


@pytest.fixture(params=[True, False], ids=["cuda-present", "no-cuda"])
def cuda(request, monkeypatch) -> bool:
    monkeypatch.setattr(devices, "cuda_available", lambda: request.param)
    return request.param


@pytest.mark.parametrize("machine", MACHINE_CLASSES)
def test_a_forced_class_is_used_as_is(machine, monkeypatch):
    monkeypatch.setattr(devices, "detected_machine_class", lambda: pytest.fail("a forced class must not detect"))
    assert devices.machine_class(machine) == machine


def test_auto_asks_the_machine_once(monkeypatch):
    monkeypatch.setattr(devices, "detected_machine_class", lambda: "cpu-bf16")
    assert devices.machine_class("auto") == "cpu-bf16"


@pytest.mark.parametrize(("forced", "allowed"), [("auto", True), ("cuda", True), ("cpu", False), ("cpu-bf16", False)])
def test_only_auto_and_cuda_may_use_a_gpu(forced, allowed):
    assert devices.gpu_allowed(forced) is allowed


@pytest.mark.parametrize(("machine", "device"), [("cpu", "cpu"), ("cpu-bf16", "cpu"), ("cuda", "cuda")])
def test_auto_device_follows_the_class(cuda, machine, device):
    if device == "cuda" and not cuda:
        with pytest.raises(UsageError, match="no CUDA GPU is available"):
            devices.choose_device("auto", machine)
    else:
        assert devices.choose_device("auto", machine) == device


@pytest.mark.parametrize("machine", MACHINE_CLASSES)
def test_an_explicit_device_wins_over_the_class(cuda, machine):
    assert devices.choose_device("cpu", machine) == "cpu"
    if cuda:
        assert devices.choose_device("cuda", machine) == "cuda"
    else:
        with pytest.raises(UsageError, match="device 'cuda' requested"):
            devices.choose_device("cuda", machine)


@pytest.mark.parametrize(
    ("machine", "device", "expected"),
    [
        ("cpu", "cpu", "fp32"),
        ("cpu-bf16", "cpu", "bf16"),
        ("cuda", "cpu", "fp32"),
        ("cuda", "cuda", "fp16"),
    ],
)
def test_auto_precision_per_class_and_device(machine, device, expected):
    assert devices.choose_precision("auto", device, True, True, machine) == expected
    # a network without half / bf16 support falls back to fp32
    assert devices.choose_precision("auto", device, False, False, machine) == "fp32"


def test_explicit_precisions_are_checked():
    assert devices.choose_precision("bf16", "cpu", False, True, "cpu") == "bf16"
    with pytest.raises(UsageError, match="fp16 needs a CUDA device"):
        devices.choose_precision("fp16", "cpu", True, True, "cuda")
    with pytest.raises(UsageError, match="does not support bf16"):
        devices.choose_precision("bf16", "cpu", True, False, "cpu-bf16")
    with pytest.raises(UsageError, match="unknown precision 'fp8'"):
        devices.choose_precision("fp8", "cpu", True, True, "cpu")


def test_bf16_is_fast_only_on_the_cpu_bf16_class():
    assert [devices.fast_bf16(m) for m in MACHINE_CLASSES] == [False, True, False]
