"""Results -> the table that answers "which model is best?" (pure pandas, no Gradio).

Two views of the same records the CSV is written from (engine.export.results_records):
a compact one (name, size, latency, speed, the chosen metrics, error) and one with every
column. Metric columns that cannot hold a value (unavailable here, or full-reference
without a reference) are left out and their reason is said once, under the table. The
best value of each metric, within the group of rows it may be compared with
(Results.best), is highlighted; rows whose numbers are not comparable are marked.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
from pandas.io.formats.style import Styler

from studio.engine.export import delta_column, results_records
from studio.engine.results import Results
from studio.metrics import FULL_REFERENCE, MetricSpec

FLAG_MARK = "⚑"
BEST_STYLE = "font-weight: bold; background-color: rgba(34, 197, 94, 0.28)"
NEEDS_REFERENCE = "needs a reference (choose a reference mode under Reference, metrics & runtime)"
COMPACT_TIMING = ("output", "latency ms", "MP/s")
DIGITS = {"latency ms": 1, "load ms": 1, "first ms": 1, "warm ms": 1, "peak MB": 1, "MP/s": 3}
METRIC_DIGITS = 4  # as the CSV: enough to compare with the engine's numbers


def hidden_metrics(results: Results) -> dict[str, str]:
    """Metric id -> why its column is left out (it has no value for any row, by construction)."""
    hidden = {}
    for spec in results.metrics:
        if spec.id in results.unavailable:
            hidden[spec.id] = results.unavailable[spec.id]
        elif spec.kind == FULL_REFERENCE and results.reference is None:
            hidden[spec.id] = NEEDS_REFERENCE
    return hidden


def shown_metrics(results: Results) -> list[MetricSpec]:
    hidden = hidden_metrics(results)
    return [spec for spec in results.metrics if spec.id not in hidden]


def _model_cell(record: dict[str, Any]) -> str:
    name = record["name"]
    return f"{name} {FLAG_MARK}" if record.get("flag") else name


def _columns(results: Results, records: list[dict[str, Any]], full: bool) -> list[str]:
    """The record keys shown, in order ("model" is replaced by the display name)."""
    metrics = shown_metrics(results)
    labels = [spec.label for spec in metrics]
    if not full:
        return [*COMPACT_TIMING, *labels, "error"]  # a flagged row's name is marked; the note says why
    deltas = [delta_column(spec.name) for spec in metrics if spec.kind != FULL_REFERENCE]
    identity = ["id", "backend", "precision", "vs fp32 dB", "device", "scale"]
    timing = [key for key in (records[0] if records else {}) if key in DIGITS or key == "output"]
    return [*identity, *timing, *labels, *deltas, "flag", "error", "notes", "params"]


def table_frame(results: Results, full: bool = False) -> pd.DataFrame:
    """One row per model, first column "model" (its display name, marked ⚑ when not comparable)."""
    records = results_records(results)
    columns = _columns(results, records, full)
    rows = []
    for record in records:
        shown = {**record, "model": _model_cell(record), "id": record["model"]}
        if isinstance(shown.get("params"), dict):
            shown["params"] = ", ".join(f"{key}={value}" for key, value in shown["params"].items())
        rows.append({"model": shown["model"], **{column: shown.get(column) for column in columns}})
    frame = pd.DataFrame(rows, columns=["model", *columns])
    numeric = [column for column in frame.columns if column in DIGITS or column in _metric_labels(results)]
    for column in frame.columns:
        if column in numeric:
            frame[column] = pd.to_numeric(frame[column], errors="coerce")
        else:  # text: a failed row's missing size is empty, not "nan"
            frame[column] = frame[column].fillna("")
    return frame


def _metric_labels(results: Results) -> dict[str, str]:
    """Column label -> metric id, for the metrics shown (and their Δ columns, which are never highlighted)."""
    labels = {}
    for spec in shown_metrics(results):
        labels[spec.label] = spec.id
        if spec.kind != FULL_REFERENCE:
            labels[delta_column(spec.name)] = ""
    return labels


def best_cells(results: Results, frame: pd.DataFrame) -> dict[str, list[int]]:
    """Metric column -> row positions holding the best value (within their comparable group)."""
    ids = [row.model_id for row in results.rows]
    cells = {}
    for label, metric_id in _metric_labels(results).items():
        if not metric_id or label not in frame.columns:
            continue
        winners = results.best(metric_id)
        cells[label] = [index for index, model_id in enumerate(ids) if model_id in winners]
    return cells


def _format(value: Any, digits: int) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float) and math.isinf(value):
        return "∞" if value > 0 else "-∞"
    return f"{value:.{digits}f}"


def styled_table(results: Results, full: bool = False) -> Styler:
    """The table with its numbers formatted (empty for a failed row) and each metric's best cells highlighted."""
    frame = table_frame(results, full)
    styler = frame.style.hide(axis="index")
    metric_labels = _metric_labels(results)
    for column in frame.columns:
        if column in DIGITS:
            styler = styler.format(lambda v, d=DIGITS[column]: _format(v, d), subset=[column])
        elif column in metric_labels:
            styler = styler.format(lambda v: _format(v, METRIC_DIGITS), subset=[column])
    for column, positions in best_cells(results, frame).items():
        if positions:
            rows = frame.index[positions]
            styler = styler.map(lambda _: BEST_STYLE, subset=pd.IndexSlice[rows, [column]])
    return styler


def datatypes(frame: pd.DataFrame) -> list[str]:
    """Per column, what Gradio sorts it as: numbers for timings and metrics, text otherwise."""
    return ["number" if pd.api.types.is_numeric_dtype(frame[column]) else "str" for column in frame.columns]


def table_note(results: Results) -> str:
    """Said once, under the table: the metric columns left out and why, what is highlighted, what ⚑ means."""
    lines = []
    for metric_id, reason in hidden_metrics(results).items():
        spec = next(s for s in results.metrics if s.id == metric_id)
        lines.append(f"**{spec.label}** hidden: {reason}")
    shown = shown_metrics(results)
    if any(results.best(spec.id) for spec in shown):
        lines.append("Highlighted: the best value of each metric among the outputs it can be compared with.")
    split: dict[tuple[str, ...], list[str]] = {}  # the same groups for several metrics: said in one line
    for spec in shown:
        groups = tuple(label for label, _ in results.groups(spec.id))
        if len(groups) > 1:
            split.setdefault(groups, []).append(spec.label)
    for groups, labels in split.items():
        lines.append(f"**{', '.join(labels)}** compared only within one output size: {'; '.join(groups)}.")
    for row in results.rows:
        if row.flag:
            lines.append(f"{FLAG_MARK} **{row.name or row.model_id}**: {row.flag}")
    return "  \n".join(lines)
