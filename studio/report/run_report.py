"""A batch RUN_DIR as a report: the summary of `summary.csv` (with the batch's own statistics and table
text), the plot of the first metric's means, per image a slider between the input and the saved outputs
with the image's own cells, human ratings of the run's models, and the recipe from run.json.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studio.batch.tables import number, summary_table
from studio.metrics import get_metric
from studio.report.images import detail_crops, load, thumbnail
from studio.report.model import Cell, ImageEntry, Plot, Point, RatingsView, Report, Table, number_cell
from studio.report.page import made_at, render, write_page
from studio.report.ratings import ratings_view
from studio.report.run_data import RunData, load_run

if TYPE_CHECKING:
    from studio.ratings.store import Database


def summary(data: RunData) -> Table:
    """The rows of summary.md; each number column sorts by the number behind its text."""
    headers, rows = summary_table(data.summary, data.metric_ids)
    table_rows = []
    for row, shown in zip(data.summary, rows, strict=True):
        numbers = [
            row["ok"],
            *(row[f"{m}_mean"] for m in data.metric_ids),
            *(row[k] for k in ("latency_ms_median", "latency_ms_p95", "mp_s")),
        ]
        cells = [
            Cell(shown[0]),
            *(number_cell(text, value) for text, value in zip(shown[1:-1], numbers, strict=True)),
            Cell(shown[-1]),
        ]
        table_rows.append((row["model"], cells))
    return Table(headers, table_rows, css="summary")


def _cells_table(data: RunData, image: str) -> Table:
    """The image's row per model: each metric, latency, output size, error."""
    heads = ["model", *(get_metric(m).label for m in data.metric_ids), "latency ms", "output", "error"]
    rows = []
    for model in data.models:
        cell = data.cell(image, model)
        if cell is None:
            continue
        metrics = cell.get("metrics") or {}
        values = [metrics.get(m) for m in data.metric_ids]
        cells = [
            Cell(model),
            *(number_cell(number(v), v) for v in values),
            number_cell(number(cell.get("latency_ms")), cell.get("latency_ms")),
            Cell(cell.get("output_size") or "–", numeric=True),
            Cell(cell.get("error") or ""),
        ]
        rows.append(("", cells))
    return Table(heads, rows, css="cells", sortable=False)


def image_entry(data: RunData, image: str, max_pixels: int) -> ImageEntry:
    """The input (the dataset image at the run's preview) then each model's saved output, in model order."""
    preview = data.run["request"].get("preview")
    loaded = [load("input", data.dataset_path(image), max_pixels, preview)]
    for model in data.models:
        cell = data.cell(image, model)
        if cell is None or cell.get("error"):
            continue
        relative = cell.get("output_file") or f"outputs/{model}/{Path(image).stem}.png"
        loaded.append(load(model, data.run_dir / relative, max_pixels))
    crops, crop_note = detail_crops(loaded)
    return ImageEntry(image, [thumbnail(p) for p in loaded], crops, crop_note, cells=_cells_table(data, image))


def recipe(data: RunData) -> list[tuple[str, list[tuple[str, Any]]]]:
    """What was asked (request, dataset, ground truth), the machine and the versions, from run.json."""
    run = data.run
    dataset = run.get("dataset") or {}
    images = dataset.get("images") or []
    source = [("source", dataset.get("source")), ("kind", dataset.get("kind")), ("images", len(images))]
    source += [("ground truth (--pairs)", run.get("pairs")), ("outputs saved", run.get("save_outputs"))]
    machine = dict(run.get("machine") or {})
    runtimes = machine.pop("runtimes", {}) or {}
    tool = run.get("tool") or {}
    versions = [("tool", f"{tool.get('name', '?')} {tool.get('version', '?')}"), *sorted(runtimes.items())]
    sessions = [
        (s.get("started", "?"), f"{s.get('state', '?')}, {s.get('cells_run', '?')} cells run")
        for s in run.get("sessions") or []
    ]
    return [
        ("Recipe", list(run["request"].items())),
        ("Dataset", source),
        ("Machine", list(machine.items())),
        ("Versions", versions),
        ("Sessions", sessions),
    ]


def run_ratings(data: RunData, open_store: Callable[[], Database | None]) -> RatingsView:
    means = {row["model"]: {m: row[f"{m}_mean"] for m in data.metric_ids} for row in data.summary}
    flagged = [row["model"] for row in data.summary if row.get("flag")]
    return ratings_view(open_store, data.models, means, data.metric_ids, "its mean over this run's images", flagged)


def run_report(data: RunData, max_pixels: int, ratings: RatingsView | None = None) -> Report:
    cells = data.run.get("cells") or {}
    done, total = cells.get("finished", len(data.records)), cells.get("total", "?")
    line = (
        f"{len(data.images)} images × {len(data.models)} models · {done} of {total} cells, "
        f"{cells.get('failed', 0)} failed · run {data.run.get('state', '?')} · report made {made_at()}"
    )
    interval = data.run.get("interval") or ""
    summary_lines = [
        f"{f'Intervals: {interval}. ' if interval else ''}Latency: per image, inference only. "
        "MP/s: output megapixels of all images over total latency."
    ]
    metric = data.metric_ids[0] if data.metric_ids else None
    points = [Point(row["model"], row["latency_ms_median"], row.get(f"{metric}_mean")) for row in data.summary]
    if data.outputs_saved:
        images = [image_entry(data, image, max_pixels) for image in data.images]
        note = ""
    else:
        images = None
        note = (
            "Outputs were not saved in this run: only the tables and the plot are shown "
            "(run `studio batch` with --save-outputs for the images)."
        )
    return Report(
        title=f"Batch run {data.run_dir.name}",
        line=line,
        summary=summary(data),
        summary_lines=summary_lines,
        plot=Plot(metric, points),
        images=images,
        images_note=note,
        ratings=ratings,
        recipe=recipe(data),
    )


def write_report(
    run_dir: Path, out: Path, max_pixels: int, open_store: Callable[[], Database | None] | None = None
) -> RunData:
    """Read RUN_DIR, render and write the page atomically. With `open_store` (the ratings store, or None
    when there is none), the page has a section on the human ratings of the run's models."""
    data = load_run(run_dir)
    ratings = run_ratings(data, open_store) if open_store is not None else None
    write_page(render(run_report(data, max_pixels, ratings)), out)
    return data
