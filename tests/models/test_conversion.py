"""ncnn -> PyTorch conversion and the ONNX form: outputs agree with the reference ncnn models.

Every comparison names backend, precision and device: on a CPU with fast bf16 `auto` is bf16, on a
CUDA machine the default form is torch on the GPU, and ncnn picks Vulkan where a GPU exists.
"""

from __future__ import annotations

import dataclasses
import math
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
from tests.models.forms import agreement, load_exactly

REGISTRY = load_registry(Settings.from_env({}))
CONVERTIBLE = [s.id for s in REGISTRY if s.backend == "ncnn" and "torch" in s.forms]
NCNN_FP32_CPU = {"backend": "ncnn", "precision": "fp32", "device": "cpu"}
TORCH_FP32_CPU = {"backend": "torch", "precision": "fp32", "device": "cpu"}
ONNX_FP32_CPU = {"backend": "onnx", "precision": "fp32", "device": "cpu"}

# PSNR (dB) of converted torch fp32 against ncnn fp32, both on the CPU, on the 40x46 crop below. Every
# difference is a single level (max |error| 1), so the PSNR counts the values that round the other way (one of
# them is 91.6 dB at x2, 97.6 dB at x4). Which values flip depends on the CPU's kernels: each entry is the lower
# of the two machine kinds' measurements (a 2-core AVX2 CPU, a 2-core AVX-512 BF16 CPU; where they differ the
# comment gives "AVX2 / AVX-512"), and the floor sits about 2 dB under it (room for one more rounding flip);
# "inf" (bit-identical on both) gets the one-flip value.
NCNN_TORCH_MEASURED = {
    "realesrgan-x4plus": 90.60,  # 91.57 / 90.60
    "realesrgan-x4plus-anime": 90.60,
    "realesr-animevideov3-x4": 97.59,  # inf / 97.59
    "waifu2x-photo-x2": 85.55,  # 88.56 / 85.55
    "waifu2x-photo-x2-noise1": 88.56,  # 88.56 / 91.57
    "waifu2x-photo-x2-noise3": float("inf"),
    "waifu2x-anime-x2": 84.58,  # 84.58 / 85.55
    "waifu2x-anime-x2-noise1": 85.55,
    "waifu2x-anime-x2-noise3": 91.57,
    "waifu2x-cunet-x2-noise1": float("inf"),
    "waifu2x-cunet-denoise3": 82.54,  # 82.54 / inf
    "realcugan-se-x2": 91.57,
    "realcugan-se-x2-denoise1": float("inf"),
    "realcugan-se-x2-denoise2": 88.56,  # 88.56 / 91.57
    "realcugan-se-x2-denoise3": 88.56,  # 91.57 / 88.56
    "realcugan-se-x2-conservative": 88.56,  # 88.56 / 91.57
    "realcugan-se-x3": 90.32,  # 92.08 / 90.32
    "realcugan-se-x3-denoise3": 88.10,  # 89.07 / 88.10
    "realcugan-se-x3-conservative": 89.07,  # 89.07 / 90.32
    "realcugan-se-x4": 88.56,  # 88.56 / 90.60
    "realcugan-se-x4-denoise3": 89.81,  # 97.59 / 89.81
    "realcugan-se-x4-conservative": 90.60,  # 90.60 / 97.59
    "realcugan-pro-x2": 85.55,  # 85.55 / 86.80
    "realcugan-pro-x2-denoise3": 82.54,  # 83.12 / 82.54
    "realcugan-pro-x2-conservative": 91.57,  # inf / 91.57
    "realcugan-pro-x3": 84.68,  # 86.06 / 84.68
    "realcugan-pro-x3-denoise3": 87.31,  # 87.31 / 89.07
    "realcugan-pro-x3-conservative": 87.31,
}
# ONNX (exported from the converted torch network) against torch fp32, same crop; measured the same way.
ONNX_TORCH_MEASURED = {
    "realesr-animevideov3-x4": 94.58,  # 97.59 / 94.58
    "waifu2x-photo-x2": 86.80,  # 88.56 / 86.80
    "waifu2x-cunet-x2-noise1": float("inf"),
    "realcugan-se-x2": 86.80,  # 86.80 / 91.57
}


