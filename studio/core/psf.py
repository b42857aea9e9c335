"""Point-spread functions for deconvolution (and, later, synthetic blur)."""

from __future__ import annotations

import numpy as np

from studio.core.errors import ParameterError
from studio.core.vocabulary import PSF_KINDS


def gaussian_psf(sigma: float) -> np.ndarray:
    """A normalised Gaussian kernel covering +-3 sigma."""
    if sigma <= 0:
        raise ParameterError(f"Gaussian PSF sigma must be positive, got {sigma}")
    radius = max(1, int(np.ceil(3 * sigma)))
    axis = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel_1d = np.exp(-(axis**2) / (2 * sigma**2))
    kernel = np.outer(kernel_1d, kernel_1d)
    return kernel / kernel.sum()


def motion_psf(length: float, angle_deg: float, supersample: int = 16) -> np.ndarray:
    """A normalised line of `length` pixels at `angle_deg` (0 = horizontal, counter-clockwise), one pixel wide.

    Each cell holds how much of it a 1 px wide bar covers (counted on a `supersample`-fold grid), so a slanted
    line keeps its direction. (cv2.line antialiases only 8-bit images: the staircase it drew in float for
    9 px at 20 degrees ran at 14 degrees, and the blur estimate read 14 back.)
    """
    if length < 1:
        raise ParameterError(f"motion PSF length must be at least 1 pixel, got {length}")
    size = int(np.ceil(length)) | 1  # odd, so the line is centred
    centre = (size - 1) / 2
    offsets = (np.arange(size * supersample) + 0.5) / supersample - 0.5 - centre  # sub-cell sample positions
    x, y = offsets[None, :], -offsets[:, None]  # y points up: counter-clockwise angles
    theta = np.deg2rad(angle_deg)
    along = x * np.cos(theta) + y * np.sin(theta)
    across = y * np.cos(theta) - x * np.sin(theta)
    inside = (np.abs(along) <= length / 2) & (np.abs(across) <= 0.5)
    kernel = inside.reshape(size, supersample, size, supersample).mean(axis=(1, 3))
    return kernel / kernel.sum()


def make_psf(kind: str, sigma: float = 1.5, length: float = 9.0, angle: float = 0.0) -> np.ndarray:
    """The PSF a deconvolution entry names: 'gaussian' (sigma) or 'motion' (length, angle)."""
    if kind == "gaussian":
        return gaussian_psf(sigma)
    if kind == "motion":
        return motion_psf(length, angle)
    raise ParameterError(f"unknown PSF kind '{kind}' (use {' or '.join(PSF_KINDS)})")
