"""No-reference scores that need no model: sharpness and colourfulness (BRISQUE and NIQE have their own modules)."""

from __future__ import annotations

import cv2
import numpy as np

from studio.metrics.base import MetricContext


def sharpness(output: np.ndarray, reference: np.ndarray | None, context: MetricContext) -> float:
    """Variance of the Laplacian of the grey image (Pech-Pacheco et al. 2000): higher is sharper."""
    grey = cv2.cvtColor(output, cv2.COLOR_RGB2GRAY)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


def colourfulness(output: np.ndarray, reference: np.ndarray | None, context: MetricContext) -> float:
    """Hasler and Süsstrunk (2003) colourfulness M3: 0 is grey, above 100 is extremely colourful."""
    rgb = output.astype(np.float64)
    rg = rgb[..., 0] - rgb[..., 1]
    yb = 0.5 * (rgb[..., 0] + rgb[..., 1]) - rgb[..., 2]
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))