def one_flip_psnr(shape: tuple[int, ...]) -> float:
    """PSNR of two uint8 images of `shape` that differ by one level in a single value."""
    return 10 * math.log10(255.0**2 * math.prod(shape))


def floor_for(measured: float, shape: tuple[int, ...]) -> float:
    """The threshold for a measurement: 2 dB under it, rounded down; bit-identical: the one-flip PSNR, rounded down."""
    return math.floor(one_flip_psnr(shape)) if math.isinf(measured) else math.floor(measured - 2)


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


def test_every_convertible_entry_has_a_measured_floor():
    assert sorted(NCNN_TORCH_MEASURED) == sorted(CONVERTIBLE)


@pytest.mark.parametrize("model_id", CONVERTIBLE)
def test_converted_torch_agrees_with_ncnn(loader, crop, model_id):
    spec = REGISTRY.get(model_id)
    reference = load_exactly(loader, spec, NCNN_FP32_CPU).enhance(crop)
    converted = loader.load(spec, **TORCH_FP32_CPU)
    assert converted.info.backend == "torch" and converted.info.precision == "fp32"
    assert converted.info.device == "cpu"
    measured, largest = agreement(reference, converted.enhance(crop))
    print(f"ncnn vs torch {model_id}: {measured:.2f} dB, max error {largest}")
    assert measured >= 60.0
    assert largest <= 1  # rounding only
    assert measured >= floor_for(NCNN_TORCH_MEASURED[model_id], reference.shape)


@pytest.mark.parametrize("model_id", sorted(ONNX_TORCH_MEASURED))
def test_onnx_form_agrees_with_torch(loader, crop, model_id):
    spec = REGISTRY.get(model_id)
    torch_output = load_exactly(loader, spec, TORCH_FP32_CPU).enhance(crop)
    onnx_enhancer = load_exactly(loader, spec, ONNX_FP32_CPU)
    assert onnx_enhancer.info.backend == "onnx"
    measured, largest = agreement(torch_output, onnx_enhancer.enhance(crop))
    print(f"onnx vs torch {model_id}: {measured:.2f} dB, max error {largest}")
    assert measured >= 50.0
    assert largest <= 1
    assert measured >= floor_for(ONNX_TORCH_MEASURED[model_id], torch_output.shape)


def test_the_onnx_form_of_realcugan_takes_the_image_alone(loader):
    """Real-CUGAN's forward has an optional `alpha`; the export must not turn it into a graph input.
    Odd sizes run too (x2), and the untileable rule carries over to the ONNX and torch forms."""
    spec = REGISTRY.get("realcugan-se-x2")
    image = np.ascontiguousarray(np.random.default_rng(0).integers(0, 256, (33, 27, 3), dtype=np.uint8))
    onnx_enhancer = load_exactly(loader, spec, ONNX_FP32_CPU)
    assert onnx_enhancer.enhance(image).shape == (66, 54, 3)
    assert onnx_enhancer.info.tileable is False
    assert load_exactly(loader, spec, TORCH_FP32_CPU).info.tileable is False


def test_bf16_forms_stay_close_to_fp32(loader, crop):
    """bf16 on purpose, on a 40x46 crop: torch bf16 is emulated (slow) on CPUs without AVX-512 BF16."""
    spec = REGISTRY.get("realesr-animevideov3-x4")
    fp32 = load_exactly(loader, spec, NCNN_FP32_CPU).enhance(crop)
    ncnn_bf16 = load_exactly(loader, spec, NCNN_FP32_CPU | {"precision": "bf16"})
    torch_bf16 = load_exactly(loader, spec, TORCH_FP32_CPU | {"precision": "bf16"})
    assert psnr(fp32, ncnn_bf16.enhance(crop)) >= 35.0
    assert psnr(fp32, torch_bf16.enhance(crop)) >= 35.0


