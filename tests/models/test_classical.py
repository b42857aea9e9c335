"""Classical enhancers against real expectations on a real photo."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio as psnr

from studio.core.errors import ParameterError
from studio.core.psf import gaussian_psf, motion_psf
from studio.models.cache import EnhancerCache
from studio.models.loader import Loader
from studio.models.registry import load_registry


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from studio.core.config import Settings

    settings = Settings.from_env({"STUDIO_WEIGHTS_DIR": str(tmp_path_factory.mktemp("w")), "STUDIO_OFFLINE": "1"})
    registry = load_registry(settings)
    loader = Loader(settings, cache=EnhancerCache(1000))

    def _run(model_id: str, image: np.ndarray, **params) -> np.ndarray:
        return loader.load(registry.get(model_id), params).enhance(image)

    return _run


def blur_with(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    channels = [
        cv2.filter2D(image[..., c].astype(np.float64), -1, kernel, borderType=cv2.BORDER_REFLECT) for c in range(3)
    ]
    return np.clip(np.rint(np.stack(channels, -1)), 0, 255).astype(np.uint8)


def laplacian_variance(image: np.ndarray) -> float:
    return float(cv2.Laplacian(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var())


@pytest.fixture(scope="module")
def crop(photo):
    return np.ascontiguousarray(photo[100:356, 100:356])


@pytest.mark.parametrize(
    "model_id", ["bicubic-x2", "bicubic-x3", "bicubic-x4", "lanczos-x2", "lanczos-x3", "lanczos-x4"]
)
def test_upscalers_give_exactly_scale_times_size(run, model_id):
    scale = int(model_id[-1])
    image = np.random.default_rng(0).integers(0, 256, (37, 51, 3), dtype=np.uint8)
    assert run(model_id, image).shape == (37 * scale, 51 * scale, 3)


@pytest.mark.parametrize(
    ("model_id", "params"),
    [
        ("wiener-gaussian", {"sigma": 2.0, "balance": 0.01}),
        ("richardson-lucy-gaussian", {"sigma": 2.0, "iterations": 30}),
    ],
)
def test_deconvolution_of_a_known_gaussian_blur_gains_2db(run, crop, model_id, params):
    blurred = blur_with(crop, gaussian_psf(2.0))
    restored = run(model_id, blurred, **params)
    assert psnr(crop, restored) >= psnr(crop, blurred) + 2.0


@pytest.mark.parametrize(
    ("model_id", "params"),
    [
        ("wiener-motion", {"length": 11, "angle": 30, "balance": 0.1}),
        ("richardson-lucy-motion", {"length": 11, "angle": 30, "iterations": 20}),
    ],
)
def test_deconvolution_of_a_known_motion_blur_gains(run, crop, model_id, params):
    blurred = blur_with(crop, motion_psf(11, 30))
    assert psnr(crop, run(model_id, blurred, **params)) >= psnr(crop, blurred) + 0.5


@pytest.mark.parametrize("model_id", ["nl-means", "bilateral"])
def test_denoisers_raise_psnr_on_a_noisy_photo(run, crop, model_id):
    noisy = np.clip(crop + np.random.default_rng(1).normal(0, 15, crop.shape), 0, 255).astype(np.uint8)
    assert psnr(crop, run(model_id, noisy)) > psnr(crop, noisy) + 1.0


@pytest.mark.parametrize("model_id", ["unsharp-mask", "laplacian-sharpen", "detail-enhance"])
def test_sharpeners_raise_laplacian_variance(run, crop, model_id):
    assert laplacian_variance(run(model_id, crop)) > 1.2 * laplacian_variance(crop)


def test_clahe_raises_contrast_of_a_flat_image(run, crop):
    flat = (crop.astype(np.float32) * 0.3 + 90).astype(np.uint8)
    out = run("clahe", flat)
    assert out.shape == flat.shape
    assert cv2.cvtColor(out, cv2.COLOR_RGB2GRAY).std() > 1.5 * cv2.cvtColor(flat, cv2.COLOR_RGB2GRAY).std()


def test_motion_psf_is_normalised_and_oriented():
    horizontal = motion_psf(9, 0)
    assert horizontal.sum() == pytest.approx(1.0)
    assert horizontal[horizontal.shape[0] // 2].sum() == pytest.approx(1.0, abs=1e-6)
    vertical = motion_psf(9, 90)
    assert vertical[:, vertical.shape[1] // 2].sum() == pytest.approx(1.0, abs=0.05)
    with pytest.raises(ParameterError):
        motion_psf(0, 0)
