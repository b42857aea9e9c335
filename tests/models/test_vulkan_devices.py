"""Vulkan only on a real GPU (#14 item 7): Mesa's llvmpipe ran a network 23x slower than ncnn on the CPU.

Two halves. Forced: fake device lists (what ncnn would report) go through the studio's own rules, so a
discrete GPU counts and a software rasterizer never does, on any machine, without touching hardware.
Real: where Mesa's software Vulkan driver is installed (.ci/run installs mesa-vulkan-drivers), ncnn really
lists llvmpipe, and the studio really leaves it alone: default runs stay on the CPU, `--device vulkan` is
refused in one line naming it.
"""

from __future__ import annotations

import dataclasses
import glob
import json

import pytest

from studio.core.config import Settings
from studio.core.errors import UsageError
from studio.models.backends import ncnn as ncnn_backend
from studio.models.backends.devices import VulkanDevice, no_vulkan_gpu, vulkan_gpu
from studio.models.cache import EnhancerCache
from studio.models.loader import Loader
from studio.models.registry import load_registry
from tests.cli.helpers import NCNN_FP32, save_image, studio

REGISTRY = load_registry(Settings.from_env({}))
LLVMPIPE = VulkanDevice(0, "llvmpipe (LLVM 15.0.6, 256 bits)", "cpu")
RTX = VulkanDevice(1, "NVIDIA GeForce RTX 4090", "discrete")
IRIS = VulkanDevice(2, "Intel(R) Iris(R) Xe Graphics", "integrated")
SOFTWARE_REFUSAL = "no Vulkan GPU here (llvmpipe (LLVM 15.0.6, 256 bits) is a software rasterizer)"


def on_machine(monkeypatch, settings: Settings, devices: tuple[VulkanDevice, ...], machine: str = "cuda") -> Loader:
    """A loader on a machine of this (forced) class whose ncnn reports `devices`."""
    monkeypatch.setattr(ncnn_backend, "vulkan_devices", lambda asked=False: devices)
    return Loader(dataclasses.replace(settings, machine_class=machine), EnhancerCache(100))


# -- forced: the rules, on fake device lists ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("devices", "chosen"),
    [
        ((LLVMPIPE,), None),
        ((LLVMPIPE, RTX), RTX),
        ((IRIS, RTX), RTX),  # a discrete GPU before an integrated one
        ((LLVMPIPE, IRIS), IRIS),
        ((VulkanDevice(0, "llvmpipe (LLVM 15.0.6, 256 bits)", "integrated"),), None),  # known by name, too
        ((VulkanDevice(0, "SwiftShader Device (Subzero)", "cpu"),), None),
        ((VulkanDevice(0, "Some future device", "other"),), None),
        ((), None),
    ],
)
def test_only_a_real_gpu_counts(devices, chosen):
    assert vulkan_gpu(devices) == chosen


def test_ncnn_type_codes_map_to_device_kinds():
    kinds = [VulkanDevice.from_ncnn(code, "x", code).kind for code in (0, 1, 2, 3, 7, -1)]
    assert kinds == ["discrete", "integrated", "virtual", "cpu", "other", "other"]


def test_the_refusal_names_what_was_found():
    assert no_vulkan_gpu((LLVMPIPE,)) == SOFTWARE_REFUSAL
    assert no_vulkan_gpu(()).startswith("no Vulkan GPU here (no Vulkan device found")


def test_a_discrete_gpu_is_counted_and_named(monkeypatch, model_settings):
    loader = on_machine(monkeypatch, model_settings, (LLVMPIPE, RTX))
    machine = loader.machine()
    assert (machine.vulkan, machine.vulkan_name) == (True, RTX.name)
    spec = REGISTRY.get("realesr-animevideov3-x2")  # ncnn only: auto runs it on the GPU, fp16 as ncnn does there
    assert loader.plan(spec).describe() == "ncnn fp16 vulkan (NVIDIA GeForce RTX 4090)"
    assert loader.plan(spec, precision="fp32").describe() == "ncnn fp32 vulkan (NVIDIA GeForce RTX 4090)"


def test_llvmpipe_alone_is_no_gpu(monkeypatch, model_settings):
    loader = on_machine(monkeypatch, model_settings, (LLVMPIPE,))
    assert (loader.machine().vulkan, loader.machine().vulkan_name) == (False, "")
    spec = REGISTRY.get("realesr-animevideov3-x2")
    assert loader.plan(spec, precision="fp32").describe() == "ncnn fp32"  # the CPU: no device in the label
    assert loader.plan(spec, device="vulkan").describe() == "ncnn fp16 vulkan"  # asked for: refused when loaded
    with pytest.raises(UsageError) as refused:
        loader.load(spec, device="vulkan")
    assert str(refused.value) == f"'realesr-animevideov3-x2': {SOFTWARE_REFUSAL}"


@pytest.mark.parametrize(("devices", "offered"), [((LLVMPIPE,), False), ((LLVMPIPE, RTX), True)])
def test_vulkan_is_an_autotune_candidate_only_on_a_real_gpu(monkeypatch, model_settings, devices, offered):
    from studio.models.autotune import candidates

    machine = on_machine(monkeypatch, model_settings, devices).machine()
    found = candidates(REGISTRY.get("realesr-animevideov3-x4").forms, machine.kind, machine.vulkan)
    assert any(candidate.device == "vulkan" for candidate in found) is offered


