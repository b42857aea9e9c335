"""The whole report page: summary table (sortable), quality-latency plot, per-image sliders, the recipe.

Every text put into the page is escaped; every picture is a data URI; the style and script are
inline. `write_report` writes the file under a hidden name and renames it into place.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from html import escape
from pathlib import Path
from typing import Any

from studio.batch.tables import summary_table
from studio.core.errors import UsageError
from studio.report.assets import SCRIPT, STYLE
from studio.report.gallery import image_section
from studio.report.plot import quality_latency_svg
from studio.report.run_data import RunData, load_run


def _sort_keys(row: dict[str, Any], metric_ids: list[str]) -> list[str]:
    """What each summary column sorts by: the number behind the shown text (empty: sorts last)."""
    numbers = [
        row["ok"],
        *(row[f"{m}_mean"] for m in metric_ids),
        *(row[k] for k in ("latency_ms_median", "latency_ms_p95", "mp_s")),
    ]
    return [row["model"], *("" if value is None else repr(float(value)) for value in numbers), ""]


def summary_section(data: RunData) -> str:
    headers, rows = summary_table(data.summary, data.metric_ids)
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in headers)
    body = []
    for row, shown in zip(data.summary, rows, strict=True):
        keys = _sort_keys(row, data.metric_ids)
        cells = "".join(
            f'<td data-sort="{escape(key)}"{" class=num" if 0 < index < len(shown) - 1 else ""}>{escape(text)}</td>'
            if key
            else f"<td>{escape(text)}</td>"
            for index, (text, key) in enumerate(zip(shown, keys, strict=True))
        )
        body.append(f'<tr data-model="{escape(row["model"])}">{cells}</tr>')
    interval = data.run.get("interval") or ""
    return (
        '<section id="summary"><h2>Per model</h2><p>Click a header to sort.</p>'
        f'<table class="sortable summary"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
        f"<p>{escape(f'Intervals: {interval}.' if interval else '')} Latency: per image, inference only. "
        "MP/s: output megapixels of all images over total latency.</p></section>"
    )


def plot_section(data: RunData) -> str:
    if not data.metric_ids:
        return '<section id="plot"><h2>Quality and latency</h2><p class="note">The run scored no metric.</p></section>'
    svg, left_out = quality_latency_svg(data.summary, data.metric_ids[0])
    notes = f'<p class="note">Not plotted (no value or latency): {escape(", ".join(left_out))}</p>' if left_out else ""
    return (
        f'<section id="plot"><h2>Quality and latency</h2>{svg or "<p class=note>Nothing to plot.</p>"}{notes}</section>'
    )


def images_section(data: RunData, max_pixels: int) -> str:
    if not data.outputs_saved:
        body = (
            '<p class="note">Outputs were not saved in this run: only the tables and the plot are shown '
            "(run `studio batch` with --save-outputs for the images).</p>"
        )
    else:
        body = "\n".join(image_section(data, image, index, max_pixels) for index, image in enumerate(data.images, 1))
    return f'<section id="images"><h2>Images</h2>{body}</section>'


def _value(value: Any) -> str:
    if value is None or value == {} or value == []:
        return "–"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def _list(pairs: list[tuple[str, Any]]) -> str:
    return "<dl>" + "".join(f"<dt>{escape(k)}</dt><dd>{escape(_value(v))}</dd>" for k, v in pairs) + "</dl>"


def recipe_section(data: RunData) -> str:
    """What was asked (request, dataset, ground truth), the machine and the versions, from run.json."""
    run = data.run
    request = [(key, value) for key, value in run["request"].items()]
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
    return (
        '<section id="recipe"><h2>Recipe</h2>'
        + _list(request)
        + "<h3>Dataset</h3>"
        + _list(source)
        + "<h3>Machine</h3>"
        + _list(list(machine.items()))
        + "<h3>Versions</h3>"
        + _list(versions)
        + "<h3>Sessions</h3>"
        + _list(sessions)
        + "</section>"
    )


def render(data: RunData, max_pixels: int) -> str:
    """The report's HTML text."""
    cells = data.run.get("cells") or {}
    title = f"Batch run {data.run_dir.name}"
    done, total = cells.get("finished", len(data.records)), cells.get("total", "?")
    made = datetime.now(timezone.utc).isoformat(timespec="seconds")
    line = (
        f"{len(data.images)} images × {len(data.models)} models · {done} of {total} cells, "
        f"{cells.get('failed', 0)} failed · run {data.run.get('state', '?')} · report made {made}"
    )
    body = "\n".join(
        [summary_section(data), plot_section(data), images_section(data, max_pixels), recipe_section(data)]
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{escape(title)}</h1><p>{escape(line)}</p>"
        f"{body}<script>{SCRIPT}</script></body></html>\n"
    )


def write_report(run_dir: Path, out: Path, max_pixels: int) -> RunData:
    """Read RUN_DIR, render and write the page atomically (hidden temporary file renamed over `out`)."""
    data = load_run(run_dir)
    text = render(data, max_pixels)
    temporary = out.with_name(f".{out.name}.partial")
    try:
        temporary.write_text(text, encoding="utf-8")
        with temporary.open("rb") as handle:
            os.fsync(handle.fileno())
        temporary.replace(out)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise UsageError(f"cannot write {out}: {exc.strerror or exc}") from None
    return data
