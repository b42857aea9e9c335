"""ncnn -> PyTorch conversion and the ONNX form: outputs agree with the reference ncnn models."""

from __future__ import annotations

import dataclasses
import shutil

import numpy as np
import pytest
import yaml
from skimage.metrics import peak_signal_noise_ratio as psnr

from studio.core.config import Settings
from studio.core.errors import UsageError, WeightsError
from studio.core.media import DecodedImage
from studio.engine.compare import run
from studio.engine.request import CompareRequest
from studio.models import backends
from studio.models.cache import EnhancerCache
from studio.models.convert.ncnn_format import load_ncnn
from studio.models.loader import Loader
from studio.models.registry import load_registry, parse_registry_file

REGISTRY = load_registry(Settings.from_env({}))
CONVERTIBLE = [s.id for s in REGISTRY if s.backend == "ncnn" and "torch" in s.forms]


@pytest.fixture(scope="module")
def loader(model_settings):
    return Loader(model_settings, cache=EnhancerCache(16384))


@pytest.fixture(scope="module")
def crop(photo):
    return np.ascontiguousarray(photo[100:140, 150:196])  # 40x46: odd sizes on purpose


def test_every_packaged_ncnn_file_parses_completely(loader):
    for spec in REGISTRY:
        if spec.backend == "ncnn":
            param = loader.store.resolve(spec)
            layers = load_ncnn(param, param.with_suffix(".bin"))  # raises if bytes are left over or missing
            assert any(layer.weights for layer in layers)


@pytest.mark.parametrize("model_id", CONVERTIBLE)
def test_converted_torch_agrees_with_ncnn(loader, crop, model_id):
    spec = REGISTRY.get(model_id)
    reference = loader.load(spec).enhance(crop)
    converted = loader.load(spec, backend="torch", precision="fp32")
    assert converted.info.backend == "torch" and converted.info.precision == "fp32"
    assert psnr(reference, converted.enhance(crop)) >= 60.0


def test_onnx_form_agrees_with_torch(loader, crop):
    spec = REGISTRY.get("realesr-animevideov3-x4")
    torch_output = loader.load(spec, backend="torch", precision="fp32").enhance(crop)
    onnx_enhancer = loader.load(spec, backend="onnx")
    assert onnx_enhancer.info.backend == "onnx"
    assert psnr(torch_output, onnx_enhancer.enhance(crop)) >= 50.0


def test_bf16_forms_stay_close_to_fp32(loader, crop):
    spec = REGISTRY.get("realesr-animevideov3-x4")
    fp32 = loader.load(spec, precision="fp32").enhance(crop)
    assert psnr(fp32, loader.load(spec, precision="bf16").enhance(crop)) >= 35.0
    assert psnr(fp32, loader.load(spec, backend="torch", precision="bf16").enhance(crop)) >= 35.0


def test_forms_and_precisions_are_checked(loader):
    with pytest.raises(UsageError, match="runs on classical, not torch"):
        loader.load(REGISTRY.get("lanczos-x4"), backend="torch")
    with pytest.raises(UsageError, match="fp32 or bf16"):
        loader.load(REGISTRY.get("realesr-animevideov3-x2"), precision="fp16")
    with pytest.raises(UsageError, match="fp16 needs a CUDA device"):
        loader.load(REGISTRY.get("realesr-animevideov3-x4"), backend="torch", precision="fp16")


def test_backend_override_in_compare_applies_only_where_offered(loader, small_photo):
    request = CompareRequest.build(
        REGISTRY, ["realesr-animevideov3-x4", "lanczos-x4"], metrics=[], backend="torch", precision="fp32"
    )
    rows = run(request, DecodedImage(rgb=small_photo[:48, :48]), REGISTRY, loader).rows
    assert [(r.backend, r.precision) for r in rows] == [("torch", "fp32"), ("classical", "fp32")]


