"""What a report page holds, apart from how it is written as HTML (page.py writes every report).

A batch run (run_report.py) and a single comparison (comparison.py) each become one `Report`; the
page code, its style and its script are shared, so both reports look and behave the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from studio.batch.tables import failures_by_image
from studio.report.images import Picture

FLAG_MARK = "⚑"  # a row (and a point) whose numbers are not comparable with the others', as the app marks them
# The pictures an image's slider offers besides the outputs, named alike in both reports: what the models
# received ("input"), and what their outputs were scored against ("... (reference)").
INPUT = "input"
ORIGINAL = "original (reference)"  # the sharp image a degradation started from
GROUND_TRUTH = "ground truth (reference)"  # the ground truth given with the input (--pairs, Ground truth)


def input_label(recipe: str | None) -> str:
    """What the models received: the input, or the degraded copy (named with its recipe) in reference mode."""
    return f"{INPUT} (degraded: {recipe})" if recipe else INPUT


def reference_label(recipe: str | None) -> str:
    return ORIGINAL if recipe else GROUND_TRUTH


def better(lower_better: bool) -> str:
    """A column's better direction, as a header carries it: its first click puts the best first."""
    return "lower" if lower_better else "higher"


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
    better: Sequence[str | None] = ()  # per column: "higher", "lower" or None (no better direction)


def failures_table(failed: Sequence[tuple[str, str, str]], models: Sequence[str]) -> Table | None:
    """The failed (image, model, error) cells, one row per image and error: its models ("every model (N)" when
    the error covers every one of `models`) and the error; None when nothing failed."""
    groups = failures_by_image(failed)
    every = set(models)
    rows = [
        (
            "",
            [
                Cell(image),
                Cell(f"every model ({len(names)})" if len(every) > 1 and set(names) >= every else ", ".join(names)),
                Cell(error),
            ],
        )
        for (image, error), names in groups.items()
    ]
    return Table(["image", "models", "error"], rows, css="failures") if rows else None


@dataclass(frozen=True)
class Point:
    """One model on the quality-latency plot (None: left out, and named under the plot)."""

    model: str
    latency_ms: float | None
    value: float | None
    flag: str | None = None  # why its value is not comparable with the others' (drawn hollow), or None


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
    lose detail), notes on pictures that could not be shown, and the image's own table.

    `pictures` are the input (what the models received), the reference (when there is one), then the outputs
    from index `first_output`: the slider starts on the input against the first output."""

    title: str
    pictures: Sequence[Picture]
    crops: Sequence[Picture] = ()
    crop_note: str = ""
    notes: Sequence[str] = ()
    cells: Table | None = None
    first_output: int = 1


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
    failures: Table | None = None  # the failed cells (image, models, error); None: nothing failed
