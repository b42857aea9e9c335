"""int8 (#14): the ONNX form quantized by ONNX Runtime static quantization, always shown with its fidelity.

Precision: PSNR of the int8 output against the same model's ONNX fp32 output, both 8-bit images. Measured
here (2-core AVX-512 VNNI CPU, 8-bit weights) on the 64x64 crop below: realesr-animevideov3-x4 38.7 dB,
waifu2x-photo-x2 38.9 dB; on the 128x128 probe (the stored fidelity) 36.1 and 39.7 dB. A CPU without VNNI
quantizes weights to 7 bits (reduce_range), measured 1.6 dB lower on realesr-animevideov3-x4. The floor,
30 dB, leaves room for both; an output identical to fp32 (nothing quantized) fails the ceiling.
"""

from __future__ import annotations

import csv
import dataclasses
import io

import numpy as np
import onnx
import pytest

from studio.core.config import Settings
from studio.core.errors import UsageError
from studio.core.psnr import psnr
from studio.core.vocabulary import MACHINE_CLASSES, PRECISIONS
from studio.models.cache import EnhancerCache
from studio.models.convert import quantize
from studio.models.forms import Machine, choose_form
from studio.models.loader import Loader
from studio.models.registry import load_registry
from tests.cli.helpers import save_image, stderr_lines, studio
from tests.models.forms import load_exactly

REGISTRY = load_registry(Settings.from_env({}))
FLOOR_DB = 30.0
CEILING_DB = 60.0  # int8 that matched fp32 this closely would not be quantized
ONNX_FP32_CPU = {"backend": "onnx", "precision": "fp32", "device": "cpu"}
ONNX_INT8_CPU = {"backend": "onnx", "precision": "int8", "device": "cpu"}


@pytest.fixture(scope="module")
def loader(model_settings):
    return Loader(model_settings, cache=EnhancerCache(4096))


@pytest.fixture(scope="module")
def crop(photo):
    return np.ascontiguousarray(photo[100:164, 150:214])


@pytest.mark.parametrize("model_id", ["realesr-animevideov3-x4", "waifu2x-photo-x2"])
def test_int8_runs_the_onnx_form_quantized_close_to_fp32(loader, crop, model_id):
    spec = REGISTRY.get(model_id)
    int8 = loader.load(spec, precision="int8")  # whatever the default form (ncnn here): int8 is the ONNX form
    assert (int8.info.backend, int8.info.precision, int8.info.device) == ("onnx", "int8", "cpu")
    fp32 = load_exactly(loader, spec, ONNX_FP32_CPU)
    output = int8.enhance(crop)
    assert output.shape == (64 * spec.scale, 64 * spec.scale, 3)
    measured = psnr(fp32.enhance(crop), output)
    print(f"{model_id}: int8 vs fp32 {measured:.2f} dB on the crop, stored fidelity {int8.info.fidelity_db} dB")
    assert FLOOR_DB <= measured < CEILING_DB
    assert FLOOR_DB <= int8.info.fidelity_db < CEILING_DB
    assert int8.memory_mb < fp32.memory_mb / 2  # int8 weights: the file is about a quarter of fp32's


def test_the_stored_fidelity_is_the_psnr_on_the_probe(loader):
    spec = REGISTRY.get("realesr-animevideov3-x4")
    int8, fp32 = load_exactly(loader, spec, ONNX_INT8_CPU), load_exactly(loader, spec, ONNX_FP32_CPU)
    probe = quantize.probe_image()
    assert int8.info.fidelity_db == pytest.approx(psnr(fp32.enhance(probe), int8.enhance(probe)), abs=0.01)


def test_quantizing_happens_once_and_again_when_the_fp32_file_changes(model_settings, monkeypatch, tmp_path):
    """A fresh weights folder; each Loader has its own cache, as a new process would."""
    settings = dataclasses.replace(model_settings, weights_dir=tmp_path / "weights")
    spec = REGISTRY.get("waifu2x-photo-x2")
    made = []
    original = quantize._quantize

    def counting(model_id, fp32, target, *args):
        made.append(target)
        original(model_id, fp32, target, *args)

    monkeypatch.setattr(quantize, "_quantize", counting)

    def load_int8():
        return Loader(settings, EnhancerCache(1024)).load(spec, **ONNX_INT8_CPU)

    first = load_int8()
    (target,) = made
    written = target.stat().st_mtime_ns
    assert target.parent == settings.weights_dir / "converted" and target.with_suffix(".json").exists()
    again = load_int8()
    assert made == [target] and target.stat().st_mtime_ns == written  # reused, not re-quantized
    assert again.info.fidelity_db == first.info.fidelity_db

    fp32_path = Loader(settings, EnhancerCache(1024)).weights_for(spec, "onnx")
    network = onnx.load(str(fp32_path))
    network.doc_string = "re-exported"  # the same network, other bytes: as a re-conversion would write
    onnx.save(network, str(fp32_path))
    load_int8()
    assert len(made) == 2 and made[1] != target and made[1].exists()


