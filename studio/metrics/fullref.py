"""PSNR and SSIM as papers report them (BasicSR conventions), and SSIM as MATLAB's ssim.m computes it.

The border crop equals the model's scale for super-resolution and is 0 for
scale-1 models (denoise, deblur, sharpen), as NAFNet, Restormer and BasicSR
report them. Y is ITU-R BT.601 luma on the [16, 235] scale, computed from RGB
in [0, 255]. SSIM uses an 11x11 Gaussian window (sigma 1.5), C1 = (0.01 L)^2,
C2 = (0.03 L)^2, over the valid region; `ssim_grey` applies it to MATLAB's
rgb2gray, which is Wang's ssim.m without its downsampling of large images.
"""

from __future__ import annotations

import cv2
import numpy as np

from studio.core.psnr import psnr
from studio.metrics.base import MetricContext
from studio.metrics.matlab import rgb2gray

BT601_Y = np.array([65.481, 128.553, 24.966]) / 255.0  # R, G, B weights on [0, 255] input, + 16


def crop_border(image: np.ndarray, border: int) -> np.ndarray:
    return image[border:-border, border:-border] if border > 0 else image


def border(context: MetricContext) -> int:
    """The crop: the scale for super-resolution, none for scale-1 models (NAFNet, Restormer, BasicSR)."""
    return context.scale if context.scale > 1 else 0


def to_y(image: np.ndarray) -> np.ndarray:
    """BT.601 luma in [16, 235] as float64 from uint8 RGB."""
    return image.astype(np.float64) @ BT601_Y + 16.0


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
    return psnr(crop_border(output, border(context)), crop_border(reference, border(context)))


def psnr_y(output: np.ndarray, reference: np.ndarray, context: MetricContext) -> float:
    return psnr(to_y(crop_border(output, border(context))), to_y(crop_border(reference, border(context))))


def ssim_rgb(output: np.ndarray, reference: np.ndarray, context: MetricContext) -> float:
    return ssim(crop_border(output, border(context)), crop_border(reference, border(context)))


def ssim_y(output: np.ndarray, reference: np.ndarray, context: MetricContext) -> float:
    return ssim(to_y(crop_border(output, border(context))), to_y(crop_border(reference, border(context))))


def ssim_grey(output: np.ndarray, reference: np.ndarray, context: MetricContext) -> float:
    """MATLAB ssim.m on rgb2gray (rounded to uint8 levels), without its downsampling of images over 256 px."""
    return ssim(rgb2gray(crop_border(output, border(context))), rgb2gray(crop_border(reference, border(context))))
