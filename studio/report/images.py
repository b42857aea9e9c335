"""The report's pictures: compressed thumbnails as data URIs, so the page needs no other file.

Each picture is limited to THUMB_SIDE on its long side (never enlarged) and stored as JPEG: a page of
a dozen images x a few models stays a few megabytes and opens offline.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from studio.core.errors import StudioError
from studio.core.media import decode, encode
from studio.core.resize import limit_long_side

THUMB_SIDE = 512
JPEG_QUALITY = 85


@dataclass(frozen=True)
class Picture:
    """One choice of the slider: a label, a data URI and the thumbnail's size, or why it is missing."""

    label: str
    uri: str | None
    size: tuple[int, int] = (0, 0)
    problem: str | None = None


def data_uri(rgb: np.ndarray) -> tuple[str, tuple[int, int]]:
    """A JPEG data URI of `rgb` with its long side limited to THUMB_SIDE, and the thumbnail's (width, height)."""
    small = limit_long_side(rgb, THUMB_SIDE)
    payload = base64.b64encode(encode(small, "jpeg", quality=JPEG_QUALITY)).decode("ascii")
    return f"data:image/jpeg;base64,{payload}", (small.shape[1], small.shape[0])


def picture(label: str, path: Path | None, max_pixels: int, preview: int | None = None) -> Picture:
    """The file at `path` as a thumbnail (first limited to `preview`, as the run did), or a Picture with a problem."""
    if path is None:
        return Picture(label, None, problem="the run does not record where it is")
    try:
        rgb = decode(path, max_pixels).rgb
    except FileNotFoundError:
        return Picture(label, None, problem=f"{path} does not exist")
    except (StudioError, OSError) as exc:
        return Picture(label, None, problem=f"{path} cannot be read ({str(exc).splitlines()[0]})")
    uri, size = data_uri(limit_long_side(rgb, preview))
    return Picture(label, uri, size)
