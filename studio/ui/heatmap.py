"""Pair matrices as HTML tables with computed cell colours (pure: no Gradio, no plotting library).

Win rate: red (the row model always lost) through white (even) to green (always won).
Battle counts: white (none) to blue (the most-played pair).
"""

from __future__ import annotations

import html
import math

import pandas as pd

WHITE, RED, GREEN, BLUE = (255, 255, 255), (214, 96, 77), (77, 172, 110), (66, 133, 244)
EMPTY = "#eeeeee"  # the diagonal and pairs that never met


def mix(start: tuple[int, int, int], end: tuple[int, int, int], share: float) -> str:
    """The colour `share` (0..1) of the way from `start` to `end`, as #rrggbb."""
    share = min(1.0, max(0.0, share))
    return "#" + "".join(f"{round(a + (b - a) * share):02x}" for a, b in zip(start, end, strict=True))


def rate_colour(rate: float) -> str:
    if not math.isfinite(rate):
        return EMPTY
    return mix(WHITE, GREEN, (rate - 0.5) * 2) if rate >= 0.5 else mix(WHITE, RED, (0.5 - rate) * 2)


def count_colour(count: float, most: float) -> str:
    if not count or not most:
        return EMPTY
    return mix(WHITE, BLUE, 0.15 + 0.85 * count / most)


def _cell(text: str, colour: str, tooltip: str) -> str:
    return (
        f'<td style="background:{colour};color:#111;text-align:center;padding:4px 8px;'
        f'border:1px solid #ddd" title="{html.escape(tooltip)}">{html.escape(text)}</td>'
    )


def _table(frame: pd.DataFrame, title: str, cell) -> str:
    """A table with the models as row and column headers; `cell(row, column)` makes each <td>."""
    if frame.empty:
        return f"<p><b>{html.escape(title)}</b>: no votes yet.</p>"
    header = "".join(
        f'<th style="padding:4px 8px;font-weight:normal;writing-mode:vertical-rl">{html.escape(str(c))}</th>'
        for c in frame.columns
    )
    rows = "".join(
        f'<tr><th style="padding:4px 8px;text-align:right;font-weight:normal">{html.escape(str(r))}</th>'
        + "".join(cell(r, c) for c in frame.columns)
        + "</tr>"
        for r in frame.index
    )
    return (
        f'<div style="overflow-x:auto"><table style="border-collapse:collapse;font-size:0.9em">'
        f'<caption style="caption-side:top;text-align:left;font-weight:bold;padding:4px 0">{html.escape(title)}'
        f"</caption><tr><th></th>{header}</tr>{rows}</table></div>"
    )


def win_rate_html(rate: pd.DataFrame, counts: pd.DataFrame) -> str:
    """Row model's share of wins against the column model (ties half), over their battles."""

    def cell(row: str, column: str) -> str:
        value, battles = float(rate.loc[row, column]), int(counts.loc[row, column])
        if row == column or not battles:
            return _cell("–", EMPTY, f"{row} vs {column}: no battles")
        return _cell(f"{value:.2f}", rate_colour(value), f"{row} beat {column} {value:.0%} of {battles} battle(s)")

    return _table(rate, "Win rate (row against column)", cell)


def counts_html(counts: pd.DataFrame) -> str:
    most = float(counts.to_numpy().max()) if not counts.empty else 0.0

    def cell(row: str, column: str) -> str:
        battles = int(counts.loc[row, column])
        text = "–" if row == column else str(battles)
        return _cell(text, count_colour(battles, most), f"{row} vs {column}: {battles} battle(s)")

    return _table(counts, "Battles per pair", cell)
