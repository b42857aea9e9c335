"""The quality-latency SVG on hand-made summaries: direction words, log axis, models left out, escaping."""

from __future__ import annotations

import re

from studio.report.plot import quality_latency_svg


def row(model: str, latency: float | None, value: float | None, metric: str = "psnr_y") -> dict:
    return {"model": model, "latency_ms_median": latency, f"{metric}_mean": value}


def test_one_point_per_model_and_the_better_direction_of_each_axis():
    svg, left_out = quality_latency_svg([row("a", 1.0, 30.0), row("b", 2.0, 31.0)], "psnr_y")
    assert left_out == [] and svg.count("<circle") == 2
    assert "PSNR-Y mean: higher is better" in svg and "lower is better" in svg and "log scale" not in svg
    svg, _ = quality_latency_svg([row("a", 1.0, 0.2, "lpips"), row("b", 500.0, 0.1, "lpips")], "lpips")
    assert "LPIPS mean: lower is better" in svg and "(log scale)" in svg


def test_models_without_a_value_are_left_out_and_names_escaped():
    summary = [row("<b>&", 3.0, 30.0), row("failed", None, None), row("nometric", 2.0, None)]
    svg, left_out = quality_latency_svg(summary, "psnr_y")
    assert left_out == ["failed", "nometric"] and svg.count("<circle") == 1
    assert "&lt;b&gt;&amp;" in svg and "<b>" not in svg
    assert all(float(x) >= 0 for x in re.findall(r'cx="([-\d.]+)"', svg))  # one point, padded inside the frame
    assert quality_latency_svg([row("failed", None, None)], "psnr_y") == ("", ["failed"])
