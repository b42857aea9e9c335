"""Package-shipped ncnn models and OpenCV DNN models, run for real, parametrised from the registry."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio as psnr

from studio.core.config import Settings
from studio.core.media import DecodedImage
from studio.engine.compare import run
from studio.engine.enhance import run_enhancer
from studio.engine.request import CompareRequest
from studio.models.cache import EnhancerCache
from studio.models.loader import Loader
from studio.models.registry import load_registry
from tests.paths import SHARED_WEIGHTS

REGISTRY = load_registry(Settings.from_env({}))
NCNN_IDS = [s.id for s in REGISTRY if s.backend == "ncnn"]
DNN_IDS = [s.id for s in REGISTRY if s.backend == "opencv-dnn" and s.source.url.pinned]  # the mirror holds these
EDSR_IDS = [s.id for s in REGISTRY if s.backend == "opencv-dnn" and not s.source.url.pinned]


@pytest.fixture(scope="module")
def loader(model_settings):
    return Loader(model_settings, cache=EnhancerCache(8192))


def downscaled(photo: np.ndarray, scale: int, size: int = 96) -> tuple[np.ndarray, np.ndarray]:
    """A sharp crop (size x size) and its area-downscaled version for an x`scale` model."""
    sharp = np.ascontiguousarray(photo[120 : 120 + size, 180 : 180 + size])
    return sharp, cv2.resize(sharp, (size // scale, size // scale), interpolation=cv2.INTER_AREA)


def test_at_least_twelve_package_shipped_neural_entries():
    packaged = [s for s in REGISTRY if s.source.package and s.backend == "ncnn"]
    assert len(packaged) >= 12
    assert all(s.license and s.link.startswith("https://") for s in packaged)


@pytest.mark.parametrize("model_id", NCNN_IDS)
def test_every_ncnn_model_runs_from_its_wheel(loader, photo, model_id):
    spec = REGISTRY.get(model_id)
    _, small = downscaled(photo, spec.scale)
    output = loader.load(spec).enhance(small)
    assert output.shape == (small.shape[0] * spec.scale, small.shape[1] * spec.scale, 3)
    assert output.dtype == np.uint8
    bicubic = cv2.resize(small, output.shape[1::-1], interpolation=cv2.INTER_CUBIC)
    # aligned and structurally faithful: garbage or a misaligned crop scores far below 20 dB here
    assert psnr(bicubic, output) > 20.0


@pytest.mark.parametrize("model_id", ["waifu2x-photo-x2", "waifu2x-cunet-x2-noise1"])
def test_waifu2x_beats_bicubic_on_a_real_photo(loader, photo, model_id):
    sharp, small = downscaled(photo, 2, 128)
    output = loader.load(REGISTRY.get(model_id)).enhance(small)
    bicubic = cv2.resize(small, (128, 128), interpolation=cv2.INTER_CUBIC)
    assert psnr(sharp, output) > psnr(sharp, bicubic) + 1.0


@pytest.mark.parametrize("size", [(1, 1), (3, 5), (17, 9)])
@pytest.mark.parametrize(
    "model_id", ["realcugan-se-x2", "realcugan-se-x3", "realcugan-se-x4", "waifu2x-cunet-denoise3"]
)
def test_tiny_and_odd_inputs_are_padded_not_crashed(loader, model_id, size):
    spec = REGISTRY.get(model_id)
    output = loader.load(spec).enhance(np.full((*size, 3), 100, np.uint8))
    assert output.shape == (size[0] * spec.scale, size[1] * spec.scale, 3)


def test_tiled_and_untiled_agree_on_a_real_photo(loader, photo):
    enhancer = loader.load(REGISTRY.get("realesr-animevideov3-x2"))
    image = DecodedImage(rgb=np.ascontiguousarray(photo[:200, :232]))
    whole = run_enhancer(enhancer, image).rgb
    tiled = run_enhancer(enhancer, image, tile=64, overlap=16).rgb
    assert tiled.shape == whole.shape
    assert psnr(whole, tiled) >= 40.0


def test_realcugan_is_marked_untileable(loader):
    assert loader.load(REGISTRY.get("realcugan-se-x2")).info.tileable is False


def test_one_failing_model_does_not_stop_the_others(loader, small_photo):
    image = DecodedImage(rgb=small_photo)
    request = CompareRequest.build(REGISTRY, ["realesr-animevideov3-x2", "scunet-color-real", "clahe"], metrics=[])
    rows = run(request, image, REGISTRY, loader).rows
    assert [row.ok for row in rows] == [True, False, True]
    assert "not downloaded" in rows[1].error


@pytest.mark.skipif(not SHARED_WEIGHTS.exists(), reason="../shared/weights is not beside this checkout")
@pytest.mark.parametrize("model_id", DNN_IDS)
def test_opencv_dnn_models_run_through_the_mirror(loader, photo, model_id):
    spec = REGISTRY.get(model_id)
    if spec.scale == 8:
        sharp, small = downscaled(photo, 8, 128)
    else:
        sharp, small = downscaled(photo, spec.scale, 48 * spec.scale)
    output = loader.load(spec).enhance(small)
    assert output.shape == (small.shape[0] * spec.scale, small.shape[1] * spec.scale, 3)
    bicubic = cv2.resize(small, output.shape[1::-1], interpolation=cv2.INTER_CUBIC)
    assert psnr(sharp, output) > psnr(sharp, bicubic) - 0.5


def test_edsr_is_listed_unpinned_and_fails_clearly_offline(loader, small_photo):
    assert EDSR_IDS == ["edsr-x2", "edsr-x3", "edsr-x4"]
    request = CompareRequest.build(REGISTRY, ["edsr-x3"], metrics=[])
    (row,) = run(request, DecodedImage(rgb=small_photo), REGISTRY, loader).rows
    assert not row.ok and "\n" not in row.error
    assert "EDSR_x3.pb" in row.error and "studio fetch edsr-x3" in row.error
