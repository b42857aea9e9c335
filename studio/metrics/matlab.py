"""MATLAB's image functions as the original metric code calls them, ported so our scores match it.

NIQE, BRISQUE and SSIM were published as MATLAB code; their reference values
depend on MATLAB's `rgb2gray` (rounded to uint8), `imresize` (bicubic with
antialiasing when shrinking, symmetric edges) and `fspecial('gaussian')`.
OpenCV's conversions and resizes differ enough to move BRISQUE by 10 points.
"""

from __future__ import annotations

import math

import numpy as np

# MATLAB rgb2gray: the first row of inv([1 0.956 0.621; 1 -0.272 -0.647; 1 -1.106 1.703]) (NTSC luma).
RGB2GRAY = np.array([0.298936021293775, 0.587043074451121, 0.114020904255103])


def rgb2gray(image: np.ndarray) -> np.ndarray:
    """MATLAB `rgb2gray` of uint8 RGB: the weighted sum rounded half away from zero, as float64."""
    if image.ndim == 2:
        return image.astype(np.float64)
    return np.floor(image[..., :3].astype(np.float64) @ RGB2GRAY + 0.5)


def gaussian_window(size: int, sigma: float) -> np.ndarray:
    """MATLAB `fspecial('gaussian', size, sigma)`: normalised to sum 1."""
    half = (size - 1) / 2
    x = np.arange(size) - half
    window = np.exp(-(x[:, None] ** 2 + x[None, :] ** 2) / (2 * sigma**2))
    window[window < np.finfo(np.float64).eps * window.max()] = 0
    return window / window.sum()


def _cubic(x: np.ndarray) -> np.ndarray:
    """Keys' cubic kernel with a = -0.5, as MATLAB's imresize writes it."""
    ax = np.abs(x)
    ax2, ax3 = ax**2, ax**3
    near = (1.5 * ax3 - 2.5 * ax2 + 1) * (ax <= 1)
    far = (-0.5 * ax3 + 2.5 * ax2 - 4 * ax + 2) * ((ax > 1) & (ax <= 2))
    return near + far


def _contributions(in_length: int, out_length: int, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """MATLAB imresize's `contributions` along one axis (bicubic, antialiased): weights and source indices,
    each (out, taps), with edges mirrored and all-zero taps dropped."""
    width = 4.0
    if scale < 1:  # antialiasing: the kernel is stretched by 1/scale
        kernel = lambda t: scale * _cubic(scale * t)  # noqa: E731
        width /= scale
    else:
        kernel = _cubic
    x = np.arange(1, out_length + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1 - 1 / scale)
    left = np.floor(u - width / 2)
    indices = left[:, None] + np.arange(math.ceil(width) + 2)[None, :]
    weights = kernel(u[:, None] - indices)
    weights /= weights.sum(axis=1, keepdims=True)
    mirror = np.concatenate([np.arange(in_length), np.arange(in_length - 1, -1, -1)])  # symmetric edges
    sources = mirror[np.mod(indices.astype(np.int64) - 1, 2 * in_length)]
    keep = np.any(weights != 0, axis=0)
    return weights[:, keep], sources[:, keep]


def _resize_rows(image: np.ndarray, out_rows: int, scale: float) -> np.ndarray:
    weights, sources = _contributions(image.shape[0], out_rows, scale)
    resized = np.zeros((out_rows, *image.shape[1:]))
    for tap in range(weights.shape[1]):
        resized += weights[:, tap].reshape(-1, *([1] * (image.ndim - 1))) * image[sources[:, tap]]
    return resized


def imresize(image: np.ndarray, scale: float) -> np.ndarray:
    """MATLAB `imresize(image, scale)` of a 2-D or HxWxC image, as float64: bicubic, antialiased, rows then
    columns (the "bicubic downscale" of super-resolution papers)."""
    rows, cols = image.shape[:2]
    resized = _resize_rows(image.astype(np.float64), math.ceil(rows * scale), scale)
    resized = _resize_rows(resized.swapaxes(0, 1), math.ceil(cols * scale), scale)
    return resized.swapaxes(0, 1)
