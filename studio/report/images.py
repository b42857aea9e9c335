"""The report's pictures: compressed thumbnails and detail crops as data URIs, so the page needs no other file.

Each thumbnail is limited to THUMB_SIDE on its long side (never enlarged) and stored as JPEG: a page of
a dozen images x a few models stays a few megabytes and opens offline. When the largest picture of an
image is bigger than a thumbnail (an x4 output), the thumbnails hide the detail that tells models apart,
so the same region of every picture is also cut out at the largest picture's pixels: the region with
the most detail (gradient energy) in the first picture, CROP_SIDE pixels square at that size.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from studio.core.errors import StudioError
from studio.core.media import DecodedImage, decode, encode
from studio.core.resize import limit_long_side

THUMB_SIDE = 512
JPEG_QUALITY = 85
CROP_SIDE = 256  # px of the largest picture
CROP_QUALITY = 92  # a crop is for looking closely: fewer JPEG artefacts
CANDIDATES = 24  # window positions tried per axis when looking for the most detailed region


@dataclass(frozen=True)
class Picture:
    """One choice of the slider: a label, a data URI and the thumbnail's size, or why it is missing."""

    label: str
    uri: str | None
    size: tuple[int, int] = (0, 0)
    problem: str | None = None


@dataclass(frozen=True)
class Loaded:
    """A picture's pixels at the size the report compares (or why it could not be read)."""

    label: str
    rgb: np.ndarray | None
    problem: str | None = None


def data_uri(rgb: np.ndarray, side: int = THUMB_SIDE, quality: int = JPEG_QUALITY) -> tuple[str, tuple[int, int]]:
    """A JPEG data URI of `rgb` with its long side limited to `side`, and the picture's (width, height)."""
    small = limit_long_side(rgb, side)
    payload = base64.b64encode(encode(small, "jpeg", quality=quality)).decode("ascii")
    return f"data:image/jpeg;base64,{payload}", (small.shape[1], small.shape[0])


def read(path: Path | None, max_pixels: int) -> tuple[DecodedImage | None, str | None]:
    """The decoded file at `path` (as the batch decodes it), or None and why it cannot be had."""
    if path is None:
        return None, "the run does not record where it is"
    try:
        return decode(path, max_pixels), None
    except FileNotFoundError:
        return None, f"{path} does not exist"
    except (StudioError, OSError) as exc:
        return None, f"{path} cannot be read ({str(exc).splitlines()[0]})"


def load(label: str, path: Path | None, max_pixels: int, preview: int | None = None) -> Loaded:
    """The file at `path` (first limited to `preview`, as the run did), or a Loaded with a problem."""
    image, problem = read(path, max_pixels)
    if image is None:
        return Loaded(label, None, problem)
    return Loaded(label, limit_long_side(image.rgb, preview))


def thumbnail(loaded: Loaded) -> Picture:
    if loaded.rgb is None:
        return Picture(loaded.label, None, problem=loaded.problem)
    uri, size = data_uri(loaded.rgb)
    return Picture(loaded.label, uri, size)


def picture(label: str, path: Path | None, max_pixels: int, preview: int | None = None) -> Picture:
    """The file at `path` as a thumbnail (first limited to `preview`, as the run did), or a Picture with a problem."""
    return thumbnail(load(label, path, max_pixels, preview))


def _busiest(rgb: np.ndarray, width: float, height: float) -> tuple[float, float]:
    """Top-left corner, as fractions of the picture, of the width x height window (fractions too) with the
    most gradient energy, among CANDIDATES x CANDIDATES evenly spread positions."""
    grey = rgb.astype(np.float32).mean(axis=2)
    rows, columns = grey.shape
    energy = np.zeros_like(grey)
    energy[:, 1:] += np.diff(grey, axis=1) ** 2
    energy[1:, :] += np.diff(grey, axis=0) ** 2
    total = np.pad(energy.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    win_w, win_h = max(1, round(width * columns)), max(1, round(height * rows))
    xs = np.unique(np.linspace(0, columns - win_w, CANDIDATES).round().astype(int))
    ys = np.unique(np.linspace(0, rows - win_h, CANDIDATES).round().astype(int))
    y0, x0 = ys[:, None], xs[None, :]
    sums = total[y0 + win_h, x0 + win_w] - total[y0, x0 + win_w] - total[y0 + win_h, x0] + total[y0, x0]
    best_y, best_x = np.unravel_index(int(np.argmax(sums)), sums.shape)
    return xs[best_x] / columns, ys[best_y] / rows


def _cut(rgb: np.ndarray, left: float, top: float, width: float, height: float, out: tuple[int, int]) -> np.ndarray:
    """The region (fractions of the picture) of `rgb`, enlarged with nearest neighbours to `out` (width, height)."""
    rows, columns = rgb.shape[:2]
    x0, y0 = int(left * columns), int(top * rows)
    x1 = max(x0 + 1, min(columns, round((left + width) * columns)))
    y1 = max(y0 + 1, min(rows, round((top + height) * rows)))
    region = rgb[y0:y1, x0:x1]
    pick_x = np.minimum((np.arange(out[0]) * region.shape[1]) // out[0], region.shape[1] - 1)
    pick_y = np.minimum((np.arange(out[1]) * region.shape[0]) // out[1], region.shape[0] - 1)
    return np.ascontiguousarray(region[pick_y][:, pick_x])


def detail_crops(pictures: Sequence[Loaded]) -> tuple[list[Picture], str]:
    """The same region of every readable picture at the largest one's pixels, and a sentence saying which
    region; ([], "") when every picture fits in a thumbnail whole (the thumbnails already show each pixel)."""
    readable = [p for p in pictures if p.rgb is not None]
    if not readable:
        return [], ""
    largest = max(readable, key=lambda p: p.rgb.shape[0] * p.rgb.shape[1])
    rows, columns = largest.rgb.shape[:2]
    if max(rows, columns) <= THUMB_SIDE:
        return [], ""
    out = (min(CROP_SIDE, columns), min(CROP_SIDE, rows))
    width, height = out[0] / columns, out[1] / rows
    left, top = _busiest(readable[0].rgb, width, height)
    crops = []
    for loaded in readable:
        uri, size = data_uri(_cut(loaded.rgb, left, top, width, height, out), max(out), CROP_QUALITY)
        crops.append(Picture(loaded.label, uri, size))
    x, y = round(left * columns), round(top * rows)
    note = (
        f"The same {out[0]}x{out[1]} region of each picture (at x {x}, y {y} of the {columns}x{rows} "
        f"{largest.label}; smaller pictures enlarged with nearest neighbours), where the {readable[0].label} "
        "has the most detail."
    )
    return crops, note
