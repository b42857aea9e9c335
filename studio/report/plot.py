"""Quality against latency as inline SVG: one labelled point per model, axes named with their better direction.

Latency goes on a log axis when the models span more than LOG_SPAN (a classical filter next to a
network), else on a linear one; quality on a linear axis.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape
from typing import Any

from studio.batch.tables import number
from studio.metrics import get_metric

WIDTH, HEIGHT = 640, 400
LEFT, RIGHT, TOP, BOTTOM = 70, 30, 20, 56
LOG_SPAN = 20.0
TICKS = 5


def _scale(values: Sequence[float], log: bool) -> tuple[float, float]:
    """The axis range (in axis units: log10 when `log`), padded so no point sits on the frame."""
    points = [math.log10(v) for v in values] if log else list(values)
    low, high = min(points), max(points)
    pad = (high - low) * 0.1 or (abs(high) * 0.1 or 1.0)
    return low - pad, high + pad


def _ticks(low: float, high: float, log: bool) -> list[tuple[float, str]]:
    """(position in axis units, label) for a few evenly spread ticks."""
    step = (high - low) / (TICKS - 1)
    positions = [low + step * index for index in range(TICKS)]
    return [(p, number(10**p if log else p)) for p in positions]


def quality_latency_svg(summary: Sequence[dict[str, Any]], metric_id: str) -> tuple[str, list[str]]:
    """The SVG of a batch summary (per model: median latency, the metric's mean) and the models left out."""
    points = [(row["model"], row.get("latency_ms_median"), row.get(f"{metric_id}_mean")) for row in summary]
    return points_svg(points, metric_id)


def points_svg(
    points: Sequence[tuple[str, float | None, float | None]],
    metric_id: str,
    latency_name: str = "latency ms, median per image",
    value_name: str = "mean",
) -> tuple[str, list[str]]:
    """The SVG of (model, latency ms, metric value) points and the models left out (no latency or no value).

    `latency_name` names the x axis, `value_name` what the y axis shows of the metric ("mean", or "" for
    one value per model).
    """
    spec = get_metric(metric_id)
    left_out = [model for model, latency, value in points if not latency or value is None or not math.isfinite(value)]
    points = [point for point in points if point[0] not in left_out]
    if not points:
        return "", left_out
    latencies = [latency for _, latency, _ in points]
    log = max(latencies) / min(latencies) > LOG_SPAN
    x_low, x_high = _scale(latencies, log)
    y_low, y_high = _scale([value for _, _, value in points], False)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(value: float) -> float:
        axis = math.log10(value) if log else value
        return LEFT + (axis - x_low) / (x_high - x_low) * plot_w

    def y(value: float) -> float:
        return TOP + (y_high - value) / (y_high - y_low) * plot_h

    better = "lower is better" if spec.lower_better else "higher is better"
    x_name = f"{latency_name}{' (log scale)' if log else ''}: lower is better"
    parts = [
        f'<svg class="plot" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{escape(spec.name)} against latency">',
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" class="frame"/>',
    ]
    for position, label in _ticks(x_low, x_high, log):
        px = LEFT + (position - x_low) / (x_high - x_low) * plot_w
        parts.append(f'<line x1="{px:.1f}" y1="{TOP + plot_h}" x2="{px:.1f}" y2="{TOP + plot_h + 5}" class="tick"/>')
        parts.append(f'<text x="{px:.1f}" y="{TOP + plot_h + 18}" text-anchor="middle">{escape(label)}</text>')
    for position, label in _ticks(y_low, y_high, False):
        py = y(position)
        parts.append(f'<line x1="{LEFT - 5}" y1="{py:.1f}" x2="{LEFT}" y2="{py:.1f}" class="tick"/>')
        parts.append(f'<text x="{LEFT - 8}" y="{py + 4:.1f}" text-anchor="end">{escape(label)}</text>')
    parts.append(
        f'<text x="{LEFT + plot_w / 2}" y="{HEIGHT - 8}" text-anchor="middle" class="axis">{escape(x_name)}</text>'
    )
    parts.append(
        f'<text transform="translate(16 {TOP + plot_h / 2}) rotate(-90)" text-anchor="middle" class="axis">'
        f"{escape(f'{spec.name} {value_name}'.strip() + f': {better}')}</text>"
    )
    for model, latency, value in points:
        px, py = x(latency), y(value)
        tip = f"{model}: {spec.name} {number(value)}, {number(latency)} ms"
        parts.append(
            f'<g class="point" data-model="{escape(model)}"><circle cx="{px:.1f}" cy="{py:.1f}" r="5">'
            f"<title>{escape(tip)}</title></circle>"
            f'<text x="{px + 8:.1f}" y="{py - 8:.1f}">{escape(model)}</text></g>'
        )
    parts.append("</svg>")
    return "\n".join(parts), left_out
