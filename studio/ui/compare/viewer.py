"""The synced zoom viewer: every image of a run (input, reference, each output) panned and zoomed together.

An imgsli-style view in one gr.HTML: the page gets lossless PNG files (written once per
distinct image into Gradio's cache and served through its file route, never inlined as
base64) plus each image's name and size; viewer.js draws them. Zoom factors are stated
in screen pixels per pixel of the largest image (1x = true 1:1), nearest neighbour; a
smaller image covers the same scene region at a proportionally larger factor, which its
caption states. The JavaScript and CSS live beside this module (package data).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np
from gradio.utils import get_upload_folder
from PIL import Image

from studio.core.media import png_name
from studio.engine.results import Results
from studio.ui.views import INPUT, REFERENCE

HERE = Path(__file__).parent
ELEM_ID = "zoom-viewer"
CACHE_SUBFOLDER = "studio-viewer"
PNG_LEVEL = 1  # lossless at any level; on a 2048x2048 photo level 1 took 0.3 s and 6 took 1.5 s, for 18 % more bytes
TEMPLATE = '<div class="sv" tabindex="0" aria-label="Synced zoom viewer"></div>'


@dataclass(frozen=True)
class Picture:
    """One image the viewer shows: a unique key, the name people read, the pixels."""

    key: str
    label: str
    rgb: np.ndarray


@dataclass(frozen=True, eq=False)
class Viewer:
    html: gr.HTML

    @property
    def outputs(self) -> list[gr.HTML]:
        """What a run updates, in the order viewer_update returns its values."""
        return [self.html]


def pictures(results: Results) -> list[Picture]:
    """Input, reference (if any), then each successful output in run order (a request names a model once),
    named as the rest of the page names them: models by display name."""
    found = [Picture(INPUT, INPUT, results.input.rgb)]
    if results.reference is not None:
        found.append(Picture(REFERENCE, REFERENCE, results.reference))
    found += [Picture(row.model_id, row.name or row.model_id, row.output.rgb) for row in results.rows if row.ok]
    return found


def png_path(rgb: np.ndarray, folder: Path) -> Path:
    """A lossless PNG of `rgb` under `folder`, named by its content: written once, reused by every later update.

    A reused file has its time refreshed, so Gradio's cache cleaning (by age) never removes one a page still shows.
    """
    pixels = np.ascontiguousarray(rgb, dtype=np.uint8)
    path = folder / png_name(pixels)
    try:
        os.utime(path)
    except FileNotFoundError:
        folder.mkdir(parents=True, exist_ok=True)
        handle, partial = tempfile.mkstemp(suffix=".part", dir=folder)
        with os.fdopen(handle, "wb") as out:
            Image.fromarray(pixels, "RGB").save(out, format="PNG", compress_level=PNG_LEVEL)
        os.replace(partial, path)  # atomic: a second session never reads half a file
    return path


def file_data(path: Path) -> dict[str, Any]:
    """A FileData dict: Gradio moves it into the app's cache and gives the page a /gradio_api/file= URL."""
    return {"path": str(path), "orig_name": path.name, "mime_type": "image/png", "meta": {"_type": "gradio.FileData"}}


def viewer_value(results: Results | None, folder: Path) -> dict[str, Any] | None:
    """The viewer's value: each picture's key, label, size and PNG file; the default flip pair (input, first output)."""
    if results is None:
        return None
    shown = pictures(results)
    images = [
        {
            "key": picture.key,
            "label": picture.label,
            "width": int(picture.rgb.shape[1]),
            "height": int(picture.rgb.shape[0]),
            "file": file_data(png_path(picture.rgb, folder)),
        }
        for picture in shown
    ]
    outputs = [p.key for p in shown if p.key not in (INPUT, REFERENCE)]
    flip = [INPUT, outputs[0] if outputs else shown[-1].key]
    return {"images": images, "flip": flip}


def cache_folder() -> Path:
    """Where the PNGs go: inside Gradio's own cache (so its file route serves them and delete_cache cleans them)."""
    return Path(get_upload_folder()) / CACHE_SUBFOLDER


def viewer_update(results: Results | None) -> list[Any]:
    """Values for Viewer.outputs after each results update (None clears the viewer).

    Splice it into a handler's list of values; a handler whose only output is the viewer returns `[0]` of it
    (Gradio would take a one-item list for the value itself).
    """
    return [viewer_value(results, cache_folder())]


def build_viewer(elem_id: str = ELEM_ID) -> Viewer:
    """The viewer's component, in the current Blocks context; all its interaction runs in the browser."""
    html = gr.HTML(
        None,
        html_template=TEMPLATE,
        css_template=(HERE / "viewer.css").read_text(encoding="utf-8"),
        js_on_load=(HERE / "viewer.js").read_text(encoding="utf-8"),
        apply_default_css=False,
        label="Synced zoom",
        elem_id=elem_id,
        elem_classes=["synced-zoom"],
    )
    return Viewer(html=html)
