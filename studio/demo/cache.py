"""One example's precomputed comparison, stored in a folder and read back exactly.

A folder under STUDIO_DATA_DIR/demo holds `entry.json` (what was built, when, from what key, and the
Results' every field at full precision: NaN and infinity included), the prepared input, reference and
each output as lossless PNG (with alpha where there is one), and what the page shows ready-made:
`display/` (every picture the sliders, the zoom viewer and the gallery show, as the page names them)
and `downloads/` (outputs, CSV, JSON, the zip and the HTML report). Loading decodes PNGs and reads
JSON, and never runs a model.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from studio.core.config import Settings
from studio.core.degrade import Recipe
from studio.core.media import DecodedImage, decode, encode
from studio.demo.examples import FORMAT_VERSION, PlannedExample
from studio.engine.request import CompareRequest
from studio.engine.results import ModelResult, Results
from studio.metrics import get_metric

FOLDER = "demo"  # under STUDIO_DATA_DIR
ENTRY_FILE = "entry.json"
INPUT_FILE, REFERENCE_FILE = "input.png", "reference.png"
OUTPUTS, DISPLAY, DOWNLOADS = "outputs", "display", "downloads"


@dataclass(frozen=True)
class Entry:
    """A stored example: its folder, key and what it was built from, and the names of its ready-made files."""

    folder: Path
    key: str
    example: str
    preset: str
    models: tuple[str, ...]
    built_at: float  # seconds since the epoch
    seconds: float  # how long the build took (models and files)
    display: tuple[str, ...] = ()  # file names in display/
    outputs: tuple[str, ...] = ()  # the outputs' file names in downloads/, in row order
    csv: str = ""
    zip: str = ""
    report: str = ""
    record: dict[str, Any] = field(default_factory=dict, repr=False)  # the Results, as entry.json holds them

    def results(self) -> Results:
        """The stored Results, decoded from the folder."""
        return load_results(self.record, self.folder)


def _image_record(image: DecodedImage, path: Path) -> dict[str, Any]:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(encode(image, "png"))  # lossless, with the alpha plane when there is one
    return {"file": path.name, "format": image.source_format}


def _read_image(folder: Path, record: dict[str, Any]) -> DecodedImage:
    image = decode(folder / record["file"], max_pixels=2**40)  # ours: written by _image_record
    return DecodedImage(rgb=image.rgb, alpha=image.alpha, source_format=record["format"])


def _request_record(request: CompareRequest | None) -> dict[str, Any] | None:
    if request is None:
        return None
    record = {f.name: getattr(request, f.name) for f in fields(CompareRequest)}
    record["recipe"] = _recipe_record(request.recipe)
    record["params"] = {model_id: dict(values) for model_id, values in request.params.items()}
    return record


def _recipe_record(recipe: Recipe | None) -> dict[str, Any] | None:
    return {f.name: getattr(recipe, f.name) for f in fields(Recipe)} if recipe is not None else None


def _recipe(record: dict[str, Any] | None) -> Recipe | None:
    return Recipe(**record) if record is not None else None


def save_results(results: Results, folder: Path) -> dict[str, Any]:
    """Write the images of `results` into `folder` and return the rest as JSON-ready values (entry.json's
    "results"); `load_results` turns both back into equal Results."""
    rows = []
    for index, row in enumerate(results.rows):
        values = {f.name: getattr(row, f.name) for f in fields(ModelResult) if f.name != "output"}
        if row.output is not None:
            values["output"] = _image_record(row.output, folder / OUTPUTS / f"{index}-{row.model_id}.png")
        rows.append(values)
    reference = None
    if results.reference is not None:
        reference = _image_record(DecodedImage(rgb=results.reference), folder / REFERENCE_FILE)
    return {
        "input": _image_record(results.input, folder / INPUT_FILE),
        "reference": reference,
        "metrics": [spec.id for spec in results.metrics],
        "rows": rows,
        "recipe": _recipe_record(results.recipe),
        "original_size": list(results.original_size),
        "preview_note": results.preview_note,
        "unavailable": dict(results.unavailable),
        "request": _request_record(results.request),
        "source": results.source,
        "source_sha256": results.source_sha256,
        "reference_source": results.reference_source,
        "cancelled": results.cancelled,
        "machine": dict(results.machine),
    }


def load_results(record: dict[str, Any], folder: Path) -> Results:
    """The Results `save_results` stored in `folder` (its returned `record`)."""
    rows = []
    for values in record["rows"]:
        values = dict(values)
        output = values.pop("output", None)
        rows.append(ModelResult(**values, output=_read_image(folder / OUTPUTS, output) if output else None))
    request = record["request"]
    if request is not None:
        request = dict(request)
        request["recipe"] = _recipe(request["recipe"])
        request["model_ids"], request["metric_ids"] = tuple(request["model_ids"]), tuple(request["metric_ids"])
        request = CompareRequest(**request)
    reference = _read_image(folder, record["reference"]).rgb if record["reference"] else None
    return Results(
        input=_read_image(folder, record["input"]),
        reference=reference,
        metrics=[get_metric(metric_id) for metric_id in record["metrics"]],
        rows=rows,
        recipe=_recipe(record["recipe"]),
        original_size=tuple(record["original_size"]),
        preview_note=record["preview_note"],
        unavailable=dict(record["unavailable"]),
        request=request,
        source=record["source"],
        source_sha256=record["source_sha256"],
        reference_source=record["reference_source"],
        cancelled=record["cancelled"],
        machine=dict(record["machine"]),
    )


def write_entry(entry: Entry) -> None:
    """entry.json, written last: a folder without it is not an entry (a build that stopped half-way)."""
    payload = {
        "format": FORMAT_VERSION,
        **{f.name: getattr(entry, f.name) for f in fields(Entry) if f.name not in ("folder", "record")},
        "results": entry.record,
    }
    (entry.folder / ENTRY_FILE).write_text(json.dumps(payload, indent=1), encoding="utf-8")


def read_entry(folder: Path, key: str | None = None) -> Entry | None:
    """The entry in `folder`, or None when there is none, it is of another format, or its key is not `key`."""
    try:
        payload = json.loads((folder / ENTRY_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT_VERSION:
        return None
    if key is not None and payload.get("key") != key:
        return None
    try:
        return Entry(
            folder=folder,
            key=payload["key"],
            example=payload["example"],
            preset=payload["preset"],
            models=tuple(payload["models"]),
            built_at=float(payload["built_at"]),
            seconds=float(payload["seconds"]),
            display=tuple(payload["display"]),
            outputs=tuple(payload["outputs"]),
            csv=payload["csv"],
            zip=payload["zip"],
            report=payload["report"],
            record=payload["results"],
        )
    except (KeyError, TypeError, ValueError):
        return None


def demo_dir(settings: Settings) -> Path:
    """Where the entries live: STUDIO_DATA_DIR/demo (never served by the web app: see ui/app.py blocked_paths)."""
    return settings.data_dir / FOLDER


def fresh_entry(settings: Settings, plan: PlannedExample) -> Entry | None:
    """The stored entry of `plan` when it was built for its current key, else None (missing or stale)."""
    return read_entry(demo_dir(settings) / plan.folder_name, plan.key)
