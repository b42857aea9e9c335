"""The comparison video's frames: every source at one common size, labelled, side by side or split.

Side by side: panels left to right (input, model A, model B, ...), each at the panel size.
Split: one picture at the panel size cut into vertical strips, strip i taken from source i, so
the same scene region shows each model's rendering next to its neighbour's.
The panel size is the largest output, shrunk so the whole frame stays within MAX_WIDTH.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import cv2
import numpy as np

from studio.core.errors import UsageError
from studio.core.resize import resize_to

LAYOUTS = ("side-by-side", "split")
MAX_WIDTH = 3840  # px: a comparison wider than 4K plays badly in browsers and grows the file
LABEL_HEIGHT_SHARE = 0.035  # text height as a share of the panel height: readable, covering little
MIN_LABEL_SCALE = 0.35  # OpenCV font scale below which labels stop being legible


@dataclass(frozen=True)
class Layout:
    kind: str
    panel: tuple[int, int]  # (width, height), even
    labels: tuple[str, ...]

    @property
    def frame_size(self) -> tuple[int, int]:
        width, height = self.panel
        return (width * len(self.labels), height) if self.kind == "side-by-side" else (width, height)


def plan_layout(kind: str, sizes: list[tuple[int, int]], labels: list[str]) -> Layout:
    """The panel size for these sources (width, height each); the input is sources[0]."""
    if kind not in LAYOUTS:
        raise UsageError(f"unknown comparison layout '{kind}' (use {', '.join(LAYOUTS)})")
    width, height = max(sizes, key=lambda size: size[0] * size[1])
    columns = len(labels) if kind == "side-by-side" else 1
    if width * columns > MAX_WIDTH:
        factor = MAX_WIDTH / (width * columns)
        width, height = round(width * factor), round(height * factor)
    width, height = max(2, width - width % 2), max(2, height - height % 2)
    return Layout(kind=kind, panel=(width, height), labels=tuple(labels))


def _label(frame: np.ndarray, text: str, x: int, room: int, row: int = 0) -> None:
    """White text on a dark box at (x, the top): as large as LABEL_HEIGHT_SHARE of the height allows, smaller
    when it would be wider than `room` px; `row` 1 puts it under a row-0 label (split strips alternate)."""
    height = frame.shape[0]
    scale = max(MIN_LABEL_SCALE, height * LABEL_HEIGHT_SHARE / 22)
    thickness = max(1, round(scale * 1.5))
    (text_w, text_h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    if text_w + 8 > room:  # shrink to fit; below the smallest legible size the box may reach past `room`
        scale = max(MIN_LABEL_SCALE, scale * (room - 8) / text_w)
        thickness = max(1, round(scale * 1.5))
        (text_w, text_h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    pad = max(2, text_h // 3)
    box = text_h + base + 2 * pad
    top = row * box
    cv2.rectangle(frame, (x, top), (x + text_w + 2 * pad, top + box), (0, 0, 0), thickness=-1)
    cv2.putText(
        frame,
        text,
        (x + pad, top + text_h + pad),
        cv2.FONT_HERSHEY_SIMPLEX,
        scale,
        (255, 255, 255),
        thickness,
        cv2.LINE_AA,
    )


def compose(layout: Layout, images: list[np.ndarray]) -> np.ndarray:
    """One comparison frame from the sources' frames (in the layout's label order)."""
    width, height = layout.panel
    panels = [resize_to(image, width, height) for image in images]
    if layout.kind == "side-by-side":
        panels = [np.array(panel, copy=True) for panel in panels]
        for panel, text in zip(panels, layout.labels, strict=True):
            _label(panel, text, 0, width)
        return np.ascontiguousarray(np.concatenate(panels, axis=1))
    frame = np.empty((height, width, 3), np.uint8)
    edges = strip_edges(width, len(panels))
    for panel, (left, right) in zip(panels, edges, strict=True):
        frame[:, left:right] = panel[:, left:right]
    for left, _ in edges[1:]:
        frame[:, left] = (255, 255, 255)  # a thin divider between strips
    for index, ((left, right), text) in enumerate(zip(edges, layout.labels, strict=True)):
        _label(frame, text, left, 2 * (right - left), row=index % 2)  # alternate rows: a label may overhang
    return frame


def strip_edges(width: int, count: int) -> list[tuple[int, int]]:
    """[left, right) columns of each vertical strip in a split frame."""
    bounds = [round(i * width / count) for i in range(count + 1)]
    return list(itertools.pairwise(bounds))
