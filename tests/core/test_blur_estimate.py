"""Blur estimation: known blurs (made with studio.core.degrade, so with psf.py's kernels and angle convention) are
read back from the blurred image alone; on a real motion-blurred photo the estimate turns Wiener deconvolution
from a smear into readable text."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from skimage import data

from studio.core.blur_estimate import (
    BALANCES,
    NOISE_FLOOR,
    NOISE_TARGET,
    estimate_blur,
    estimate_noise,
    noise_gain,
    wiener_balance,
)
from studio.core.config import Settings
from studio.core.degrade import Recipe, degrade
from studio.core.errors import UsageError
from studio.core.media import decode
from studio.core.psf import gaussian_psf, motion_psf
from tests import opencv_doc
from tests.paths import REPO_ROOT

text_motion = opencv_doc.text_motion  # the session fixture, by name
ARTIFACTS = REPO_ROOT / "tests" / "artifacts"
LENGTH_TOLERANCE, ANGLE_TOLERANCE, SIGMA_TOLERANCE = 2.0, 5.0, 0.3  # px, degrees, px


def angle_error(estimated: float, true: float) -> float:
    """Degrees between two line directions (a line at a and at a + 180 is the same blur)."""
    return abs((estimated - true + 90) % 180 - 90)


@pytest.fixture(scope="module")
def sharp_photos(photo) -> dict[str, np.ndarray]:
    return {"astronaut": photo, "camera": np.repeat(data.camera()[..., None], 3, axis=2)}


def principal_angle(kernel: np.ndarray) -> float:
    """The direction of a kernel's largest second moment, in psf.py's convention (counter-clockwise, y up)."""
    rows, cols = np.indices(kernel.shape)
    y = -(rows - (rows * kernel).sum())
    x = cols - (cols * kernel).sum()
    xx, yy, xy = (kernel * x * x).sum(), (kernel * y * y).sum(), (kernel * x * y).sum()
    return float(np.degrees(0.5 * np.arctan2(2 * xy, xx - yy)))


@pytest.mark.parametrize(("length", "angle"), [(9, 20), (9, -20), (15, 45), (21, 70), (31, -86), (12, 0), (17, 90)])
def test_motion_psf_runs_at_its_angle(length, angle):
    """psf.py's line keeps its direction: the old drawn line of 9 px at 20 degrees was a 14 degree staircase."""
    kernel = motion_psf(length, angle)
    assert kernel.sum() == pytest.approx(1.0)
    assert angle_error(principal_angle(kernel), angle) < 1.0


@pytest.mark.parametrize(
    ("recipe", "length", "angle"),
    [
        ("blur=motion:9:20", 9, 20),
        ("blur=motion:15:-45", 15, -45),
        ("blur=motion:21:70", 21, 70),
        ("blur=motion:31:-86", 31, -86),
        ("blur=motion:12:0", 12, 0),
        ("blur=motion:17:90", 17, 90),
        ("blur=motion:25:-10,noise=2,jpeg=90", 25, -10),
    ],
)
def test_a_known_motion_blur_is_read_back(sharp_photos, recipe, length, angle):
    for name, sharp in sharp_photos.items():
        estimate = estimate_blur(degrade(sharp, Recipe.parse(recipe)))
        assert abs(estimate.length - length) <= LENGTH_TOLERANCE, (name, estimate)
        assert angle_error(estimate.angle, angle) <= ANGLE_TOLERANCE, (name, estimate)
        assert -90 < estimate.angle <= 90


def test_the_angle_turns_counter_clockwise_like_psf_py(photo):
    """Blurred directly with psf.py's kernel (not through degrade): +30 is up-right, -30 down-right."""
    import cv2

    for angle in (30, -30):
        blurred = cv2.filter2D(photo, -1, motion_psf(15, angle), borderType=cv2.BORDER_REFLECT)
        assert angle_error(estimate_blur(blurred).angle, angle) <= ANGLE_TOLERANCE


@pytest.mark.parametrize("sigma", [1.5, 2.5, 4.0])
def test_a_known_gaussian_blur_is_read_back(sharp_photos, sigma):
    for name, sharp in sharp_photos.items():
        estimate = estimate_blur(degrade(sharp, Recipe(blur="gauss", blur_sigma=sigma)))
        assert abs(estimate.sigma - sigma) <= SIGMA_TOLERANCE, (name, estimate)


def test_noise_is_measured_per_channel_through_the_blur(photo):
    for noise in (3.0, 8.0):
        noisy = degrade(photo, Recipe(blur="gauss", blur_sigma=2.0, noise=noise))
        assert estimate_noise(noisy) == pytest.approx(noise, rel=0.15)


