"""Results -> the quality-vs-latency plot: a small inline SVG (pure, no Gradio), one labelled point per model.

Gradio's own ScatterPlot drew 1 of 5 points after a run: it fixes its colour scale's domain
from the first value it is given (the first yield of a run: one model) and later updates
only replace the data, so every later model's point gets no colour (stroke null, fill
transparent) and is invisible. An SVG written whole on every update has no such state, and
each point is one <circle> plus one <text> in the page, which a browser test can count.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from html import escape

from studio.engine.results import ModelResult, Results
from studio.metrics import MetricSpec

WIDTH, HEIGHT = 720, 380
LEFT, RIGHT, TOP, BOTTOM = 78, 24, 18, 56  # room for tick labels and axis titles
UNITS = {"psnr": "dB", "psnr_y": "dB"}
GROUP_COLOURS = ("#4f46e5", "#ea580c", "#0d9488", "#be185d")  # one per group of comparable outputs
BEST_COLOUR = "#16a34a"
LABEL_GAP = 13  # px between two labels' baselines
LOG_RATIO = 20  # latencies spread wider than this are drawn on a log axis


@dataclass(frozen=True)
class Point:
    row: ModelResult
    latency: float
    value: float
    group: int
    best: bool


def axis_title(spec: MetricSpec) -> str:
    """'PSNR-Y (dB) ↑ better': the metric, its unit and which way is better."""
    unit = f" ({UNITS[spec.id]})" if spec.id in UNITS else ""
    return f"{spec.name}{unit} {spec.arrow} better"


def _points(results: Results, spec: MetricSpec) -> tuple[list[Point], list[str]]:
    """The plottable rows (finite value, positive latency) and a note for each model left out."""
    groups = results.groups(spec.id)
    group_of = {id(row): index for index, (_, rows) in enumerate(groups) for row in rows}
    best = results.best(spec.id)
    points, left_out = [], []
    for row in results.rows:
        name = row.name or row.model_id
        value = row.metrics.get(spec.id)
        if not row.ok:
            left_out.append(f"{name} (failed)")
        elif value is None or not math.isfinite(value) or row.latency_ms <= 0:
            left_out.append(f"{name} (no {spec.name} value)")
        else:
            points.append(Point(row, row.latency_ms, float(value), group_of.get(id(row), 0), row.model_id in best))
    return points, left_out


def _nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    span = high - low
    if span <= 0:
        return [low]
    raw = span / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step + 1e-9) + 1)]


def _tick_labels(ticks: list[float]) -> list[str]:
    """The fewest decimals that tell the ticks apart and show each exactly enough (1 % of their spacing)."""
    spacing = min((abs(b - a) for a, b in itertools.pairwise(ticks)), default=abs(ticks[0]) or 1.0)
    for digits in range(7):
        labels = [f"{tick:,.{digits}f}" for tick in ticks]
        exact = all(
            abs(float(label.replace(",", "")) - tick) <= spacing * 0.01
            for label, tick in zip(labels, ticks, strict=True)
        )
        if exact and len(set(labels)) == len(labels):
            return labels
    return [f"{tick:.6g}" for tick in ticks]


class _Axis:
    """A value -> pixel mapping, linear or log10, padded so points do not sit on the frame."""

    def __init__(self, values: list[float], start: float, end: float, log: bool):
        self.log = log
        low, high = min(values), max(values)
        if log:
            low, high = math.log10(low), math.log10(high)
        pad = (high - low) * 0.08 or (abs(high) * 0.1 if high else 1.0)
        self.low, self.high = low - pad, high + pad
        self.start, self.end = start, end

    def __call__(self, value: float) -> float:
        v = math.log10(value) if self.log else value
        return self.start + (v - self.low) / (self.high - self.low) * (self.end - self.start)

    def ticks(self) -> list[float]:
        if not self.log:
            return _nice_ticks(self.low, self.high)
        decades = range(math.floor(self.low), math.ceil(self.high) + 1)
        steps = (1, 2, 5) if self.high - self.low <= 3.5 else (1,)  # wider spans: one tick a decade, readable
        ticks = [10.0**d * m for d in decades for m in steps if self.low <= math.log10(10.0**d * m) <= self.high]
        return ticks or [10 ** ((self.low + self.high) / 2)]


def _spread_labels(ys: list[float]) -> list[float]:
    """Label baselines at least LABEL_GAP apart, each as close to its point as that allows (in the given order)."""
    order = sorted(range(len(ys)), key=lambda i: ys[i])
    placed = [0.0] * len(ys)
    previous = -math.inf
    for i in order:
        placed[i] = max(ys[i] + 4, previous + LABEL_GAP)
        previous = placed[i]
    overflow = previous - (HEIGHT - BOTTOM)
    if overflow > 0:  # pushed below the frame: shift the whole stack up
        placed = [y - overflow for y in placed]
    return placed


def plot_html(results: Results | None, metric_id: str | None) -> str:
    """The plot for `metric_id` (an HTML fragment: one <svg> and a caption), or a one-line note why there is none."""
    spec = next((s for s in results.metrics if s.id == metric_id), None) if results else None
    if spec is None:
        return '<p class="plot-empty">No quality metric with values yet: the plot appears after a scored run.</p>'
    points, left_out = _points(results, spec)
    if not points:
        return f'<p class="plot-empty">No model has a {escape(spec.name)} value to plot.</p>'
    latencies = [p.latency for p in points]
    log = min(latencies) > 0 and max(latencies) / min(latencies) > LOG_RATIO
    x = _Axis(latencies, LEFT, WIDTH - RIGHT, log)
    y = _Axis([p.value for p in points], HEIGHT - BOTTOM, TOP, False)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" '
        f'aria-label="{escape(spec.name)} against latency, one point per model" '
        'style="max-width: 900px; font: 12px sans-serif; color: inherit">',
        f'<rect x="{LEFT}" y="{TOP}" width="{WIDTH - LEFT - RIGHT}" height="{HEIGHT - TOP - BOTTOM}" '
        'fill="none" stroke="currentColor" stroke-opacity="0.35"/>',
    ]
    x_ticks = x.ticks()
    for tick, label in zip(x_ticks, _tick_labels(x_ticks), strict=True):
        px = x(tick)
        parts.append(
            f'<line class="tick" x1="{px:.1f}" x2="{px:.1f}" y1="{TOP}" y2="{HEIGHT - BOTTOM}" '
            'stroke="currentColor" stroke-opacity="0.12"/>'
            f'<text x="{px:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" fill="currentColor">{label}</text>'
        )
    y_ticks = y.ticks()
    for tick, label in zip(y_ticks, _tick_labels(y_ticks), strict=True):
        py = y(tick)
        parts.append(
            f'<line class="tick" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{py:.1f}" y2="{py:.1f}" '
            'stroke="currentColor" stroke-opacity="0.12"/>'
            f'<text x="{LEFT - 6}" y="{py + 4:.1f}" text-anchor="end" fill="currentColor">{label}</text>'
        )
    x_title = f"latency ms ↓ better{' (log scale)' if log else ''}"
    parts.append(
        f'<text class="axis-title" data-axis="x" x="{(LEFT + WIDTH - RIGHT) / 2}" y="{HEIGHT - 12}" '
        f'text-anchor="middle" fill="currentColor" font-weight="bold">{escape(x_title)}</text>'
        f'<text class="axis-title" data-axis="y" transform="translate(16 {(TOP + HEIGHT - BOTTOM) / 2}) rotate(-90)" '
        f'text-anchor="middle" fill="currentColor" font-weight="bold">{escape(axis_title(spec))}</text>'
    )
    middle = (LEFT + WIDTH - RIGHT) / 2
    for on_left in (False, True):  # labels go right of points in the left half, left of those in the right half
        side = [p for p in points if (x(p.latency) > middle) == on_left]
        label_ys = _spread_labels([y(p.value) for p in side])
        for point, label_y in zip(side, label_ys, strict=True):
            parts.append(_point(point, x(point.latency), y(point.value), label_y, spec, on_left))
    parts.append("</svg>")
    caption = _caption(results, spec, left_out)
    return f'<figure class="quality-plot" style="margin: 0">{"".join(parts)}{caption}</figure>'


def _point(point: Point, px: float, py: float, label_y: float, spec: MetricSpec, on_left: bool) -> str:
    row = point.row
    name = row.name or row.model_id
    colour = GROUP_COLOURS[point.group % len(GROUP_COLOURS)]
    stroke = f'stroke="{BEST_COLOUR}" stroke-width="3"' if point.best else 'stroke="white" stroke-width="1"'
    title = f"{name}: {point.latency:.1f} ms, {spec.name} {point.value:.4g}" + (" (best)" if point.best else "")
    mark = " ⚑" if row.flag else ""
    weight = ' font-weight="bold"' if point.best else ""
    sign = -1 if on_left else 1
    return (
        f'<circle class="point" data-model="{escape(row.model_id)}" data-latency="{point.latency:.3f}" '
        f'data-value="{point.value!r}" data-best="{str(point.best).lower()}" cx="{px:.1f}" cy="{py:.1f}" '
        f'r="{7 if point.best else 5}" fill="{colour}" {stroke}><title>{escape(title)}</title></circle>'
        f'<line x1="{px + 6 * sign:.1f}" y1="{py:.1f}" x2="{px + 10 * sign:.1f}" y2="{label_y - 4:.1f}" '
        f'stroke="currentColor" stroke-opacity="0.4"/><text class="point-label" data-model="{escape(row.model_id)}" '
        f'x="{px + 11 * sign:.1f}" y="{label_y:.1f}" text-anchor="{"end" if on_left else "start"}" '
        f'fill="currentColor"{weight}>{escape(name + mark)}</text>'
    )


def _caption(results: Results, spec: MetricSpec, left_out: list[str]) -> str:
    notes = []
    groups = results.groups(spec.id)
    if len(groups) > 1:
        keys = ", ".join(
            f'<span style="color: {GROUP_COLOURS[i % len(GROUP_COLOURS)]}">●</span> {escape(label)}'
            for i, (label, _) in enumerate(groups)
        )
        notes.append(f"{escape(spec.name)} compared only within a colour: {keys}.")
    if any(results.best(spec.id)):
        notes.append(f'<span style="color: {BEST_COLOUR}">◯</span> ringed: the best {escape(spec.name)}.')
    if left_out:
        notes.append(f"Not plotted: {escape(', '.join(left_out))}.")
    if not notes:
        return ""
    return f'<figcaption style="font-size: 0.85em; opacity: 0.85">{" ".join(notes)}</figcaption>'
