"""What a report page holds, apart from how it is written as HTML (page.py writes every report).

A batch run (run_report.py) and a single comparison (comparison.py) each become one `Report`; the
page code, its style and its script are shared, so both reports look and behave the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from studio.report.images import Picture


@dataclass(frozen=True)
class Cell:
    """One table cell: its text, the number it sorts by (None: by its text) and how it is shown."""

    text: str
    sort: float | None = None
    numeric: bool = False  # right-aligned; sorts as a number (cells without a number sort last)
    best: bool = False  # the best value of its column (highlighted)


def number_cell(text: str, value: float | None, best: bool = False) -> Cell:
    return Cell(text, value, numeric=True, best=best)


@dataclass(frozen=True)
class Table:
    """A table of rows, each keyed (the row's `data-model`), sortable by a header click when `sortable`."""

    headers: Sequence[str]
    rows: Sequence[tuple[str, Sequence[Cell]]]
    css: str = ""
    sortable: bool = True


@dataclass(frozen=True)
class Point:
    """One model on the quality-latency plot (None: left out, and named under the plot)."""

    model: str
    latency_ms: float | None
    value: float | None


@dataclass(frozen=True)
class Plot:
    metric_id: str | None  # None: the run scored no metric
    points: Sequence[Point] = ()
    latency_name: str = "latency ms, median per image"
    value_name: str = "mean"  # what the quality axis shows of the metric: "mean" over images, or "" (one image)
    notes: Sequence[str] = ()


@dataclass(frozen=True)
class ImageEntry:
    """One image: a slider between any two of its pictures, the same region of each (when the thumbnails
    lose detail), notes on pictures that could not be shown, and the image's own table."""

    title: str
    pictures: Sequence[Picture]
    crops: Sequence[Picture] = ()
    crop_note: str = ""
    notes: Sequence[str] = ()
    cells: Table | None = None


@dataclass(frozen=True)
class RatingsView:
    """Human ratings of the report's models: the leaderboard, MOS, and how well each metric agrees."""

    lines: Sequence[str]  # what was counted (or why there is nothing), one sentence each
    leaderboard: Table | None = None
    mos: Table | None = None
    mos_lines: Sequence[str] = ()
    agreement: Table | None = None
    agreement_lines: Sequence[str] = ()


@dataclass(frozen=True)
class Report:
    title: str
    line: str  # under the title: what ran, how much, when the report was made
    summary: Table
    summary_lines: Sequence[str]
    plot: Plot
    images: Sequence[ImageEntry] | None  # None: no pictures to show (images_note says why)
    recipe: Sequence[tuple[str, Sequence[tuple[str, Any]]]]  # (heading, (key, value) pairs)
    images_note: str = ""
    ratings: RatingsView | None = None  # None: the section is left out
    summary_heading: str = "Per model"
