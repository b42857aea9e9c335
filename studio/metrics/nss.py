"""Natural scene statistics shared by NIQE and BRISQUE (Mittal et al.), as their MATLAB code computes them.

Both normalise the grey image to MSCN coefficients (local mean and contrast
from a 7x7 Gaussian, sigma 7/6) and fit generalised Gaussians to them and to
products of neighbours, picking the shape from the grid 0.2:0.001:10 exactly
as the MATLAB `estimateggdparam` / `estimateaggdparam` do, so the features
(and the scores) follow the originals.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from studio.metrics.matlab import gaussian_window

WINDOW = gaussian_window(7, 7 / 6)
# Row and column shifts of the four neighbour products (MATLAB circshift): horizontal, vertical, two diagonals.
NIQE_SHIFTS = ((0, 1), (1, 0), (1, 1), (1, -1))
BRISQUE_SHIFTS = ((0, 1), (1, 0), (1, 1), (-1, 1))
FLAT = 1e-9  # |I - mu| below this (grey levels 0-255) is rounding noise of a flat region


def mscn(image: np.ndarray, border: int) -> np.ndarray:
    """(I - mu) / (sigma + 1). `border` is cv2.BORDER_REPLICATE for NIQE's imfilter, BORDER_CONSTANT (zeros)
    for BRISQUE's filter2.

    In a flat region I - mu is zero up to rounding (1e-13), and the sign of that noise would decide which
    side of the AGGD fit a third of a posterized image falls on (NIQE of TID2013 I19: 9.13 instead of
    MATLAB's 8.64), so residues below FLAT are set to exactly zero, as the exact arithmetic gives.
    """
    mu = cv2.filter2D(image, cv2.CV_64F, WINDOW, borderType=border)
    square = cv2.filter2D(image * image, cv2.CV_64F, WINDOW, borderType=border)
    sigma = np.sqrt(np.abs(square - mu * mu))
    centred = image - mu
    centred[np.abs(centred) < FLAT] = 0.0
    return centred / (sigma + 1)


def pair_products(coefficients: np.ndarray, shifts: tuple[tuple[int, int], ...]) -> list[np.ndarray]:
    """Each coefficient times its circularly shifted neighbour, as MATLAB's circshift pairs them."""
    return [coefficients * np.roll(coefficients, shift, axis=(0, 1)) for shift in shifts]


@lru_cache(maxsize=1)
def _shape_grid() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The shapes a = 0.2:0.001:10, Gamma(2/a)^2 / (Gamma(1/a) Gamma(3/a)) and its inverse, as MATLAB writes both."""
    from scipy.special import gamma

    shapes = 0.2 + 0.001 * np.arange(9801)
    g1, g2, g3 = gamma(1 / shapes), gamma(2 / shapes), gamma(3 / shapes)
    return shapes, g2**2 / (g1 * g3), (g1 * g3) / g2**2


def ggd_fit(values: np.ndarray) -> tuple[float, float]:
    """Symmetric generalised Gaussian (BRISQUE's estimateggdparam): shape and variance.

    NaN statistics (an all-zero input) give the first shape, 0.2, as MATLAB's min over NaNs does.
    """
    shapes, _, inverse = _shape_grid()
    variance = np.mean(values * values)
    rho = variance / np.mean(np.abs(values)) ** 2
    return float(shapes[np.argmin(np.abs(rho - inverse))]), float(variance)


def aggd_fit(values: np.ndarray) -> tuple[float, float, float]:
    """Asymmetric generalised Gaussian (estimateaggdparam): shape, left and right standard deviations.

    A side with no values has a NaN deviation (MATLAB's mean of nothing), and the shape is then 0.2.
    """
    shapes, ratio, _ = _shape_grid()
    negative, positive = values[values < 0], values[values > 0]
    left = np.sqrt(np.mean(negative * negative)) if negative.size else np.nan
    right = np.sqrt(np.mean(positive * positive)) if positive.size else np.nan
    gamma_hat = left / right
    r_hat = np.mean(np.abs(values)) ** 2 / np.mean(values * values)
    r_norm = r_hat * (gamma_hat**3 + 1) * (gamma_hat + 1) / (gamma_hat**2 + 1) ** 2
    return float(shapes[np.argmin((ratio - r_norm) ** 2)]), float(left), float(right)
