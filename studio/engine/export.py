"""Results -> pandas DataFrame, CSV, JSON and markdown (the same table everywhere)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from studio.engine.provenance import tool_info
from studio.metrics import FULL_REFERENCE
from studio.models.backends.devices import device_label

if TYPE_CHECKING:
    from studio.engine.results import Results


def _round(value: float | None, digits: int = 4) -> float | None:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None if value is None or math.isnan(value) else value
    return round(value, digits)


def timing_columns(results: Results) -> tuple[str, ...]:
    """The size and timing columns: "warm ms" only when models ran more than once (else it is always empty)."""
    repeated = results.request is not None and results.request.repeat > 1
    return ("output", "load ms", "latency ms", "first ms", *(("warm ms",) if repeated else ()), "MP/s", "peak MB")


def delta_column(metric_name: str) -> str:
    """A no-reference metric's change over the input: scored at the output's size, so the input is upscaled by
    bicubic where the model enlarges it and taken as it is where the model keeps its size."""
    return f"{metric_name} Δ vs input"


def results_records(results: Results) -> list[dict[str, Any]]:
    """One dict per model, every dict with the same keys in the same order: identity, size and timing
    (empty for a failed model), each metric (with its arrow) and its delta, flag, error, notes, and the
    parameters the model ran with (a dict; the CSV writes it as JSON text).

    "latency ms" is what MP/s is computed from: the median of the warm runs when repeated, else the first run.
    """
    columns = timing_columns(results)
    records = []
    for row in results.rows:
        record: dict[str, Any] = {
            "model": row.model_id,
            "name": row.name or row.model_id,
            "backend": row.backend,
            "precision": row.precision,
            "device": device_label(row.device, row.device_name),  # 'vulkan (NVIDIA ...)': which GPU ran it
            "vs fp32 dB": _round(row.fidelity_db, 1),  # a bf16/int8 form's PSNR against fp32 (empty: fp32)
            "scale": row.scale,
            **dict.fromkeys(columns),
        }
        if row.ok:
            width, height = row.output.size
            timings = {
                "output": f"{width}x{height}",
                "load ms": _round(row.load_ms, 1),
                "latency ms": _round(row.latency_ms, 1),
                "first ms": _round(row.first_ms, 1),
                "warm ms": _round(row.warm_ms, 1),
                "MP/s": _round(row.megapixels_per_s, 3),
                "peak MB": _round(row.peak_mb, 1),
            }
            record.update({key: timings[key] for key in columns})
        for spec in results.metrics:
            record[spec.label] = _round(row.metrics.get(spec.id))
            if spec.kind != FULL_REFERENCE:  # no-reference scores also compare with the input's own score
                record[delta_column(spec.name)] = _round(row.deltas.get(spec.id))
        record["flag"] = row.flag or ""
        record["error"] = row.error or ""
        record["notes"] = "; ".join(row.notes)
        record["params"] = dict(row.params)
        records.append(record)
    return records


PROVENANCE_COLUMNS = ("source", "tool", "machine", "cpu", "threads")


def provenance(results: Results) -> dict[str, Any]:
    """What every CSV row repeats so the file stands alone: input file, tool version, machine class, CPU, threads."""
    tool, machine = tool_info(), results.machine
    return {
        "source": results.source or "",
        "tool": f"{tool['name']} {tool['version']}",
        "machine": machine.get("class", ""),
        "cpu": machine.get("cpu", ""),
        "threads": machine.get("threads"),
    }


def results_frame(results: Results) -> pd.DataFrame:
    """The records as a table (what results.csv holds): the parameters become JSON text (one cell, read back
    with json.loads), and each row ends with the run's provenance (PROVENANCE_COLUMNS)."""
    records = results_records(results)
    where = provenance(results)
    for record in records:
        record["params"] = json.dumps(_json_safe(record["params"], "", []), sort_keys=True, ensure_ascii=False)
        record.update(where)
    return pd.DataFrame.from_records(records)