@pytest.mark.parametrize("model_id", ["lanczos-x4", "realesr-animevideov3-x2", "realesrgan-x4-hub"])
def test_int8_is_refused_in_one_line_without_an_onnx_form(settings, model_id):
    """A classical filter, an ncnn network that does not convert, a Hub torch entry: refused before any weights."""
    with pytest.raises(UsageError, match=r"has no ONNX form, so no int8") as refused:
        Loader(settings, EnhancerCache(100)).load(REGISTRY.get(model_id), precision="int8")
    assert "\n" not in str(refused.value)


def test_int8_on_another_backend_or_device_names_what_works(settings):
    spec = REGISTRY.get("realesr-animevideov3-x4")
    loader = Loader(settings, EnhancerCache(100))
    for backend in ("torch", "ncnn"):
        expected = rf"'{spec.id}': {backend} has no int8; int8 runs the ONNX form \(backend onnx or auto\)"
        with pytest.raises(UsageError, match=expected):
            loader.load(spec, backend=backend, precision="int8")
    with pytest.raises(UsageError, match="int8 runs on the CPU, not cuda"):
        loader.load(spec, precision="int8", device="cuda")


def test_auto_never_picks_int8():
    assert "int8" in PRECISIONS
    for kind in MACHINE_CLASSES:
        machine = Machine(kind=kind, vulkan=kind == "cuda", onnx_cuda=kind == "cuda")
        for spec in REGISTRY:
            for backend in (None, *spec.forms):
                assert choose_form(spec, machine, backend if backend in spec.forms else None).precision != "int8"


def test_weights_use_7_bits_only_on_cpus_without_vnni(tmp_path):
    assert quantize.reduce_range_for(("avx2", "fma", "avx512f"))
    assert not quantize.reduce_range_for(("avx2", "avx512f", "avx512_vnni"))
    assert not quantize.reduce_range_for(("avx2", "avx_vnni"))
    network = tmp_path / "net.onnx"
    network.write_bytes(b"some network")
    assert quantize.cache_key(network, True) != quantize.cache_key(network, False)  # both may live side by side


def test_calibration_and_probe_are_fixed_and_apart():
    first, second = quantize.calibration_images(), quantize.calibration_images()
    assert len(first) == len(quantize.CALIBRATION_PHOTOS)
    assert all(a.shape == (64, 64, 3) and a.dtype == np.uint8 for a in first)
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))
    assert quantize.probe_image().shape == (128, 128, 3)
    assert "astronaut" not in quantize.CALIBRATION_PHOTOS  # the probe is a photo calibration never saw


def test_the_cli_compares_with_int8_and_refuses_it_on_torch(env, model_settings, photo, tmp_path):
    env = {**env, "STUDIO_WEIGHTS_MIRROR": model_settings.weights_mirror}
    image = save_image(tmp_path / "small.png", photo[40:104, 200:296])
    args = ("compare", str(image), "-m", "realesr-animevideov3-x4", "-m", "bicubic-x4", "--metrics", "sharpness")
    result = studio(*args, "--precision", "int8", env=env)
    assert result.returncode == 0, result.stderr
    assert stderr_lines(result) == []  # quantizing (a fresh weights folder) says nothing on the way
    lines = {line.split()[0]: line.split() for line in result.stdout.splitlines()[1:] if line.strip()}
    assert lines["realesr-animevideov3-x4"][:3] == ["realesr-animevideov3-x4", "onnx", "int8"]
    assert lines["bicubic-x4"][:3] == ["bicubic-x4", "classical", "fp32"]  # precision applies to networks only
    shown = studio(*args, "--precision", "int8", "--format", "csv", env=env)
    neural, classical = csv.DictReader(io.StringIO(shown.stdout))
    assert 30 <= float(neural["vs fp32 dB"]) < 60 and classical["vs fp32 dB"] == ""  # int8 is shown with its fidelity

    refused = studio(*args, "--precision", "int8", "--backend", "torch", "--format", "csv", env=env)
    neural, classical = csv.DictReader(io.StringIO(refused.stdout))
    message = "'realesr-animevideov3-x4': torch has no int8; int8 runs the ONNX form (backend onnx or auto)"
    assert neural["error"] == message and classical["error"] == ""
    assert stderr_lines(refused) == [f"error: {message}"]
