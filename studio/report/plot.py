"""Quality against latency as inline SVG: one labelled point per model, axes named with their better direction.

Latency goes on a log axis when the models span more than LOG_SPAN (a classical filter next to a
network), else on a linear one that starts at 0 at the lowest (a latency is never negative); quality on
a linear axis. Ticks are round numbers: 1, 2 or 5 x 10^k apart on a linear axis, decades (with 2 and 5
between them when the axis spans few decades) on a log one. A point whose value is not comparable with
the others' (flagged: another scale than the reference's) is drawn hollow, marked ⚑, and a legend line
says so. Labels stay inside the frame: one that would run past the right edge ends at its point instead.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from studio.batch.tables import number
from studio.metrics import get_metric

WIDTH, HEIGHT = 640, 400
LEFT, RIGHT, TOP, BOTTOM = 70, 30, 20, 56
LEGEND = 22  # px added below the axis title for the legend line, when a point is flagged
LOG_SPAN = 20.0
TICKS = 5  # at most this many steps between ticks (so 3 to 6 ticks on a linear axis)
LOG_SUBDIVIDE = 3  # a log axis spanning fewer decades than this gets ticks at 2 and 5 too
CHAR_PX = 7.0  # a generous width of one label character at 12 px, for keeping labels inside the frame
LABEL_GAP = 8  # px between a point and its label
FLAG_MARK = "⚑"


def _scale(values: Sequence[float], log: bool, floor: float | None = None) -> tuple[float, float]:
    """The axis range (in axis units: log10 when `log`), padded so no point sits on the frame, and not
    below `floor` (when given: a latency axis starts at 0 at the lowest)."""
    points = [math.log10(v) for v in values] if log else list(values)
    low, high = min(points), max(points)
    pad = (high - low) * 0.1 or (abs(high) * 0.1 or 1.0)
    low, high = low - pad, high + pad
    if floor is not None and not log:
        low = max(low, floor)
    return low, high


def nice_step(span: float, steps: int = TICKS) -> float:
    """The smallest of 1, 2, 5 x 10^k that cuts `span` into at most `steps` steps."""
    if not span > 0:
        return 1.0
    magnitude = 10.0 ** math.floor(math.log10(span / steps))
    return next(m * magnitude for m in (1, 2, 5, 10) if span / (m * magnitude) <= steps + 1e-9)


def _decimals(step: float) -> int:
    return max(0, -math.floor(math.log10(step) + 1e-9))


def _text(value: float, decimals: int) -> str:
    text = f"{value:.{decimals}f}"
    return "0" if float(text) == 0 else text  # never "-0"


def linear_ticks(low: float, high: float) -> list[tuple[float, str]]:
    """(value, label) for the multiples of a nice step within [low, high]."""
    step = nice_step(high - low)
    first = math.ceil(low / step - 1e-9)
    last = math.floor(high / step + 1e-9)
    decimals = _decimals(step)
    return [(k * step, _text(k * step, decimals)) for k in range(first, last + 1)]


def log_ticks(low: float, high: float) -> list[tuple[float, str]]:
    """(log10 of value, label) for 10^k (and 2 and 5 x 10^k over few decades) within [low, high] (log10 units)."""
    mantissas = (1, 2, 5) if high - low < LOG_SUBDIVIDE else (1,)
    ticks = []
    for exponent in range(math.floor(low), math.ceil(high) + 1):
        for mantissa in mantissas:
            position = math.log10(mantissa) + exponent
            if low - 1e-9 <= position <= high + 1e-9:
                ticks.append((position, _text(mantissa * 10.0**exponent, max(0, -exponent))))
    return ticks


def quality_latency_svg(summary: Sequence[dict[str, Any]], metric_id: str) -> tuple[str, list[str]]:
    """The SVG of a batch summary (per model: median latency, the metric's mean, its flag) and the models left out."""
    points = [(row["model"], row.get("latency_ms_median"), row.get(f"{metric_id}_mean")) for row in summary]
    flags = {row["model"]: row["flag"] for row in summary if row.get("flag")}
    return points_svg(points, metric_id, flags=flags)


def _label(px: float, py: float, text: str, right_edge: float) -> str:
    """The point's label right of it, or ending left of it when it would run past `right_edge`."""
    width = len(text) * CHAR_PX
    if px + LABEL_GAP + width <= right_edge:
        x, anchor = px + LABEL_GAP, "start"
    elif px - LABEL_GAP - width >= LEFT:
        x, anchor = px - LABEL_GAP, "end"
    else:  # too long for either side: as far right as still fits
        x, anchor = max(LEFT + 2, right_edge - width), "start"
    return f'<text x="{x:.1f}" y="{py - 8:.1f}" text-anchor="{anchor}">{escape(text)}</text>'


def points_svg(
    points: Sequence[tuple[str, float | None, float | None]],
    metric_id: str,
    latency_name: str = "latency ms, median per image",
    value_name: str = "mean",
    flags: Mapping[str, str] | None = None,
) -> tuple[str, list[str]]:
    """The SVG of (model, latency ms, metric value) points and the models left out (no latency or no value).

    `latency_name` names the x axis, `value_name` what the y axis shows of the metric ("mean", or "" for
    one value per model); `flags` maps a model to why its value is not comparable (drawn hollow).
    """
    flags = flags or {}
    spec = get_metric(metric_id)
    left_out = [model for model, latency, value in points if not latency or value is None or not math.isfinite(value)]
    points = [point for point in points if point[0] not in left_out]
    if not points:
        return "", left_out
    flagged = [model for model, _, _ in points if flags.get(model)]
    latencies = [latency for _, latency, _ in points]
    log = max(latencies) / min(latencies) > LOG_SPAN
    x_low, x_high = _scale(latencies, log, floor=0.0)
    y_low, y_high = _scale([value for _, _, value in points], False)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    height = HEIGHT + (LEGEND if flagged else 0)

    def x(value: float) -> float:
        axis = math.log10(value) if log else value
        return LEFT + (axis - x_low) / (x_high - x_low) * plot_w

    def y(value: float) -> float:
        return TOP + (y_high - value) / (y_high - y_low) * plot_h

    better = "lower is better" if spec.lower_better else "higher is better"
    x_name = f"{latency_name}{' (log scale)' if log else ''}: lower is better"
    parts = [
        f'<svg class="plot" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" role="img" aria-label="{escape(spec.name)} against latency">',
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" class="frame"/>',
    ]
    for position, label in log_ticks(x_low, x_high) if log else linear_ticks(x_low, x_high):
        px = LEFT + (position - x_low) / (x_high - x_low) * plot_w
        parts.append(f'<line x1="{px:.1f}" y1="{TOP + plot_h}" x2="{px:.1f}" y2="{TOP + plot_h + 5}" class="tick"/>')
        parts.append(f'<text x="{px:.1f}" y="{TOP + plot_h + 18}" text-anchor="middle">{escape(label)}</text>')
    for position, label in linear_ticks(y_low, y_high):
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
        flag = flags.get(model)
        tip = f"{model}: {spec.name} {number(value)}, {number(latency)} ms" + (f" ({flag})" if flag else "")
        css = "point flagged" if flag else "point"
        parts.append(
            f'<g class="{css}" data-model="{escape(model)}"><circle cx="{px:.1f}" cy="{py:.1f}" r="5">'
            f"<title>{escape(tip)}</title></circle>"
            f"{_label(px, py, f'{model} {FLAG_MARK}' if flag else model, LEFT + plot_w)}</g>"
        )
    if flagged:
        legend_y = HEIGHT + LEGEND / 2
        legend = f"hollow, {FLAG_MARK}: not comparable with the others (see the table): {', '.join(flagged)}"
        parts.append(
            f'<g class="legend flagged"><circle cx="{LEFT + 5}" cy="{legend_y - 4:.1f}" r="5"/>'
            f'<text x="{LEFT + 16}" y="{legend_y:.1f}">{escape(legend)}</text></g>'
        )
    parts.append("</svg>")
    return "\n".join(parts), left_out