def results_json(results: Results) -> str:
    """Strict JSON (no NaN/Infinity: null, listed under "non_finite") with what repeating the run needs:
    the source file name, the request, the tool's version and the machine."""
    request = results.request
    payload = {
        "source": results.source,
        "source_sha256": results.source_sha256,
        "reference_source": results.reference_source,
        "tool": tool_info(),
        "machine": results.machine,
        "request": request.to_dict() if request is not None else None,
        "cancelled": results.cancelled,
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


def size_notes(results: Results) -> list[str]:
    """One sentence per grouping of scale-dependent no-reference scores that spans several output sizes.

    Full-reference scores need none: their rows carry a flag instead.
    """
    by_grouping: dict[str, list[str]] = {}
    for spec in results.metrics:
        if spec.kind == FULL_REFERENCE or not spec.scale_dependent:
            continue
        groups = results.groups(spec.id)
        if len(groups) > 1:
            sizes = "; ".join(
                f"{label.split()[0]}: {', '.join(row.model_id for row in rows)}" for label, rows in groups
            )
            by_grouping.setdefault(sizes, []).append(spec.label)
    return [
        f"{', '.join(labels)} {'depends' if len(labels) == 1 else 'depend'} on the image size: "
        f"compared only among outputs of one size ({sizes})."
        for sizes, labels in by_grouping.items()
    ]


def results_markdown(results: Results) -> str:
    """The table (flags in their column), then a note for each score only comparable within one size."""
    frame = results_frame(results)
    frame = frame.drop(columns=[c for c in PROVENANCE_COLUMNS if c in frame.columns]).astype(object).fillna("")
    header = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    cells = [[str(v).replace("|", "\\|") for v in row] for row in frame.itertuples(index=False)]
    lines = [header, rule] + ["| " + " | ".join(row) + " |" for row in cells]
    notes = size_notes(results) + ([f"Run {results.cancelled}."] if results.cancelled else [])
    return "\n".join([*lines, "", *notes, provenance_line(results)])


def provenance_line(results: Results) -> str:
    """One sentence under the markdown table: what ran where (the CSV repeats it on every row)."""
    where = provenance(results)
    source = f"`{where['source']}`" if where["source"] else "an unnamed input"
    cpu = f" ({where['cpu']})" if where["cpu"] else ""
    threads = f", {where['threads']} threads" if where["threads"] else ""
    return f"Input {source}; {where['tool']}; machine class {where['machine'] or 'unknown'}{cpu}{threads}."


RESULT_FILES = ("results.csv", "results.json")


def output_name(model_id: str, fmt: str, prefix: str = "") -> str:
    return f"{prefix}{model_id}.{fmt}"


def input_name(fmt: str, prefix: str = "") -> str:
    """The prepared (previewed, degraded) input the models ran on: not the source file."""
    return f"{prefix}input.{fmt}"


def run_file_names(model_ids: Iterable[str], fmt: str, prefix: str = "") -> set[str]:
    """Every name `write_run` may write: the outputs, the prepared input, results.csv and results.json.

    A front end that also keeps the source files next to them (for `compare --from`) checks these first.
    """
    return {*(output_name(model_id, fmt, prefix) for model_id in model_ids), input_name(fmt, prefix), *RESULT_FILES}


def format_for(size: tuple[int, int], fmt: str) -> str:
    """`fmt`, or "png" for an image wider or taller than a `fmt` file holds (WebP: 16383 px, JPEG: 65535 px):
    the download is never lost to a format limit after the work is done."""
    from studio.core.media import ENCODE_FORMATS, MAX_ENCODE_SIDE

    limit = MAX_ENCODE_SIDE.get(ENCODE_FORMATS.get(fmt.lower(), ""))
    return "png" if limit is not None and max(size) > limit else fmt


def write_outputs(results: Results, folder: Path, fmt: str = "png", prefix: str = "") -> dict[str, Path]:
    """Each successful output as `<prefix><model id>.<fmt>` (.png where `fmt` cannot hold its size: see
    `format_for`); returns model id -> path."""
    from studio.core.media import encode

    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for row in results.rows:
        if row.ok:
            row_fmt = format_for(row.output.size, fmt)
            path = folder / output_name(row.model_id, row_fmt, prefix)
            path.write_bytes(encode(row.output, row_fmt))
            written[row.model_id] = path
    return written


def write_run(results: Results, folder: Path, fmt: str = "png", prefix: str = "") -> tuple[dict[str, Path], Path]:
    """The outputs, the enhancers' (prepared) input, results.csv and results.json; returns (outputs, csv path).

    The source file itself is not among them: the front ends copy it (see run_file_names).
    """
    from studio.core.media import encode

    outputs = write_outputs(results, folder, fmt, prefix)
    input_fmt = format_for(results.input.size, fmt)
    (folder / input_name(input_fmt, prefix)).write_bytes(encode(results.input, input_fmt))
    csv_name, json_name = RESULT_FILES
    csv_path = folder / csv_name
    results_frame(results).to_csv(csv_path, index=False)
    (folder / json_name).write_text(results_json(results), encoding="utf-8")
    return outputs, csv_path


ZIP_NAME = "enhance-studio-results.zip"  # a run's everything-in-one download (the page's, the demo cache's)
REPORT_PREFIX = "enhance-studio-report-"  # + time + .html: a run's HTML report
RENAMED_PREFIX = "run_"  # a run file whose name a source file takes in the zip is stored as run_<name>


def report_name(when: float) -> str:
    """The HTML report's file name for a run finished at `when` (seconds since the epoch, local time)."""
    import time

    return f"{REPORT_PREFIX}{time.strftime('%Y%m%d-%H%M%S', time.localtime(when))}.html"


def write_run_zip(folder: Path, sources: dict[str, Path]) -> Path:
    """ZIP_NAME in `folder`: every file of the run's folder (write_run's), and each source file under the name
    results.json records for it, byte for byte, so `studio compare --from results.json` repeats the run alone."""
    import zipfile

    zip_path = folder / ZIP_NAME
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.iterdir()):
            if path != zip_path:
                archive.write(path, RENAMED_PREFIX + path.name if path.name in sources else path.name)
        for name, path in sources.items():  # readable like the run's files (an upload's temp file may be 0600)
            entry = zipfile.ZipInfo.from_file(path, name)
            entry.external_attr = (0o644 & 0xFFFF) << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, path.read_bytes())
    return zip_path


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
