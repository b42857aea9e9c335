"""Resizing rules shared by the engine and the views: one choice of filter everywhere."""

from __future__ import annotations

import cv2
import numpy as np


def resize_to(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Area averaging when shrinking, bicubic when enlarging; the image itself when the size already fits."""
    if image.shape[1] == width and image.shape[0] == height:
        return image
    shrinking = width < image.shape[1]
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC)


def limit_long_side(image: np.ndarray, preview: int | None) -> np.ndarray:
    height, width = image.shape[:2]
    if not preview or max(height, width) <= preview:
        return image
    factor = preview / max(height, width)
    return resize_to(image, max(1, round(width * factor)), max(1, round(height * factor)))
