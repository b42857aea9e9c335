"""PSNR and SSIM as super-resolution papers report them (BasicSR conventions).

The border crop equals the model's scale; Y is ITU-R BT.601 luma on the
[16, 235] scale, computed from RGB in [0, 255]. SSIM uses an 11x11 Gaussian
window (sigma 1.5), C1 = (0.01 L)^2, C2 = (0.03 L)^2, over the valid region.
"""

from __future__ import annotations

import cv2
import numpy as np

from studio.metrics.base import MetricContext

BT601_Y = np.array([65.481, 128.553, 24.966]) / 255.0  # R, G, B weights on [0, 255] input, + 16


def crop_border(image: np.ndarray, border: int) -> np.ndarray:
    return image[border:-border, border:-border] if border > 0 else image


def to_y(image: np.ndarray) -> np.ndarray:
    """BT.601 luma in [16, 235] as float64 from uint8 RGB."""
    return image.astype(np.float64) @ BT601_Y + 16.0


def psnr(a: np.ndarray, b: np.ndarray, data_range: float = 255.0) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else float(10.0 * np.log10(data_range**2 / mse))


def _ssim_channel(a: np.ndarray, b: np.ndarray) -> float:
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    kernel = cv2.getGaussianKernel(11, 1.5)
    window = np.outer(kernel, kernel.transpose())
    mu_a = cv2.filter2D(a, -1, window)[5:-5, 5:-5]
    mu_b = cv2.filter2D(b, -1, window)[5:-5, 5:-5]
    sigma_a = cv2.filter2D(a**2, -1, window)[5:-5, 5:-5] - mu_a**2
    sigma_b = cv2.filter2D(b**2, -1, window)[5:-5, 5:-5] - mu_b**2
    sigma_ab = cv2.filter2D(a * b, -1, window)[5:-5, 5:-5] - mu_a * mu_b
    numerator = (2 * mu_a * mu_b + c1) * (2 * sigma_ab + c2)
    denominator = (mu_a**2 + mu_b**2 + c1) * (sigma_a + sigma_b + c2)
    return float(np.mean(numerator / denominator))


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM over channels (one channel for Y)."""
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    if a64.ndim == 2:
        return _ssim_channel(a64, b64)
    return float(np.mean([_ssim_channel(a64[..., c], b64[..., c]) for c in range(a64.shape[2])]))


def psnr_rgb(output: np.ndarray, reference: np.ndarray, context: MetricContext) -> float:
    return psnr(crop_border(output, context.scale), crop_border(reference, context.scale))


def psnr_y(output: np.ndarray, reference: np.ndarray, context: MetricContext) -> float:
    return psnr(to_y(crop_border(output, context.scale)), to_y(crop_border(reference, context.scale)))


def ssim_rgb(output: np.ndarray, reference: np.ndarray, context: MetricContext) -> float:
    return ssim(crop_border(output, context.scale), crop_border(reference, context.scale))


def ssim_y(output: np.ndarray, reference: np.ndarray, context: MetricContext) -> float:
    return ssim(to_y(crop_border(output, context.scale)), to_y(crop_border(reference, context.scale)))
