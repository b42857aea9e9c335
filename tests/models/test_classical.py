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


INTERPOLATIONS = {"bicubic": cv2.INTER_CUBIC, "lanczos": cv2.INTER_LANCZOS4}


@pytest.mark.parametrize(
    "model_id", ["bicubic-x2", "bicubic-x3", "bicubic-x4", "lanczos-x2", "lanczos-x3", "lanczos-x4"]
)
def test_upscalers_give_exactly_scale_times_size(run, model_id):
    scale = int(model_id[-1])
    image = np.random.default_rng(0).integers(0, 256, (37, 51, 3), dtype=np.uint8)
    output = run(model_id, image)
    assert output.shape == (37 * scale, 51 * scale, 3)
    expected = cv2.resize(image, (51 * scale, 37 * scale), interpolation=INTERPOLATIONS[model_id.split("-")[0]])
    assert output.dtype == np.uint8 and np.array_equal(output, expected)


@pytest.mark.parametrize("model_id", ["bicubic-x3", "lanczos-x2"])
def test_upscalers_equal_opencv_on_a_real_photo(run, crop, model_id):
    small = np.ascontiguousarray(crop[:61, :47])
    scale = int(model_id[-1])
    expected = cv2.resize(small, (47 * scale, 61 * scale), interpolation=INTERPOLATIONS[model_id.split("-")[0]])
    assert np.array_equal(run(model_id, small), expected)


def test_every_classical_entry_names_exactly_its_operators_arguments(tmp_path):
    from studio.core.config import Settings
    from studio.models.backends.classical import OPERATORS, operator_arguments

    registry = load_registry(Settings.from_env({}))
    entries = [s for s in registry if s.backend == "classical"]
    assert len(entries) == 16
    for spec in entries:
        given = {*spec.options.operator_kwargs(), *spec.params}
        assert given == set(operator_arguments(OPERATORS[spec.source.builtin])), spec.id


def test_runtime_choices_never_reach_an_operator(tmp_path):
    """precision/device asked of a classical model are not passed to the operator as arguments."""
    from studio.core.config import Settings

    settings = Settings.from_env({"STUDIO_WEIGHTS_DIR": str(tmp_path), "STUDIO_OFFLINE": "1"})
    spec = load_registry(settings).get("lanczos-x2")
    enhancer = Loader(settings, cache=EnhancerCache(10)).load(spec, precision="fp32", device="cpu")
    image = np.random.default_rng(3).integers(0, 256, (9, 11, 3), dtype=np.uint8)
    assert np.array_equal(enhancer.enhance(image), cv2.resize(image, (22, 18), interpolation=cv2.INTER_LANCZOS4))
    assert (enhancer.info.backend, enhancer.info.device, enhancer.info.precision) == ("classical", "cpu", "fp32")


def test_an_option_the_operator_does_not_take_is_a_clear_error(tmp_path):
    from studio.core.config import Settings
    from studio.models.schema import ModelSpec

    spec = load_registry(Settings.from_env({})).get("unsharp-mask")
    wrong = ModelSpec.model_validate(spec.model_dump() | {"options": {"psf": "gaussian"}})
    loader = Loader(Settings.from_env({"STUDIO_WEIGHTS_DIR": str(tmp_path)}), cache=EnhancerCache(10))
    with pytest.raises(ParameterError, match=r"operator 'unsharp_mask' takes no psf \(its arguments: sigma, amount"):
        loader.load(wrong)
    missing = ModelSpec.model_validate(
        load_registry(Settings.from_env({})).get("wiener-motion").model_dump() | {"options": {"psf": "motion"}}
    )
    with pytest.raises(ParameterError, match=r"operator 'wiener' needs sigma"):
        loader.load(missing)


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
        ("wiener-motion", {"length": 11, "angle": 30, "balance": 0.01}),
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