def test_a_cpu_class_never_probes(monkeypatch, model_settings):
    monkeypatch.setattr(ncnn_backend, "vulkan_devices", lambda asked=False: pytest.fail("a CPU class probed Vulkan"))
    for machine in ("cpu", "cpu-bf16"):
        loader = Loader(dataclasses.replace(model_settings, machine_class=machine), EnhancerCache(100))
        assert loader.machine().vulkan is False


def test_nothing_is_probed_without_a_gpu_device_node_unless_asked(monkeypatch):
    monkeypatch.setattr(ncnn_backend, "_gpu_device_node_present", lambda: False)
    monkeypatch.setattr(ncnn_backend, "probe_vulkan_devices", lambda: (LLVMPIPE,))
    assert ncnn_backend.vulkan_devices() == ()  # start-up on a server without a GPU: no Vulkan instance at all
    assert ncnn_backend.vulkan_devices(asked=True) == (LLVMPIPE,)  # --device vulkan: the refusal can name it


def test_a_device_request_picks_the_form_that_runs_there(monkeypatch, model_settings):
    loader = on_machine(monkeypatch, model_settings, (RTX,))
    x4 = REGISTRY.get("realesr-animevideov3-x4")  # ncnn, torch and onnx forms; the cuda class defaults to torch
    assert loader.plan(x4, device="vulkan").describe() == "ncnn fp16 vulkan (NVIDIA GeForce RTX 4090)"
    assert loader.plan(x4, device="cuda", precision="fp32").describe() == "torch fp32 cuda"


@pytest.mark.parametrize(
    ("model_id", "backend", "device", "message"),
    [
        ("lanczos-x4", None, "vulkan", "'lanczos-x4' is a classical filter: it runs on the CPU, not on vulkan"),
        ("lanczos-x4", None, "cuda", "'lanczos-x4' is a classical filter: it runs on the CPU, not on cuda"),
        ("4x-ultrasharp", None, "vulkan", "'4x-ultrasharp' as torch runs on cpu or cuda, not on vulkan"),
        (
            "realesr-animevideov3-x4",
            "torch",
            "vulkan",
            "'realesr-animevideov3-x4' as torch runs on cpu or cuda, not on vulkan (its ncnn form does)",
        ),
        (
            "realesr-animevideov3-x2",
            None,
            "cuda",
            "'realesr-animevideov3-x2' as ncnn runs on cpu or vulkan, not on cuda",
        ),
    ],
)
def test_a_device_a_model_cannot_use_is_one_line(monkeypatch, model_settings, model_id, backend, device, message):
    loader = on_machine(monkeypatch, model_settings, (RTX,))
    with pytest.raises(UsageError) as refused:
        loader.plan(REGISTRY.get(model_id), backend=backend, device=device)
    assert str(refused.value) == message


# -- real: Mesa's software Vulkan driver, where it is installed ---------------------------------------------

MESA_ICDS = glob.glob("/usr/share/vulkan/icd.d/lvp_icd.*.json")
needs_llvmpipe = pytest.mark.skipif(
    not MESA_ICDS,
    reason="Mesa's software Vulkan driver is not installed (apt-get install mesa-vulkan-drivers, as .ci/run does)",
)


@pytest.fixture(scope="module")
def listed() -> tuple[VulkanDevice, ...]:
    ncnn_backend.probe_vulkan_devices.cache_clear()
    return ncnn_backend.probe_vulkan_devices()


@needs_llvmpipe
def test_ncnn_lists_llvmpipe_and_the_studio_does_not_count_it(listed):
    software = [device for device in listed if "llvmpipe" in device.name]
    assert software, f"ncnn listed {listed}"
    assert all(device.software for device in software)
    assert vulkan_gpu(software) is None


@needs_llvmpipe
def test_ncnn_runs_on_the_cpu_and_vulkan_is_refused_beside_llvmpipe(listed, env, model_settings, small_photo, tmp_path):
    if vulkan_gpu(listed) is not None:
        pytest.skip(f"a real GPU is here as well ({vulkan_gpu(listed).name}): Vulkan is rightly used")
    image = save_image(tmp_path / "in.png", small_photo[:48, :48])
    env = {**env, "STUDIO_WEIGHTS_MIRROR": model_settings.weights_mirror, "STUDIO_MACHINE_CLASS": "auto"}
    args = ("compare", str(image), "-m", "realesr-animevideov3-x2", "--metrics", "sharpness", "--format", "json")
    ran = studio(*args, *NCNN_FP32, env=env)  # the issue's `--backend ncnn --precision fp32`, class auto
    assert ran.returncode == 0, ran.stderr
    row = json.loads(ran.stdout)["rows"][0]
    assert (row["backend"], row["precision"], row["device"]) == ("ncnn", "fp32", "cpu")
    refused = studio(*args, "--device", "vulkan", env=env)
    assert refused.returncode == 1
    line = next(line for line in refused.stderr.splitlines() if line.startswith("error: "))
    assert line.startswith("error: 'realesr-animevideov3-x2': no Vulkan GPU here (llvmpipe")
    assert line.endswith("is a software rasterizer)")
