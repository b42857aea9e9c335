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
from studio.metrics import METRICS, MetricContext, get_metric, parse_metric_list
from studio.metrics import lpips as lpips_module
from studio.metrics.fullref import psnr, ssim
from studio.models.weights.store import WeightStore
from tests.paths import SHARED_WEIGHTS


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


@pytest.mark.skipif(not SHARED_WEIGHTS.exists(), reason="../shared/weights is not beside this checkout")
def test_brisque_runs_through_the_weights_mirror(pair, env):
    env["STUDIO_WEIGHTS_MIRROR"] = str(SHARED_WEIGHTS)
    store = WeightStore(Settings.from_env(env))
    spec = get_metric("brisque")
    assert spec.availability(store) is None and spec.lower_better
    sharp, _ = pair
    noisy = np.clip(sharp + np.random.default_rng(0).normal(0, 25, sharp.shape), 0, 255).astype(np.uint8)
    clean, degraded = spec(sharp, None, MetricContext(store=store)), spec(noisy, None, MetricContext(store=store))
    assert 0 <= clean < degraded <= 150


def test_brisque_reports_why_it_cannot_run(env):
    reason = get_metric("brisque").availability(WeightStore(Settings.from_env(env)))
    assert reason and "not downloaded" in reason


def test_lpips_is_unavailable_without_weights(env):
    assert get_metric("lpips").availability(WeightStore(Settings.from_env(env))) == "weights not downloaded"


def test_lpips_runs_when_weights_are_present(env, tmp_path, pair):
    """The real network code path, with randomly initialised weights in a mirror."""
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    torch.manual_seed(0)
    torch.save(torchvision.models.alexnet(weights=None).state_dict(), mirror / lpips_module.BACKBONE)
    channels = (64, 192, 384, 256, 256)
    torch.save(
        {f"lin{i}.model.1.weight": torch.rand(1, c, 1, 1) for i, c in enumerate(channels)}, mirror / lpips_module.HEADS
    )
    env["STUDIO_WEIGHTS_MIRROR"] = str(mirror)
    store = WeightStore(Settings.from_env(env))
    spec = get_metric("lpips")
    assert spec.availability(store) is None
    assert [store.source_state(s).label for s in lpips_module.SOURCES] == ["not downloaded"] * 2
    sharp, blurry = pair
    ctx = MetricContext(store=store)
    assert spec(sharp, sharp, ctx) == pytest.approx(0.0, abs=1e-6)
    assert spec(blurry, sharp, ctx) > 0
    # fetched through the weight store: cached as url sources, so they serve without the mirror from now on
    assert [store.source_state(s).label for s in lpips_module.SOURCES] == ["cached"] * 2
    cached = [store.resolve_source("lpips", s) for s in lpips_module.SOURCES]
    assert [p.name for p in cached] == [lpips_module.BACKBONE, lpips_module.HEADS]
    assert all(p.is_relative_to(tmp_path / "weights" / "url") for p in cached)
    env.pop("STUDIO_WEIGHTS_MIRROR")
    assert spec.availability(WeightStore(Settings.from_env(env))) is None


def test_lpips_weights_are_unpinned_url_sources_from_upstream():
    backbone, heads = (s.url for s in lpips_module.SOURCES)
    assert backbone.url == "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth"
    assert heads.url == (
        "https://raw.githubusercontent.com/richzhang/PerceptualSimilarity/master/lpips/weights/v0.1/alex.pth"
    )
    assert (backbone.filename, heads.filename) == ("alexnet-owt-7be5be79.pth", "lpips_alex_v0.1.pth")
    assert not backbone.pinned and not heads.pinned  # no sha256 could be verified offline: none is claimed


def test_lpips_is_unavailable_when_pinning_is_required(env, tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    for name in (lpips_module.BACKBONE, lpips_module.HEADS):
        (mirror / name).write_bytes(b"x")
    env.update({"STUDIO_WEIGHTS_MIRROR": str(mirror), "STUDIO_REQUIRE_PINNED": "1"})
    reason = get_metric("lpips").availability(WeightStore(Settings.from_env(env)))
    assert reason == "weights not downloaded (unpinned, and STUDIO_REQUIRE_PINNED=1 is set)"


def test_lpips_with_only_one_file_in_the_mirror_is_unavailable(env, tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / lpips_module.BACKBONE).write_bytes(b"x")
    env["STUDIO_WEIGHTS_MIRROR"] = str(mirror)
    assert get_metric("lpips").availability(WeightStore(Settings.from_env(env))) == "weights not downloaded"


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
