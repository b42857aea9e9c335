"""One image's section: a before/after slider between any two of its pictures, the same region of each
(when there are crops), notes, and the image's own table.

The pictures sit once in a strip of labelled thumbnails (each a data URI); the slider's two images
take their source from the strip when the selects change, so no picture is embedded twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from studio.report.html import table_html
from studio.report.images import Picture
from studio.report.model import ImageEntry

DISPLAY_SIDE = 512


def _options(pictures: Sequence[Picture], selected: int, css: str) -> str:
    options = "".join(
        f'<option value="{index}"{" selected" if index == selected else ""}>{escape(p.label)}</option>'
        for index, p in enumerate(pictures)
    )
    return f'<select class="{css}" aria-label="{css} picture">{options}</select>'


def _slider(shown: Sequence[Picture], what: str, right: int = 1) -> str:
    """Two selects (left: the first picture, right: picture `right`), two stacked images (filled in by the
    page's script from the strip), the range input."""
    width, height = shown[0].size
    zoom = max(1, DISPLAY_SIDE // max(width, height, 1))  # small pictures enlarged by a whole factor
    return (
        f'<div class="controls">left {_options(shown, 0, "left")} · right {_options(shown, right, "right")}</div>'
        f'<div class="stage" style="width:{width * zoom}px;max-width:100%">'
        f'<div class="slider" style="aspect-ratio:{width}/{height}">'
        '<img class="under" alt="" draggable="false"><img class="top" alt="" draggable="false">'
        '<div class="divider"></div><span class="tag left"></span><span class="tag right"></span></div>'
        '<div class="controls"><input type="range" min="0" max="100" step="0.1" value="50" '
        f'aria-label="split of {escape(what)}"></div></div>'
    )


def _strip(pictures: Sequence[Picture]) -> str:
    return "".join(
        f'<figure><img src="{p.uri}" alt="{escape(p.label)}" width="{p.size[0]}" height="{p.size[1]}">'
        f"<figcaption>{escape(p.label)}</figcaption></figure>"
        for p in pictures
    )


def _compare(pictures: Sequence[Picture], what: str, right: int = 1) -> str:
    return f'<div class="compare">{_slider(pictures, what, right)}<div class="strip">{_strip(pictures)}</div></div>'


def _first_output(entry: ImageEntry) -> int:
    """Where the first output is among the pictures that can be shown (the slider's right side), else 1."""
    shown = [index for index, p in enumerate(entry.pictures) if p.uri]
    return next((at for at, index in enumerate(shown) if at > 0 and index >= entry.first_output), 1)


def image_section(entry: ImageEntry, index: int) -> str:
    """One image's heading, slider (when two pictures can be shown), picture strip, crops, notes and table."""
    shown = [p for p in entry.pictures if p.uri]
    notes = [*entry.notes, *(f"{p.label}: {p.problem}" for p in entry.pictures if p.problem)]
    parts = [f'<section class="image" id="image-{index}"><h3>{escape(entry.title)}</h3>']
    right = _first_output(entry)  # the crops are of the same pictures, in the same order
    if len(shown) >= 2:
        parts.append(_compare(shown, entry.title, right))
    else:
        parts.append(f'<div class="strip">{_strip(shown)}</div>' if shown else "")
        notes.append("fewer than two pictures of this image: nothing to compare")
    if len(entry.crops) >= 2:
        parts.append(
            f'<div class="detail"><h4>Detail</h4><p>{escape(entry.crop_note)}</p>'
            f"{_compare(entry.crops, f'detail of {entry.title}', right)}</div>"
        )
    parts += [f'<p class="note">{escape(note)}</p>' for note in notes]
    if entry.cells is not None:
        parts.append(table_html(entry.cells))
    parts.append("</section>")
    return "\n".join(parts)
