"""Per-model aggregates over a batch's images: metric means with 95 % t-intervals, latency, throughput.

The interval is Student's t over images (mean ± t(0.975, n-1) · s/√n, s with n-1), the usual
interval for a mean when the per-image spread is estimated from the same images. Images whose
value is missing (a failed cell, an unavailable metric) or not finite (the PSNR of identical
images) are left out of that metric, and `n` says how many were used.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

LEVEL = 0.95
INTERVAL = (
    "95 % Student t-interval over images: mean ± t(0.975, n-1)·s/√n, s the sample standard deviation; "
    "missing or non-finite values left out (n counts the images used)"
)


@dataclass(frozen=True)
class Interval:
    mean: float | None
    low: float | None  # None when n < 2: one value has no spread to estimate
    high: float | None
    n: int


def t_interval(values: Sequence[float | None], level: float = LEVEL) -> Interval:
    """The mean of the finite values and its two-sided t-interval."""
    finite = np.array([value for value in values if value is not None and math.isfinite(value)], dtype=np.float64)
    n = len(finite)
    if n == 0:
        return Interval(None, None, None, 0)
    mean = float(finite.mean())
    if n == 1:
        return Interval(mean, None, None, 1)
    from scipy import stats

    half = float(stats.t.ppf((1 + level) / 2, n - 1) * finite.std(ddof=1) / math.sqrt(n))
    return Interval(mean, mean - half, mean + half, n)


def _pixels(size: str | None) -> int:
    width, _, height = (size or "0x0").partition("x")
    return int(width) * int(height)


def _distinct(records: Sequence[dict[str, Any]], key: str, separator: str = "/") -> str | None:
    values = list(dict.fromkeys(record[key] for record in records if record.get(key)))
    return separator.join(values) if values else None


def summarize(records: Sequence[dict[str, Any]], model_ids: Sequence[str], metric_ids: Sequence[str]) -> list[dict]:
    """One row per model in the request's order: cells, failures, each metric's interval, speed."""
    rows = []
    for model in model_ids:
        mine = [record for record in records if record["model"] == model]
        ok = [record for record in mine if not record.get("error")]
        row: dict[str, Any] = {"model": model, "cells": len(mine), "ok": len(ok), "failed": len(mine) - len(ok)}
        for metric_id in metric_ids:
            interval = t_interval([(record.get("metrics") or {}).get(metric_id) for record in ok])
            row[f"{metric_id}_mean"] = interval.mean
            row[f"{metric_id}_ci95_low"] = interval.low
            row[f"{metric_id}_ci95_high"] = interval.high
            row[f"{metric_id}_n"] = interval.n
        latencies = [record["latency_ms"] for record in ok if record.get("latency_ms") is not None]
        seconds = sum(latencies) / 1000
        pixels = sum(_pixels(record.get("output_size")) for record in ok if record.get("latency_ms") is not None)
        row["latency_ms_median"] = float(np.median(latencies)) if latencies else None
        row["latency_ms_p95"] = float(np.percentile(latencies, 95)) if latencies else None
        row["mp_s"] = pixels / 1e6 / seconds if seconds > 0 else None  # throughput: all output pixels / all time
        row["backend"] = _distinct(ok, "backend")
        row["precision"] = _distinct(ok, "precision")
        row["flag"] = _distinct(ok, "flag", "; ")
        rows.append(row)
    return rows