def test_forms_and_precisions_are_checked(loader):
    """Machine-independent: the devices are named, or the machine class is forced to a CPU class."""
    with pytest.raises(UsageError, match="runs on classical, not torch"):
        loader.load(REGISTRY.get("lanczos-x4"), backend="torch")
    with pytest.raises(UsageError, match="fp32 or bf16"):
        loader.load(REGISTRY.get("realesr-animevideov3-x2"), backend="ncnn", precision="fp16", device="cpu")
    with pytest.raises(UsageError, match="fp16 needs a CUDA device"):
        loader.load(REGISTRY.get("realesr-animevideov3-x4"), backend="torch", precision="fp16", device="cpu")
    for machine in ("cpu", "cpu-bf16"):  # a CPU class keeps `auto` devices on the CPU, so fp16 is refused there too
        on_cpu = Loader(forced(loader.settings, machine), EnhancerCache(100))
        with pytest.raises(UsageError, match="fp16 needs a CUDA device"):
            on_cpu.load(REGISTRY.get("realesr-animevideov3-x4"), backend="torch", precision="fp16")
    with pytest.raises(UsageError, match="unknown precision 'fp8'"):
        loader.load(REGISTRY.get("realesr-animevideov3-x4"), precision="fp8")
    with pytest.raises(UsageError, match="unknown device 'tpu'"):
        loader.load(REGISTRY.get("realesr-animevideov3-x4"), device="tpu")


def test_the_cuda_class_without_a_gpu_is_a_clear_error(loader, monkeypatch):
    from studio.models.backends import devices

    monkeypatch.setattr(devices, "cuda_available", lambda: False)
    on_cuda = Loader(forced(loader.settings, "cuda"), EnhancerCache(100))
    with pytest.raises(UsageError, match="no CUDA GPU is available"):
        on_cuda.load(REGISTRY.get("realesr-animevideov3-x4"))  # the cuda class runs the torch form on the GPU


def test_a_cpu_class_keeps_ncnn_off_a_vulkan_gpu(loader, monkeypatch):
    from studio.models.backends import ncnn as ncnn_backend
    from studio.models.backends.devices import VulkanDevice

    gpu = VulkanDevice(0, "NVIDIA GeForce RTX 4090", "discrete")
    monkeypatch.setattr(ncnn_backend, "vulkan_devices", lambda asked=False: (gpu,))  # as on a machine with one
    for machine in ("cpu", "cpu-bf16"):
        enhancer = Loader(forced(loader.settings, machine), EnhancerCache(100)).load(
            REGISTRY.get("realesr-animevideov3-x2"), precision="fp32"
        )
        assert (enhancer.info.backend, enhancer.info.device) == ("ncnn", "cpu")


def test_backend_override_in_compare_applies_only_where_offered(loader, small_photo):
    request = CompareRequest.build(
        REGISTRY,
        ["realesr-animevideov3-x4", "lanczos-x4"],
        metrics=[],
        backend="torch",
        precision="fp32",
        device="cpu",
    )
    rows = run(request, DecodedImage(rgb=small_photo[:48, :48]), REGISTRY, loader).rows
    assert [(r.backend, r.precision) for r in rows] == [("torch", "fp32"), ("classical", "fp32")]
    assert [r.device for r in rows] == ["cpu", "cpu"]


def test_a_truncated_ncnn_weight_file_is_a_clear_error(loader, tmp_path):
    spec = REGISTRY.get("waifu2x-photo-x2")
    param = loader.store.resolve(spec)
    shutil.copy(param, tmp_path / "net.param")
    (tmp_path / "net.bin").write_bytes(param.with_suffix(".bin").read_bytes()[:1000])
    entry = spec.model_dump(mode="json", exclude={"source"}) | {"id": "broken-waifu", "source": {"file": "net.param"}}
    (tmp_path / "r.yaml").write_text(yaml.safe_dump({"models": [entry]}))
    (broken,) = parse_registry_file(tmp_path / "r.yaml")
    with pytest.raises(WeightsError, match="ncnn could not load"):
        Loader(loader.settings, EnhancerCache(100)).load(broken, **NCNN_FP32_CPU)
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
    path = converted_weights(spec.id, loader.store.resolve(spec), spec.options.convert, loader.settings, spec.scale)
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
