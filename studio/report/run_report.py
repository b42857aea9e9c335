"""A batch RUN_DIR as a report: the summary of `summary.csv` (with the batch's own statistics and table
text), the failed cells, the plot of the first metric's means, per image a slider between the input, the
reference and the saved outputs with the image's own cells, human ratings of the run's models, and the
recipe from run.json.

The input and the reference are rebuilt from the dataset with the engine's own `prepare` (preview, then
crop and the seeded degradation), so with --degrade the slider offers the very pixels the models received
next to the sharp original they were scored against; a dataset image whose pixels are no longer those the
run read (the cells' source_sha256) or whose rebuilt input has another size than the cells' input_size is
named in a note.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from studio.batch.tables import number, summary_table
from studio.core.degrade import Recipe
from studio.core.errors import StudioError
from studio.engine.inputs import prepare
from studio.engine.replay import pixels_sha256
from studio.metrics import get_metric
from studio.report.images import Loaded, detail_crops, load, read, thumbnail
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
from studio.report.page import made_at, render, write_page
from studio.report.ratings import ratings_view
from studio.report.run_data import RunData, load_run
from studio.report.run_recipe import recipe, state_line

if TYPE_CHECKING:
    from studio.ratings.store import Database


def summary(data: RunData) -> Table:
    """The rows of summary.md; each number column sorts by the number behind its text. A flagged model (its
    outputs scored against a reference of another scale) is marked, and a last column says why."""
    headers, rows = summary_table(data.summary, data.metric_ids)
    directions = [
        None,
        "higher",  # ok/cells: the most cells that ran
        *(better(get_metric(m).lower_better) for m in data.metric_ids),
        "lower",
        "lower",
        "higher",  # MP/s
        None,
    ]
    flagged = any(row.get("flag") for row in data.summary)
    table_rows = []
    for row, shown in zip(data.summary, rows, strict=True):
        numbers = [
            row["ok"],
            *(row[f"{m}_mean"] for m in data.metric_ids),
            *(row[k] for k in ("latency_ms_median", "latency_ms_p95", "mp_s")),
        ]
        name = f"{shown[0]} {FLAG_MARK}" if row.get("flag") else shown[0]
        cells = [
            Cell(name),
            *(number_cell(text, value) for text, value in zip(shown[1:-1], numbers, strict=True)),
            Cell(shown[-1]),
        ]
        if flagged:
            cells.append(Cell(f"{FLAG_MARK} {row['flag']}" if row.get("flag") else ""))
        table_rows.append((row["model"], cells))
    if flagged:
        headers, directions = [*headers, "not comparable"], [*directions, None]
    return Table(headers, table_rows, css="summary", better=directions)


def failures(data: RunData) -> Table | None:
    """The failed cells, one row per image and error (batch's own grouping, as `studio batch` prints them)."""
    failed = [(r["image"], r["model"], r["error"]) for r in data.records if r.get("error")]
    return failures_table(failed, data.models)


def _cells_table(data: RunData, image: str) -> Table:
    """The image's row per model: each metric, latency, output size, error (a flagged model marked)."""
    heads = ["model", *(get_metric(m).label for m in data.metric_ids), "latency ms", "output", "error"]
    rows = []
    for model in data.models:
        cell = data.cell(image, model)
        if cell is None:
            continue
        metrics = cell.get("metrics") or {}
        values = [metrics.get(m) for m in data.metric_ids]
        cells = [
            Cell(f"{model} {FLAG_MARK}" if cell.get("flag") else model),
            *(number_cell(number(v), v) for v in values),
            number_cell(number(cell.get("latency_ms")), cell.get("latency_ms")),
            Cell(cell.get("output_size") or "–", numeric=True),
            Cell(cell.get("error") or ""),
        ]
        rows.append(("", cells))
    return Table(heads, rows, css="cells", sortable=False)


def _recorded(data: RunData, image: str, key: str) -> str | None:
    """What the image's cells recorded under `key` (source_sha256, input_size), the first that did."""
    return next((r[key] for r in data.records if r["image"] == image and r.get(key)), None)


def run_inputs(data: RunData, image: str, max_pixels: int) -> tuple[list[Loaded], list[str]]:
    """What the run compared for `image` besides the outputs, rebuilt as the engine built it, and notes.

    With --degrade: the degraded input the models received and the sharp original (cropped to the scale)
    they were scored against; with --pairs: the dataset image (the models' input) and its ground truth;
    else the input alone. Each at the run's preview size, by `engine.inputs.prepare` itself.
    """
    text = data.run["request"].get("degrade")  # the recipe as the run wrote it (Recipe.to_text)
    inputs, reference = input_label(text), reference_label(text)
    try:
        recipe = Recipe.parse(text) if text else None
    except StudioError as exc:
        return [Loaded(inputs, None, f"cannot be rebuilt ({str(exc).splitlines()[0]})")], []
    image_path = data.dataset_path(image)
    decoded, problem = read(image_path, max_pixels)
    if decoded is None:  # the reference of a degradation is made from it too: one note says why neither shows
        return [Loaded(inputs, None, problem)], []
    truth = None
    loaded_truth: list[Loaded] = []
    pairs = data.run.get("pairs")
    if pairs and image_path is not None:
        truth, problem = read(Path(pairs) / image_path.name, max_pixels)
        if truth is None:
            loaded_truth = [Loaded(reference, None, problem)]
    notes = []
    recorded = _recorded(data, image, "source_sha256")
    if recorded and recorded != pixels_sha256(decoded.rgb):
        notes.append(
            f"{image_path} is no longer the image the run read (its pixels differ): the {inputs} and "
            "reference shown are rebuilt from the file as it is now"
        )
    try:
        model_input, sharp, _ = prepare(decoded, truth, recipe, data.run["request"].get("preview"))
    except StudioError as exc:
        return [Loaded(inputs, None, f"cannot be rebuilt ({str(exc).splitlines()[0]})")], notes
    size = "x".join(map(str, model_input.size))
    recorded = _recorded(data, image, "input_size")
    if recorded and recorded != size and not notes:
        notes.append(f"the {inputs} rebuilt from {image_path} is {size}, not the {recorded} the run recorded")
    loaded = [Loaded(inputs, model_input.rgb)]
    loaded += [Loaded(reference, sharp)] if sharp is not None else loaded_truth
    return loaded, notes


def image_entry(data: RunData, image: str, max_pixels: int) -> ImageEntry:
    """The input the models received, the reference (when there is one), then each model's saved output."""
    loaded, notes = run_inputs(data, image, max_pixels)
    first_output = len(loaded)
    for model in data.models:
        cell = data.cell(image, model)
        if cell is None or cell.get("error"):
            continue
        relative = cell.get("output_file") or f"outputs/{model}/{Path(image).stem}.png"
        loaded.append(load(model, data.run_dir / relative, max_pixels))
    crops, crop_note = detail_crops(loaded)
    pictures = [thumbnail(p) for p in loaded]
    return ImageEntry(image, pictures, crops, crop_note, notes, _cells_table(data, image), first_output)


def run_ratings(data: RunData, open_store: Callable[[], Database | None]) -> RatingsView:
    means = {row["model"]: {m: row[f"{m}_mean"] for m in data.metric_ids} for row in data.summary}
    flagged = [row["model"] for row in data.summary if row.get("flag")]
    return ratings_view(open_store, data.models, means, data.metric_ids, "its mean over this run's images", flagged)


def run_report(data: RunData, max_pixels: int, ratings: RatingsView | None = None) -> Report:
    listed = len((data.run.get("dataset") or {}).get("images") or data.images)  # the dataset's, finished or not
    line = f"{listed} images × {len(data.models)} models · {state_line(data)} · report made {made_at()}"
    interval = data.run.get("interval") or ""
    summary_lines = [
        f"{f'Intervals: {interval}. ' if interval else ''}Latency: per image, inference only. "
        "MP/s: output megapixels of all images over total latency."
    ]
    metric = data.metric_ids[0] if data.metric_ids else None
    points = [
        Point(row["model"], row["latency_ms_median"], row.get(f"{metric}_mean"), row.get("flag"))
        for row in data.summary
    ]
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
        failures=failures(data),
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
