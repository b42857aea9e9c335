"""One comparison (the Compare tab's Results) as a report: the page a batch run gets, for one image.

The table holds the numbers results.csv holds (engine.export.results_records), the best value of each
metric highlighted within the rows it may be compared with (Results.best); the slider picks any two of
the input, the reference and the outputs; the recipe is results.json's request, input, machine and
versions. Human ratings of the compared models come from the ratings store when one is given.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from studio.batch.tables import number
from studio.engine.export import results_records, size_notes
from studio.engine.provenance import tool_info
from studio.engine.results import Results
from studio.metrics import FULL_REFERENCE, MetricSpec
from studio.models.backends.devices import device_label
from studio.report.images import Loaded, detail_crops, thumbnail
from studio.report.model import (
    FLAG_MARK,
    Cell,
    ImageEntry,
    Plot,
    Point,
    RatingsView,
    Report,
    Table,
    better,
    failures_table,
    input_label,
    number_cell,
    reference_label,
)
from studio.report.page import made_at, render
from studio.report.ratings import ratings_view

if TYPE_CHECKING:
    from studio.ratings.store import Database


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def shown_metrics(results: Results) -> tuple[list[MetricSpec], list[str]]:
    """The metrics with a value for some model, and a sentence for each left out (why it has none)."""
    shown, notes = [], []
    for spec in results.metrics:
        if any(_finite(row.metrics.get(spec.id)) for row in results.rows if row.ok):
            shown.append(spec)
        elif spec.id in results.unavailable:
            notes.append(f"{spec.name}: unavailable here ({results.unavailable[spec.id]}).")
        elif spec.kind == FULL_REFERENCE and results.reference is None:
            notes.append(f"{spec.name}: needs a reference (a degradation recipe or a ground truth).")
        elif results.rows:
            notes.append(f"{spec.name}: no value for any model.")
    return shown, notes


def summary(results: Results, metrics: list[MetricSpec]) -> Table:
    """Per model: output size, latency, MP/s, each shown metric (best highlighted), backend, flag or error."""
    headers = ["model", "output", "latency ms", "MP/s", *(spec.label for spec in metrics), "backend", "notes"]
    directions = [None, None, "lower", "higher", *(better(spec.lower_better) for spec in metrics), None, None]
    best = {spec.id: results.best(spec.id) for spec in metrics}
    rows = []
    for row, record in zip(results.rows, results_records(results), strict=True):
        latency, speed = record["latency ms"], record["MP/s"]
        cells = [
            Cell(f"{row.model_id} {FLAG_MARK}" if row.ok and row.flag else row.model_id),
            Cell(record["output"] or "–"),
            number_cell(number(latency), latency),
            number_cell(number(speed), speed),
        ]
        for spec in metrics:
            value = row.metrics.get(spec.id) if row.ok else None
            value = value if _finite(value) else None
            cells.append(number_cell(number(value), value, best=row.model_id in best[spec.id]))
        notes = [f"failed: {row.error}" if row.error else "", f"{FLAG_MARK} {row.flag}" if row.flag else "", *row.notes]
        device = device_label(row.device, row.device_name)  # 'vulkan (NVIDIA ...)': which GPU ran it
        cells += [Cell(" ".join(p for p in (row.backend, row.precision, device) if p) or "–")]
        cells += [Cell("; ".join(note for note in notes if note))]
        rows.append((row.model_id, cells))
    return Table(headers, rows, css="summary", better=directions)


def failures(results: Results) -> Table | None:
    """The models that failed on the image, with their errors: the batch report's Failed cells, for one image."""
    image = results.source or "input"
    failed = [(image, row.model_id, row.error or "failed") for row in results.rows if not row.ok]
    return failures_table(failed, [row.model_id for row in results.rows])


def latency_name(results: Results) -> str:
    repeat = results.request.repeat if results.request is not None else 1
    return f"latency ms, median of {repeat - 1} warm runs" if repeat > 1 else "latency ms, first run after loading"


