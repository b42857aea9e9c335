"""Package-shipped ncnn models and OpenCV DNN models, run for real, parametrised from the registry.

Every load names its backend, precision and device (ncnn and OpenCV DNN, fp32, CPU): `auto`
would pick bf16 storage on CPUs with fast bf16, torch on CUDA machines and Vulkan where a
GPU exists, and the outputs compared here would then depend on the machine.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio as psnr

from studio.core.config import Settings
from studio.core.degrade import Recipe, degrade
from studio.core.media import DecodedImage
from studio.engine.compare import run
from studio.engine.enhance import run_enhancer
from studio.engine.request import CompareRequest
from studio.models.cache import EnhancerCache
from studio.models.loader import Loader
from studio.models.registry import load_registry
from tests.models.forms import load_exactly
from tests.paths import SHARED_WEIGHTS

REGISTRY = load_registry(Settings.from_env({}))
NCNN_IDS = [s.id for s in REGISTRY if s.backend == "ncnn"]
DNN_IDS = [s.id for s in REGISTRY if s.backend == "opencv-dnn" and s.source.url.pinned]  # the mirror holds these
EDSR_IDS = [s.id for s in REGISTRY if s.backend == "opencv-dnn" and not s.source.url.pinned]


NCNN_FP32_CPU = {"backend": "ncnn", "precision": "fp32", "device": "cpu"}
DNN_FP32_CPU = {"backend": "opencv-dnn", "precision": "fp32", "device": "cpu"}


@pytest.fixture(scope="module")
def loader(model_settings):
    return Loader(model_settings, cache=EnhancerCache(8192))


@pytest.fixture(scope="module")
def coffee() -> np.ndarray:
    """A real photo (scikit-image's coffee, CC0), 144x96: the ground truth for the ncnn models."""
    from skimage import data

    return np.ascontiguousarray(cv2.resize(data.coffee(), (144, 96), interpolation=cv2.INTER_AREA))


def psnr_shifted(sharp: np.ndarray, output: np.ndarray, dy: int, dx: int, margin: int = 4) -> float:
    """PSNR of `output` moved by (dy, dx) px against `sharp`, over the region both cover."""
    height, width = sharp.shape[:2]
    region = sharp[margin : height - margin, margin : width - margin]
    return psnr(region, output[margin + dy : height - margin + dy, margin + dx : width - margin + dx])


SHIFTS = [(dy, dx) for dy in (-2, -1, 0, 1, 2) for dx in (-2, -1, 0, 1, 2) if (dy, dx) != (0, 0)]


def downscaled(photo: np.ndarray, scale: int, size: int = 96) -> tuple[np.ndarray, np.ndarray]:
    """A sharp crop (size x size) and its area-downscaled version for an x`scale` model."""
    sharp = np.ascontiguousarray(photo[120 : 120 + size, 180 : 180 + size])
    return sharp, cv2.resize(sharp, (size // scale, size // scale), interpolation=cv2.INTER_AREA)


def test_at_least_twelve_package_shipped_neural_entries():
    packaged = [s for s in REGISTRY if s.source.package and s.backend == "ncnn"]
    assert len(packaged) >= 12
    assert all(s.license and s.link.startswith("https://") for s in packaged)


@pytest.mark.parametrize("model_id", NCNN_IDS)
def test_every_ncnn_model_runs_from_its_wheel(loader, coffee, model_id):
    """Degrade a real photo as reference mode does (bicubic downscale, noise, JPEG), enhance, and score
    against the sharp original: the output must beat the nearest-neighbour upscale of the same input and
    every copy of itself moved by 1-2 px (so a blocky or misaligned output fails)."""
    spec = REGISTRY.get(model_id)
    scale = spec.scale
    sharp = np.ascontiguousarray(coffee[: 96 - 96 % scale, : 144 - 144 % scale])
    small = degrade(sharp, Recipe.parse(f"x{scale},noise=8,jpeg=50,seed=0"))
    output = load_exactly(loader, spec, NCNN_FP32_CPU).enhance(small)
    assert output.shape == (small.shape[0] * scale, small.shape[1] * scale, 3)
    assert output.dtype == np.uint8
    bicubic = cv2.resize(small, output.shape[1::-1], interpolation=cv2.INTER_CUBIC)
    # aligned and structurally faithful: garbage or a misaligned crop scores far below 20 dB here
    assert psnr(bicubic, output) > 20.0
    nearest = cv2.resize(small, output.shape[1::-1], interpolation=cv2.INTER_NEAREST)
    assert psnr(sharp, output) > psnr(sharp, nearest) + 0.5  # measured: at least +0.75 dB (waifu2x-photo-x2)
    aligned = psnr_shifted(sharp, output, 0, 0)
    assert all(aligned > psnr_shifted(sharp, output, dy, dx) for dy, dx in SHIFTS)  # measured: >= +0.13 dB


@pytest.mark.parametrize("model_id", ["waifu2x-photo-x2", "waifu2x-cunet-x2-noise1"])
def test_waifu2x_beats_bicubic_on_a_real_photo(loader, photo, model_id):
    sharp, small = downscaled(photo, 2, 128)
    output = load_exactly(loader, REGISTRY.get(model_id), NCNN_FP32_CPU).enhance(small)
    bicubic = cv2.resize(small, (128, 128), interpolation=cv2.INTER_CUBIC)
    assert psnr(sharp, output) > psnr(sharp, bicubic) + 1.0


@pytest.mark.parametrize("size", [(1, 1), (3, 5), (17, 9)])
@pytest.mark.parametrize(
    "model_id", ["realcugan-se-x2", "realcugan-se-x3", "realcugan-se-x4", "waifu2x-cunet-denoise3"]
)
def test_tiny_and_odd_inputs_are_padded_not_crashed(loader, model_id, size):
    spec = REGISTRY.get(model_id)
    output = load_exactly(loader, spec, NCNN_FP32_CPU).enhance(np.full((*size, 3), 100, np.uint8))
    assert output.shape == (size[0] * spec.scale, size[1] * spec.scale, 3)


# PSNR of tiled (64 px tiles, 16 px overlap) against whole-image output on photo[:200, :232], ncnn fp32 CPU.
# Measured on the 2-core AVX2 machine: realesr-animevideov3-x2 65.99 dB (max error 5 levels), waifu2x-photo-x2
# 76.90 dB (max 2). Floors sit just under.
TILED_FLOORS = {"realesr-animevideov3-x2": 65.0, "waifu2x-photo-x2": 76.0}


@pytest.mark.parametrize("model_id", sorted(TILED_FLOORS))
def test_tiled_and_untiled_agree_on_a_real_photo(loader, photo, model_id):
    enhancer = load_exactly(loader, REGISTRY.get(model_id), NCNN_FP32_CPU)
    image = DecodedImage(rgb=np.ascontiguousarray(photo[:200, :232]))
    whole = run_enhancer(enhancer, image).rgb
    tiled = run_enhancer(enhancer, image, tile=64, overlap=16).rgb
    assert tiled.shape == whole.shape
    measured = psnr(whole, tiled)
    print(f"tiled vs whole {model_id}: {measured:.2f} dB")
    assert measured >= 40.0
    assert measured >= TILED_FLOORS[model_id]


def test_realcugan_is_marked_untileable(loader):
    assert load_exactly(loader, REGISTRY.get("realcugan-se-x2"), NCNN_FP32_CPU).info.tileable is False


def test_one_failing_model_does_not_stop_the_others(loader, small_photo):
    image = DecodedImage(rgb=small_photo)
    request = CompareRequest.build(REGISTRY, ["realesr-animevideov3-x2", "scunet-color-real", "clahe"], metrics=[])
    rows = run(request, image, REGISTRY, loader).rows
    assert [row.ok for row in rows] == [True, False, True]
    assert "not downloaded" in rows[1].error


@pytest.mark.skipif(not SHARED_WEIGHTS.exists(), reason="../shared/weights is not beside this checkout")
@pytest.mark.parametrize("model_id", DNN_IDS)
def test_opencv_dnn_models_run_through_the_mirror(loader, photo, model_id):
    """Degraded as reference mode does (`xN`: bicubic downscale, what these networks were trained on), each
    network must beat bicubic interpolation of the same input against the sharp original."""
    spec = REGISTRY.get(model_id)
    size = 128 if spec.scale == 8 else 48 * spec.scale
    sharp = np.ascontiguousarray(photo[120 : 120 + size, 180 : 180 + size])
    small = degrade(sharp, Recipe.parse(f"x{spec.scale}"))
    output = load_exactly(loader, spec, DNN_FP32_CPU).enhance(small)
    assert output.shape == (small.shape[0] * spec.scale, small.shape[1] * spec.scale, 3)
    bicubic = cv2.resize(small, output.shape[1::-1], interpolation=cv2.INTER_CUBIC)
    assert psnr(sharp, output) > psnr(sharp, bicubic) - 0.5
    # measured gains over bicubic: +0.62 dB (fsrcnn-small-x4) to +2.48 dB (fsrcnn-x2)
    assert psnr(sharp, output) > psnr(sharp, bicubic) + 0.5


@pytest.mark.skipif(not SHARED_WEIGHTS.exists(), reason="../shared/weights is not beside this checkout")
def test_opencv_dnn_runs_fp32_on_the_cpu_only(loader):
    from studio.core.errors import UsageError

    spec = REGISTRY.get("espcn-x2")
    with pytest.raises(UsageError, match="OpenCV DNN runs fp32 on the CPU, not bf16 on cpu"):
        loader.load(spec, backend="opencv-dnn", precision="bf16", device="cpu")


def test_edsr_is_listed_unpinned_and_fails_clearly_offline(loader, small_photo):
    assert EDSR_IDS == ["edsr-x2", "edsr-x3", "edsr-x4"]
    request = CompareRequest.build(REGISTRY, ["edsr-x3"], metrics=[])
    (row,) = run(request, DecodedImage(rgb=small_photo), REGISTRY, loader).rows
    assert not row.ok and "\n" not in row.error
    assert "EDSR_x3.pb" in row.error and "studio fetch edsr-x3" in row.error
