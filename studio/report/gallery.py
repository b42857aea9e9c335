"""Per image: a before/after slider between any two of {input, each model's output}, and the image's cells.

The pictures sit once in a strip of labelled thumbnails (each a data URI); the slider's two images
take their source from the strip when the selects change, so no picture is embedded twice.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from studio.batch.tables import number
from studio.metrics import get_metric
from studio.report.images import Picture, picture
from studio.report.run_data import RunData

DISPLAY_SIDE = 512


def image_pictures(data: RunData, image: str, max_pixels: int) -> list[Picture]:
    """The input (the dataset image at the run's preview) then each model's saved output, in model order."""
    preview = data.run["request"].get("preview")
    pictures = [picture("input", data.dataset_path(image), max_pixels, preview)]
    for model in data.models:
        cell = data.cell(image, model)
        if cell is None or cell.get("error"):
            continue
        relative = cell.get("output_file") or f"outputs/{model}/{Path(image).stem}.png"
        pictures.append(picture(model, data.run_dir / relative, max_pixels))
    return pictures


def _options(pictures: list[Picture], selected: int, css: str) -> str:
    options = "".join(
        f'<option value="{index}"{" selected" if index == selected else ""}>{escape(p.label)}</option>'
        for index, p in enumerate(pictures)
    )
    return f'<select class="{css}" aria-label="{css} picture">{options}</select>'


def _cells_table(data: RunData, image: str) -> str:
    """The image's row per model: each metric, latency, output size, error."""
    heads = ["model", *(get_metric(m).label for m in data.metric_ids), "latency ms", "output", "error"]
    rows = []
    for model in data.models:
        cell = data.cell(image, model)
        if cell is None:
            continue
        metrics = cell.get("metrics") or {}
        values = [number(metrics.get(m)) for m in data.metric_ids]
        cells = [escape(model), *values, number(cell.get("latency_ms")), cell.get("output_size") or "–"]
        row = "".join(f"<td>{cells[0]}</td>" + "".join(f'<td class="num">{escape(v)}</td>' for v in cells[1:]))
        rows.append(f"<tr>{row}<td>{escape(cell.get('error') or '')}</td></tr>")
    header = "".join(f"<th>{escape(h)}</th>" for h in heads)
    return f'<table class="cells"><thead><tr>{header}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _slider(shown: list[Picture], image: str) -> str:
    """Two selects, two stacked images (filled in by the page's script from the strip), the range input."""
    width, height = shown[0].size
    zoom = max(1, DISPLAY_SIDE // max(width, height, 1))  # small pictures enlarged by a whole factor
    return (
        f'<div class="controls">left {_options(shown, 0, "left")} · right {_options(shown, 1, "right")}</div>'
        f'<div class="stage" style="width:{width * zoom}px;max-width:100%">'
        f'<div class="slider" style="aspect-ratio:{width}/{height}">'
        '<img class="under" alt="" draggable="false"><img class="top" alt="" draggable="false">'
        '<div class="divider"></div><span class="tag left"></span><span class="tag right"></span></div>'
        '<div class="controls"><input type="range" min="0" max="100" step="0.1" value="50" '
        f'aria-label="split of {escape(image)}"></div></div>'
    )


def image_section(data: RunData, image: str, index: int, max_pixels: int) -> str:
    """One image's heading, slider (when two pictures can be shown), picture strip, notes and cells."""
    pictures = image_pictures(data, image, max_pixels)
    shown = [p for p in pictures if p.uri]
    notes = [f"{p.label}: {p.problem}" for p in pictures if p.problem]
    parts = [f'<section class="image" id="image-{index}"><h3>{escape(image)}</h3>']
    strip = "".join(
        f'<figure><img src="{p.uri}" alt="{escape(p.label)}" width="{p.size[0]}" height="{p.size[1]}">'
        f"<figcaption>{escape(p.label)}</figcaption></figure>"
        for p in shown
    )
    if len(shown) >= 2:
        parts.append(f'<div class="compare">{_slider(shown, image)}<div class="strip">{strip}</div></div>')
    else:
        parts.append(f'<div class="strip">{strip}</div>' if strip else "")
        notes.append("fewer than two pictures of this image: nothing to compare")
    parts += [f'<p class="note">{escape(note)}</p>' for note in notes]
    parts.append(_cells_table(data, image))
    parts.append("</section>")
    return "\n".join(parts)
