"""The run's tables, rebuilt from the journal: cells.parquet / cells.csv (one row per cell) and
summary.csv / summary.md (one row per model). pandas and pyarrow are imported here, when written.

Each file is written under a hidden name and renamed, so a crash leaves the previous version.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from studio.batch.records import table_row
from studio.batch.stats import INTERVAL
from studio.core.markdown import markdown_table
from studio.metrics import get_metric

CELLS_PARQUET, CELLS_CSV = "cells.parquet", "cells.csv"
SUMMARY_CSV, SUMMARY_MD = "summary.csv", "summary.md"


def _replace(path: Path, write: Callable[[Path], None]) -> None:
    temporary = path.with_name(f".{path.name}.partial")
    write(temporary)
    temporary.replace(path)


def write_tables(
    run_dir: Path,
    records: Sequence[dict[str, Any]],
    summary: Sequence[dict[str, Any]],
    metric_ids: Sequence[str],
    title: str,
) -> list[str]:
    """Write the four files; return their names."""
    import pandas as pd

    rows = [table_row(record, metric_ids) for record in records]
    columns = list(table_row({"image": "", "model": ""}, metric_ids))
    cells = pd.DataFrame.from_records(rows, columns=columns)
    for metric_id in metric_ids:  # numbers even when every value is missing (a failed model)
        cells[metric_id] = pd.to_numeric(cells[metric_id], errors="coerce").astype("float64")
    _replace(run_dir / CELLS_PARQUET, lambda path: cells.to_parquet(path, engine="pyarrow", index=False))
    _replace(run_dir / CELLS_CSV, lambda path: cells.to_csv(path, index=False))
    frame = pd.DataFrame.from_records(list(summary))
    _replace(run_dir / SUMMARY_CSV, lambda path: frame.to_csv(path, index=False))
    text = summary_markdown(summary, metric_ids, title, unavailable_notes(records))
    _replace(run_dir / SUMMARY_MD, lambda path: path.write_text(text, encoding="utf-8"))
    return [CELLS_PARQUET, CELLS_CSV, SUMMARY_CSV, SUMMARY_MD]


def number(value: float | None) -> str:
    """A short, readable number: more decimals for small values."""
    if value is None:
        return "–"
    if abs(value) >= 100:
        return f"{value:.1f}"
    return f"{value:.2f}" if abs(value) >= 1 else f"{value:.4f}"


def metric_cell(row: dict[str, Any], metric_id: str) -> str:
    """'mean [low, high]', plus n when fewer images than the model's ok cells had a value."""
    mean, low, high, n = (row[f"{metric_id}_{part}"] for part in ("mean", "ci95_low", "ci95_high", "n"))
    text = number(mean)
    if low is not None:
        text += f" [{number(low)}, {number(high)}]"
    if n < row["ok"]:
        text += f" (n={n})"
    return text


def summary_table(summary: Sequence[dict[str, Any]], metric_ids: Sequence[str]) -> tuple[list[str], list[list[str]]]:
    """Headers and rows for people: the terminal table and summary.md show the same."""
    headers = [
        "model",
        "ok/cells",
        *(f"{get_metric(metric_id).label} mean [95% CI]" for metric_id in metric_ids),
        "latency ms (median)",
        "latency ms (p95)",
        "MP/s",
        "backend",
    ]
    rows = [
        [
            row["model"],
            f"{row['ok']}/{row['cells']}",
            *(metric_cell(row, metric_id) for metric_id in metric_ids),
            number(row["latency_ms_median"]),
            number(row["latency_ms_p95"]),
            number(row["mp_s"]),
            " ".join(part for part in (row["backend"], row["precision"]) if part) or "–",
        ]
        for row in summary
    ]
    return headers, rows


def failures_by_image(failed: Iterable[tuple[str, str, str]]) -> dict[tuple[str, str], list[str]]:
    """(image, error) -> the models that failed with it, in order: one line per image and error."""
    groups: dict[tuple[str, str], list[str]] = {}
    for image, model, error in failed:
        groups.setdefault((image, error), []).append(model)
    return groups


def unavailable_notes(records: Sequence[dict[str, Any]]) -> list[str]:
    """'<metric> unavailable: <why>', once each, from the cells' notes (every cell repeats them)."""
    notes: dict[str, None] = {}
    for record in records:
        for note in (record.get("notes") or "").split("; "):
            if " unavailable: " in note:
                notes[note] = None
    return list(notes)


def summary_markdown(
    summary: Sequence[dict[str, Any]], metric_ids: Sequence[str], title: str, notes: Sequence[str] = ()
) -> str:
    headers, rows = summary_table(summary, metric_ids)
    lines = [f"# {title}", "", markdown_table(headers, rows)]
    lines += [
        "",
        f"Intervals: {INTERVAL}.",
        "Latency: per image, inference only (median and 95th percentile over the model's images). "
        "MP/s: the output megapixels of all its images over its total latency.",
    ]
    lines += [f"Flag ({row['model']}): {row['flag']}" for row in summary if row.get("flag")]
    lines += [f"Metric {note}" for note in notes]
    return "\n".join(lines) + "\n"
