"""The per-model aggregates: t-intervals checked by hand and against scipy, missing values left out."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from studio.batch.stats import summarize, t_interval


def test_the_interval_is_students_t_over_images_by_hand():
    # mean 2.5, s = sqrt(5/3), t(0.975, 3) = 3.182446305..., half = t * s / 2
    interval = t_interval([1.0, 2.0, 3.0, 4.0])
    half = 3.182446305284263 * math.sqrt(5 / 3) / 2
    assert interval.n == 4 and interval.mean == 2.5
    assert interval.low == pytest.approx(2.5 - half, abs=1e-12)
    assert interval.high == pytest.approx(2.5 + half, abs=1e-12)
    assert half == pytest.approx(2.0542, abs=1e-4)


def test_the_interval_matches_scipy_and_leaves_out_missing_values():
    values = [31.2, 28.9, None, 33.4, float("inf"), 30.1, float("nan")]
    finite = np.array([31.2, 28.9, 33.4, 30.1])
    low, high = stats.t.interval(0.95, len(finite) - 1, loc=finite.mean(), scale=stats.sem(finite))
    interval = t_interval(values)
    assert interval.n == 4 and interval.mean == pytest.approx(finite.mean())
    assert (interval.low, interval.high) == (pytest.approx(low), pytest.approx(high))


def test_one_or_no_value_has_no_interval():
    assert t_interval([5.0]) == (t_interval([5.0]).__class__(5.0, None, None, 1))
    assert t_interval([None, float("nan")]).n == 0 and t_interval([]).mean is None
    assert t_interval([2.0, 2.0]).low == 2.0 == t_interval([2.0, 2.0]).high


def test_summary_counts_failures_and_measures_speed():
    def cell(image, model, psnr, latency, size="200x100", error=None):
        return {
            "image": image,
            "model": model,
            "metrics": {"psnr_y": psnr},
            "latency_ms": latency,
            "output_size": size,
            "backend": "classical",
            "precision": "fp32",
            "flag": None,
            "error": error,
        }

    records = [
        cell("a", "m1", 30.0, 10.0),
        cell("b", "m1", 32.0, 30.0),
        cell("c", "m1", None, None, None, "not a supported image"),
        cell("a", "m2", 20.0, 1.0),
    ]
    m1, m2 = summarize(records, ["m1", "m2"], ["psnr_y"])
    assert (m1["cells"], m1["ok"], m1["failed"]) == (3, 2, 1)
    assert m1["psnr_y_mean"] == 31.0 and m1["psnr_y_n"] == 2
    assert m1["latency_ms_median"] == 20.0 and m1["latency_ms_p95"] == pytest.approx(29.0)
    assert m1["mp_s"] == pytest.approx(2 * 0.02 / 0.04)  # all output megapixels over all seconds
    assert m1["backend"] == "classical" and m1["precision"] == "fp32"
    assert m2["psnr_y_n"] == 1 and m2["psnr_y_ci95_low"] is None
