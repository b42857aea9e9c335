"""A cell's record: what the journal stores and the tables show, for a finished or a failed cell.

Numbers are kept as the engine measured them (no rounding), so the aggregates are the exact
means of the rows; the tables round nothing either.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from studio.models.backends.devices import device_label

if TYPE_CHECKING:
    from studio.engine.results import ModelResult, Results

# The table's columns after image, model and the metric ids (which come in the request's order).
COLUMNS = (
    "latency_ms",
    "mp_s",
    "output_size",
    "backend",
    "precision",
    "error",
    "device",
    "load_ms",
    "input_size",
    "flag",
    "notes",
    "source_sha256",
    "output_file",
)


def _number(value: float | None) -> float | None:
    """A plain float for JSON (a metric may hand back a numpy scalar)."""
    return None if value is None else float(value)


def _size(size: tuple[int, int]) -> str:
    return f"{size[0]}x{size[1]}"


def cell_record(image: str, row: ModelResult, results: Results, metric_ids: Sequence[str]) -> dict[str, Any]:
    """One model's row on one image, as the comparison engine made it."""
    ok = row.ok
    notes = list(row.notes)
    notes += [f"{metric_id} unavailable: {reason}" for metric_id, reason in results.unavailable.items()]
    if results.preview_note:
        notes.append(results.preview_note)
    return {
        "image": image,
        "model": row.model_id,
        "metrics": {metric_id: _number(row.metrics.get(metric_id)) for metric_id in metric_ids},
        "latency_ms": row.latency_ms if ok else None,
        "mp_s": row.megapixels_per_s,
        "output_size": _size(row.output.size) if ok else None,
        "backend": row.backend or None,
        "precision": row.precision or None,
        "error": row.error,
        "device": device_label(row.device, row.device_name) or None,
        "load_ms": row.load_ms if ok else None,
        "input_size": _size(results.input.size),
        "flag": row.flag,
        "notes": "; ".join(notes) or None,
        "source_sha256": results.source_sha256,
        "output_file": None,
    }


def failed_record(image: str, model: str, error: str, metric_ids: Sequence[str]) -> dict[str, Any]:
    """A cell that never produced a row: its image (or ground truth) could not be read or prepared."""
    record: dict[str, Any] = {"image": image, "model": model, "metrics": dict.fromkeys(metric_ids)}
    record.update(dict.fromkeys(COLUMNS))
    record["error"] = error
    return record


def table_row(record: dict[str, Any], metric_ids: Sequence[str]) -> dict[str, Any]:
    """The flat row of cells.csv / cells.parquet: image, model, each metric, then COLUMNS."""
    metrics = record.get("metrics") or {}
    row: dict[str, Any] = {"image": record["image"], "model": record["model"]}
    row.update({metric_id: metrics.get(metric_id) for metric_id in metric_ids})
    row.update({column: record.get(column) for column in COLUMNS})
    return row
