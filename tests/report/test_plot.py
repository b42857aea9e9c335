"""The quality-latency SVG on hand-made summaries: direction words, log axis, models left out, escaping, round
ticks, a latency axis that starts at 0, labels inside the frame and hollow flagged points."""

from __future__ import annotations

import itertools
import math
import re

from studio.report.plot import CHAR_PX, LEFT, RIGHT, WIDTH, quality_latency_svg


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


def ticks(svg: str, axis: str) -> list[str]:
    """The tick labels of the x axis (centred under the frame) or the y axis (right-aligned left of it)."""
    anchor = "middle" if axis == "x" else "end"
    return re.findall(rf'<text x="[-\d.]+" y="[-\d.]+" text-anchor="{anchor}">([^<]*)</text>', svg)


def test_ticks_are_round_numbers_and_latency_never_goes_below_zero():
    # Spread latencies on a linear axis: padding would reach -190 ms; the axis starts at 0, ticks 500 apart.
    svg, _ = quality_latency_svg([row("a", 100.0, 0.1166), row("b", 1999.0, 5.63)], "psnr_y")
    assert "log scale" not in svg
    assert ticks(svg, "x") == ["0", "500", "1000", "1500", "2000"]
    assert ticks(svg, "y") == ["0", "2", "4", "6"]
    # A log axis: decades, with 2 and 5 between them over few decades.
    svg, _ = quality_latency_svg([row("a", 1.0, 30.2), row("b", 271.7, 31.9)], "psnr_y")
    assert "(log scale)" in svg
    assert ticks(svg, "x") == ["1", "2", "5", "10", "20", "50", "100", "200"]
    assert ticks(svg, "y") == ["30.5", "31.0", "31.5", "32.0"]
    svg, _ = quality_latency_svg([row("a", 0.05, 0.9), row("b", 900.0, 0.95)], "psnr_y")
    assert ticks(svg, "x") == ["0.1", "1", "10", "100", "1000"]  # over four decades: one tick a decade
    for value in (0.1166, 5.63, 271.7, 1053.1, 2297.1, 0.0665):  # linear axes (3x apart): one nice step
        values = [
            float(t) for t in ticks(quality_latency_svg([row("a", value, 1), row("b", value * 3, 2)], "psnr_y")[0], "x")
        ]
        steps = {round(b - a, 12) for a, b in itertools.pairwise(values)}
        assert len(values) >= 3 and len(steps) == 1, values
        step = steps.pop()
        mantissa = step / 10 ** math.floor(math.log10(step))
        assert round(mantissa, 9) in (1, 2, 5) and all(abs(v / step - round(v / step)) < 1e-9 for v in values), values


def test_labels_stay_inside_the_frame_and_a_flagged_point_is_hollow_with_a_legend():
    summary = [
        row("bicubic-x2", 2.0, 30.0),
        row("realesr-animevideov3-x2", 1800.0, 31.0),  # rightmost, with a long name
        {**row("unsharp-mask", 12.0, 25.0), "flag": "x1 output scored against a x2 degradation"},
    ]
    svg, _ = quality_latency_svg(summary, "psnr_y")
    right_edge = WIDTH - RIGHT
    labels = re.findall(
        r'<g class="point[^>]*>.*?<text x="([\d.]+)" y="[\d.]+" text-anchor="(start|end)">([^<]*)</text>', svg
    )
    assert len(labels) == 3
    for x, anchor, text in labels:
        if anchor == "start":
            assert float(x) + len(text) * CHAR_PX <= right_edge, text
        else:
            assert float(x) - len(text) * CHAR_PX >= LEFT, text
    assert 'text-anchor="end">realesr-animevideov3-x2</text>' in svg  # ends at its point
    assert re.search(r'<g class="point flagged" data-model="unsharp-mask">', svg)
    assert 'text-anchor="start">unsharp-mask ⚑</text>' in svg
    assert "not comparable with the others (see the table): unsharp-mask" in svg
    assert svg.count('class="point flagged"') == 1 and svg.count('<g class="point"') == 2