def test_a_truncated_ncnn_weight_file_is_a_clear_error(loader, tmp_path):
    spec = REGISTRY.get("waifu2x-photo-x2")
    param = loader.store.resolve(spec)
    shutil.copy(param, tmp_path / "net.param")
    (tmp_path / "net.bin").write_bytes(param.with_suffix(".bin").read_bytes()[:1000])
    entry = spec.model_dump(mode="json", exclude={"source"}) | {"id": "broken-waifu", "source": {"file": "net.param"}}
    (tmp_path / "r.yaml").write_text(yaml.safe_dump({"models": [entry]}))
    (broken,) = parse_registry_file(tmp_path / "r.yaml")
    with pytest.raises(WeightsError, match="ncnn could not load"):
        Loader(loader.settings, EnhancerCache(100)).load(broken)
    with pytest.raises(WeightsError, match="ends early"):
        load_ncnn(tmp_path / "net.param", tmp_path / "net.bin")


def test_a_missing_runtime_fails_that_model_only(loader, small_photo, monkeypatch):
    monkeypatch.setitem(backends.BACKEND_RUNTIMES, "opencv-dnn", "no_such_runtime_module")
    request = CompareRequest.build(REGISTRY, ["espcn-x2", "clahe"], metrics=[])
    rows = run(request, DecodedImage(rgb=small_photo), REGISTRY, Loader(loader.settings, EnhancerCache(100))).rows
    assert "needs the Python package providing 'no_such_runtime_module'" in rows[0].error and rows[1].ok


@pytest.mark.parametrize(
    ("model_id", "architecture", "scale"),
    [
        ("waifu2x-photo-x2", "waifu2x-upconv7", 2),
        ("waifu2x-cunet-x2-noise1", "waifu2x-cunet", 2),
        ("waifu2x-cunet-denoise3", "waifu2x-cunet", 1),
        ("realcugan-se-x2", "RealCUGAN", 2),  # shares CUNet's keys: must still load as Real-CUGAN
    ],
)
def test_spandrel_detects_the_converted_architecture(loader, model_id, architecture, scale):
    import spandrel
    from safetensors.torch import load_file

    from studio.models.archs.waifu2x import register
    from studio.models.convert.ncnn_to_torch import converted_weights

    register()
    spec = REGISTRY.get(model_id)
    path = converted_weights(spec.id, loader.store.resolve(spec), spec.options["convert"], loader.settings, spec.scale)
    descriptor = spandrel.ModelLoader("cpu").load_from_state_dict(load_file(str(path)))
    assert (descriptor.architecture.id, descriptor.scale) == (architecture, scale)


def forced(settings, machine: str):
    """The same settings with STUDIO_MACHINE_CLASS forced to `machine`."""
    return dataclasses.replace(settings, machine_class=machine)


def test_the_loader_runs_the_fastest_form_for_the_machine(loader):
    spec = REGISTRY.get("realesrgan-x4plus-anime")
    assert Loader(forced(loader.settings, "cpu"), EnhancerCache(16384)).default_form(spec) == "ncnn"
    assert Loader(forced(loader.settings, "cuda"), EnhancerCache(16384)).default_form(spec) == "torch"
    on_bf16 = Loader(forced(loader.settings, "cpu-bf16"), EnhancerCache(16384))
    enhancer = on_bf16.load(spec)
    assert (enhancer.info.backend, enhancer.info.device, enhancer.info.precision) == ("torch", "cpu", "bf16")
    assert on_bf16.load(spec, backend="ncnn").info.backend == "ncnn"  # an explicit form still wins
    on_cpu = Loader(forced(loader.settings, "cpu"), EnhancerCache(16384)).load(spec)
    assert (on_cpu.info.backend, on_cpu.info.device, on_cpu.info.precision) == ("ncnn", "cpu", "fp32")


def test_ncnn_auto_precision_uses_bf16_storage_only_where_bf16_is_fast(loader):
    spec = REGISTRY.get("realesr-animevideov3-x4")
    plain = Loader(forced(loader.settings, "cpu"), EnhancerCache(16384)).load(spec)
    assert (plain.info.backend, plain.info.device, plain.info.precision) == ("ncnn", "cpu", "fp32")
    fast = Loader(forced(loader.settings, "cpu-bf16"), EnhancerCache(16384)).load(spec)
    assert (fast.info.backend, fast.info.device, fast.info.precision) == ("ncnn", "cpu", "bf16")
