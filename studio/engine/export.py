"""Results -> pandas DataFrame, CSV, JSON and markdown (the same table everywhere)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from studio.metrics import FULL_REFERENCE

if TYPE_CHECKING:
    from studio.engine.results import Results


def _round(value: float | None, digits: int = 4) -> float | None:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None if value is None or math.isnan(value) else value
    return round(value, digits)


TIMING_COLUMNS = ("output", "load ms", "first ms", "warm ms", "MP/s", "peak MB")


def results_records(results: Results) -> list[dict[str, Any]]:
    """One dict per model, every dict with the same keys in the same order: identity, size and timing
    (empty for a failed model), each metric (with its arrow) and its delta, error, notes."""
    records = []
    for row in results.rows:
        record: dict[str, Any] = {
            "model": row.model_id,
            "backend": row.backend,
            "precision": row.precision,
            "device": row.device,
            **dict.fromkeys(TIMING_COLUMNS),
        }
        if row.ok:
            width, height = row.output.size
            record.update(
                {
                    "output": f"{width}x{height}",
                    "load ms": _round(row.load_ms, 1),
                    "first ms": _round(row.first_ms, 1),
                    "warm ms": _round(row.warm_ms, 1),
                    "MP/s": _round(row.megapixels_per_s, 3),
                    "peak MB": _round(row.peak_mb, 1),
                }
            )
        for spec in results.metrics:
            record[spec.label] = _round(row.metrics.get(spec.id))
            if spec.kind != FULL_REFERENCE:  # no-reference scores also compare with the bicubic baseline
                record[f"{spec.name} Δ vs bicubic"] = _round(row.deltas.get(spec.id))
        record["error"] = row.error or ""
        record["notes"] = "; ".join(row.notes)
        records.append(record)
    return records


def results_frame(results: Results) -> pd.DataFrame:
    return pd.DataFrame.from_records(results_records(results))


def results_json(results: Results) -> str:
    payload = {
        "input_size": list(results.input.size),
        "original_size": list(results.original_size),
        "preview": results.preview_note,
        "degradation": results.recipe.to_dict() if results.recipe else None,
        "metrics": {
            s.id: {
                "name": s.name,
                "kind": s.kind,
                "lower_better": s.lower_better,
                "range": list(s.value_range),
                "unavailable": results.unavailable.get(s.id),
            }
            for s in results.metrics
        },
        "rows": results_records(results),
    }
    notes: list[str] = []
    payload = _json_safe(payload, "", notes)
    payload["non_finite"] = notes  # where a number was infinite or NaN and is written as null
    return json.dumps(payload, indent=2, ensure_ascii=False, default=str, allow_nan=False)


def _json_safe(value: Any, where: str, notes: list[str]) -> Any:
    """`value` with every infinite or NaN float replaced by None (strict JSON), noting each place."""
    if isinstance(value, float) and not math.isfinite(value):
        notes.append(f"{where.lstrip('.')}: {value}")
        return None
    if isinstance(value, dict):
        return {key: _json_safe(item, f"{where}.{key}", notes) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item, f"{where}[{index}]", notes) for index, item in enumerate(value)]
    return value


def results_markdown(results: Results) -> str:
    frame = results_frame(results).astype(object).fillna("")
    header = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    lines = [header, rule] + ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def write_outputs(results: Results, folder: Path, fmt: str = "png", prefix: str = "") -> dict[str, Path]:
    """Each successful output as `<prefix><model id>.<fmt>`; returns model id -> path."""
    from studio.core.media import encode

    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for row in results.rows:
        if row.ok:
            path = folder / f"{prefix}{row.model_id}.{fmt}"
            path.write_bytes(encode(row.output, fmt))
            written[row.model_id] = path
    return written


def write_run(results: Results, folder: Path, fmt: str = "png", prefix: str = "") -> tuple[dict[str, Path], Path]:
    """The outputs, the enhancers' input, results.csv and results.json; returns (outputs, csv path)."""
    from studio.core.media import encode

    outputs = write_outputs(results, folder, fmt, prefix)
    (folder / f"{prefix}input.{fmt}").write_bytes(encode(results.input, fmt))
    csv_path = folder / "results.csv"
    results_frame(results).to_csv(csv_path, index=False)
    (folder / "results.json").write_text(results_json(results), encoding="utf-8")
    return outputs, csv_path


def rating_item(results: Results) -> tuple[bytes, dict[str, bytes], dict[str, dict[str, float | None]]]:
    """What the store keeps of one comparison: the input raters see (PNG), each output (PNG) and its metrics."""
    from studio.core.media import encode

    rows = [row for row in results.rows if row.ok]
    outputs = {row.model_id: encode(row.output, "png") for row in rows}
    metrics = {
        row.model_id: {key: None if value is None else float(value) for key, value in row.metrics.items()}
        for row in rows
    }
    return encode(results.input, "png"), outputs, metrics