def image_entry(results: Results) -> ImageEntry:
    """The input the models ran on (the degraded copy with a recipe), the reference they were scored against
    (the sharp original, or the ground truth), then each successful output; named as the batch report names them."""
    recipe = results.recipe.to_text() if results.recipe else None
    loaded = [Loaded(input_label(recipe), results.input.rgb)]
    if results.reference is not None:
        loaded.append(Loaded(reference_label(recipe), results.reference))
    first_output = len(loaded)
    loaded += [Loaded(row.model_id, row.output.rgb) for row in results.rows if row.ok]
    crops, crop_note = detail_crops(loaded)
    notes = [f"{row.model_id}: failed ({row.error})" for row in results.rows if not row.ok]
    title = results.source or "input"
    pictures = [thumbnail(p) for p in loaded]
    return ImageEntry(title, pictures, crops, crop_note, notes, first_output=first_output)


def recipe(results: Results) -> list[tuple[str, list[tuple[str, Any]]]]:
    """results.json's request, the input it ran on, the machine and the versions."""
    request = list(results.request.to_dict().items()) if results.request is not None else []
    width, height = results.input.size
    source = [
        ("source", results.source),
        ("source pixels sha256", results.source_sha256),
        ("original size", "x".join(map(str, results.original_size))),
        ("input the models ran on", f"{width}x{height}"),
        ("preview", results.preview_note),
        ("degradation", results.recipe.to_text() if results.recipe else None),
        ("ground truth", results.reference_source),
        ("cancelled", results.cancelled),
    ]
    machine = dict(results.machine)
    runtimes = machine.pop("runtimes", {}) or {}
    tool = tool_info()
    versions = [("tool", f"{tool['name']} {tool['version']}"), *sorted(runtimes.items())]
    return [("Request", request), ("Input", source), ("Machine", list(machine.items())), ("Versions", versions)]


def comparison_ratings(results: Results, open_store: Callable[[], Database | None]) -> RatingsView:
    metric_ids = [spec.id for spec in results.metrics]
    means = {row.model_id: dict(row.metrics) for row in results.rows if row.ok}
    models = [row.model_id for row in results.rows]
    flagged = [row.model_id for row in results.rows if row.ok and row.flag]
    return ratings_view(open_store, models, means, metric_ids, "its value on this image", flagged)


def comparison_report(results: Results, ratings: RatingsView | None = None) -> Report:
    metrics, metric_notes = shown_metrics(results)
    done = sum(row.ok for row in results.rows)
    width, height = results.input.size
    parts = [
        f"{len(results.rows)} model{'' if len(results.rows) == 1 else 's'} on "
        f"{results.source or 'an unnamed input'} ({width}x{height} as run)",
        f"{done} ran, {len(results.rows) - done} failed",
        results.cancelled or "",
        f"report made {made_at()}",
    ]
    metric = metrics[0].id if metrics else None
    points = [
        Point(
            row.model_id,
            row.latency_ms if row.ok else None,
            row.metrics.get(metric) if row.ok else None,
            row.flag if row.ok else None,
        )
        for row in results.rows
    ]
    groups = results.groups(metric) if metric else []
    plot_notes = []  # a flagged point is drawn hollow and named in the plot's legend
    if len(groups) > 1:
        sizes = "; ".join(f"{label}: {', '.join(row.model_id for row in rows)}" for label, rows in groups)
        plot_notes = [f"{metrics[0].name} may only be compared among outputs of one size ({sizes})."]
    summary_lines = [
        "Latency: inference only, per model; MP/s: output megapixels per second. "
        "The best value of each metric is highlighted among the outputs it may be compared with.",
        *metric_notes,
        *size_notes(results),
    ]
    return Report(
        title=f"Comparison of {results.source or 'an image'}",
        line=" · ".join(part for part in parts if part),
        summary=summary(results, metrics),
        summary_lines=summary_lines,
        plot=Plot(metric, points, latency_name(results), "", plot_notes),
        images=[image_entry(results)],
        images_note=results.preview_note or "",
        ratings=ratings,
        recipe=recipe(results),
        failures=failures(results),
    )


def comparison_page(results: Results, open_store: Callable[[], Database | None] | None = None) -> str:
    """The HTML text of one comparison's report; with `open_store` (the ratings store, or None when there is
    none), a section on the human ratings of the compared models."""
    ratings = comparison_ratings(results, open_store) if open_store is not None else None
    return render(comparison_report(results, ratings))
