"""Point-spread functions for deconvolution (and, later, synthetic blur)."""

from __future__ import annotations

import cv2
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


def motion_psf(length: float, angle_deg: float) -> np.ndarray:
    """A normalised line of `length` pixels at `angle_deg` (0 = horizontal, counter-clockwise)."""
    if length < 1:
        raise ParameterError(f"motion PSF length must be at least 1 pixel, got {length}")
    size = int(np.ceil(length)) | 1  # odd, so the line is centred
    kernel = np.zeros((size, size), np.float64)
    centre = (size - 1) / 2
    half = (length - 1) / 2
    dx, dy = np.cos(np.deg2rad(angle_deg)), -np.sin(np.deg2rad(angle_deg))
    start = (centre - dx * half, centre - dy * half)
    end = (centre + dx * half, centre + dy * half)
    scale = 16  # sub-pixel line drawing through cv2's shift argument
    cv2.line(
        kernel,
        tuple(round(v * scale) for v in start),
        tuple(round(v * scale) for v in end),
        1.0,
        thickness=1,
        lineType=cv2.LINE_AA,
        shift=4,
    )
    if kernel.sum() == 0:
        kernel[size // 2, size // 2] = 1.0
    return kernel / kernel.sum()


def make_psf(kind: str, sigma: float = 1.5, length: float = 9.0, angle: float = 0.0) -> np.ndarray:
    """The PSF a deconvolution entry names: 'gaussian' (sigma) or 'motion' (length, angle)."""
    if kind == "gaussian":
        return gaussian_psf(sigma)
    if kind == "motion":
        return motion_psf(length, angle)
    raise ParameterError(f"unknown PSF kind '{kind}' (use {' or '.join(PSF_KINDS)})")