def test_the_balance_keeps_the_noise_under_the_target():
    kernel = motion_psf(21, 30)
    balances = [wiener_balance(kernel, noise) for noise in (0.1, 1.0, 3.0, 10.0)]
    assert balances == sorted(balances) and balances[0] < balances[-1]  # more noise, more regularisation
    assert balances[0] == wiener_balance(kernel, NOISE_FLOOR)  # below the floor, noise counts as the floor
    for noise, balance in zip((1.0, 3.0), balances[1:3], strict=True):
        less = BALANCES[list(BALANCES).index(balance) - 1]  # the next smaller balance tried lets too much through
        assert noise * noise_gain(kernel, balance) <= NOISE_TARGET < noise * noise_gain(kernel, less)


def test_the_estimate_fills_each_kind_and_draws_its_kernel(photo):
    estimate = estimate_blur(degrade(photo, Recipe.parse("blur=motion:15:30")))
    assert set(estimate.params("motion")) == {"length", "angle", "balance"}
    assert set(estimate.params("gaussian")) == {"sigma", "balance"}
    assert np.array_equal(estimate.kernel("motion"), motion_psf(estimate.length, estimate.angle))
    assert np.array_equal(estimate.kernel("gaussian"), gaussian_psf(estimate.sigma))
    assert estimate.size == (512, 512)


def test_images_without_blur_to_measure_are_refused_in_one_line():
    with pytest.raises(UsageError, match=r"the image \(20x40\) is too small to estimate its blur"):
        estimate_blur(np.zeros((40, 20, 3), np.uint8))
    with pytest.raises(UsageError, match="no edges to measure a blur on"):
        estimate_blur(np.full((64, 64, 3), 128, np.uint8))


# ---- a real photo: text_motion.jpg from Debian's opencv-doc ----------------------------------------------------

# OpenCV's deconvolution sample restores it with a 31 px line at 86 degrees clockwise (rows grow downwards),
# which psf.py calls -86 degrees.
TEXT_MOTION_LENGTH, TEXT_MOTION_ANGLE = 31, -86
# Measured at full size (588x365), Wiener (wiener-motion) with its defaults (9 px, 0 degrees, balance 0.1) against
# the estimate (32 px, -86.5 degrees, balance 0.0056): sharpness 33.3 -> 332.7, BRISQUE 44.6 -> 25.4.
SHARPNESS_GAIN = 3.0  # at least this many times the defaults' sharpness (measured: 10x)
BRISQUE_DROP = 5.0  # at least this much below the defaults' BRISQUE (measured: 19.2)


def test_the_real_motion_blur_of_text_motion_is_found(text_motion):
    estimate = estimate_blur(decode(text_motion, 10**8).rgb)
    assert abs(estimate.length - TEXT_MOTION_LENGTH) <= LENGTH_TOLERANCE
    assert angle_error(estimate.angle, TEXT_MOTION_ANGLE) <= ANGLE_TOLERANCE


def test_the_estimate_makes_wiener_readable_on_text_motion(text_motion, env, metric_files):
    from studio.engine.compare import run
    from studio.engine.request import CompareRequest
    from studio.models.cache import EnhancerCache
    from studio.models.loader import Loader
    from studio.models.registry import load_registry

    settings = Settings.from_env({**env, "STUDIO_WEIGHTS_MIRROR": str(metric_files)})  # BRISQUE's SVR
    registry, loader = load_registry(settings), Loader(settings, cache=EnhancerCache(100))
    image = decode(text_motion, settings.max_pixels)
    estimate = estimate_blur(image.rgb)

    def wiener(params: dict) -> tuple[np.ndarray, dict[str, float]]:
        request = CompareRequest.build(
            registry, ["wiener-motion"], metrics=["sharpness", "brisque"], preview=None, params=params
        )
        (row,) = run(request, image, registry, loader).rows
        assert row.ok, row.error
        return row.output.rgb, row.metrics

    default_image, defaults = wiener({})
    estimated_image, estimated = wiener({"wiener-motion": estimate.params("motion")})
    ARTIFACTS.mkdir(exist_ok=True)
    Image.fromarray(default_image).save(ARTIFACTS / "blur-text-motion-wiener-defaults.png")
    Image.fromarray(estimated_image).save(ARTIFACTS / "blur-text-motion-wiener-estimated.png")
    assert estimated["sharpness"] >= SHARPNESS_GAIN * defaults["sharpness"], (defaults, estimated)
    assert estimated["brisque"] <= defaults["brisque"] - BRISQUE_DROP, (defaults, estimated)
