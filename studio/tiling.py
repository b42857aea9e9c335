"""Padding to a network's size requirements (pure functions, no state).

Overlapping tile planning and stitching build on this.
"""

from __future__ import annotations

import numpy as np


def padded_size(size: int, multiple: int = 1, minimum: int = 1) -> int:
    """The smallest size >= max(size, minimum) that is a multiple of `multiple`."""
    target = max(size, minimum)
    return -(-target // multiple) * multiple


def pad_to(image: np.ndarray, multiple: int = 1, minimum: int = 1) -> tuple[np.ndarray, tuple[int, int]]:
    """Reflect-pad bottom and right so both sides satisfy the requirements.

    Returns the padded array and the original (height, width) for cropping back.
    Reflection needs the pad to be smaller than the side, so tiny images fall
    back to edge replication.
    """
    height, width = image.shape[:2]
    pad_h = padded_size(height, multiple, minimum) - height
    pad_w = padded_size(width, multiple, minimum) - width
    if pad_h == 0 and pad_w == 0:
        return image, (height, width)
    mode = "reflect" if pad_h < height and pad_w < width else "edge"
    widths = ((0, pad_h), (0, pad_w)) + ((0, 0),) * (image.ndim - 2)
    return np.pad(image, widths, mode=mode), (height, width)


def crop_output(output: np.ndarray, original_hw: tuple[int, int], scale: int) -> np.ndarray:
    height, width = original_hw
    return output[: height * scale, : width * scale]
