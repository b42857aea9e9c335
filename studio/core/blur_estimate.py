"""Estimating a photo's blur from the photo alone, so deconvolution need not guess its point-spread function.

- Motion (length, angle): a linear motion blur of length L multiplies the spectrum by a sinc that is zero every
  1/L cycles per pixel along the motion. The real cepstrum (inverse FFT of the log spectrum) turns those periodic
  dips into a negative peak at distance L from the origin, in the motion's direction; the most negative point of
  the cepstrum over a fine polar grid of lengths and angles is the estimate.
- Gaussian (sigma): at a step edge blurred by sigma, a derivative-of-Gaussian filter of scale d answers
  1 / sqrt(sigma^2 + d^2) times the step; the ratio of the answers at two scales, taken at strong edges,
  gives sigma (the re-blur gradient ratio of Zhuo and Sim, 2011). The median over the edges is the estimate.
- Noise: Immerkaer's (1996) Laplacian-difference estimate, which blur does not disturb.
- Balance (Wiener's noise-to-signal ratio): the least regularisation that keeps the image's noise under
  NOISE_TARGET grey levels after deconvolution with the estimated kernel.

Angles follow studio.core.psf: degrees, 0 = horizontal, counter-clockwise, in (-90, 90] (a line's direction
and its opposite blur alike). Only numpy, scipy and scikit-image: nothing here loads a model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from studio.core.errors import UsageError
from studio.core.psf import gaussian_psf, motion_psf

MIN_SIDE = 32  # px: below this there is too little image to measure a blur on
MAX_CROP = 1024  # px: the estimate reads a central crop at most this large (blur keeps its size in a crop)
MIN_LENGTH = 3.0  # px: shorter motion is lost in the cepstrum's central peak
LENGTH_STEP, ANGLE_STEP = 0.25, 0.5  # the polar search grid (px, degrees)
MIN_EDGE_PIXELS = 20
SCALES = (1.0, 2.0)  # derivative-of-Gaussian scales (px) of the gradient ratio
NOISE_FLOOR = 0.5  # grey levels: 8-bit quantisation and JPEG leave at least this much, whatever is measured
NOISE_TARGET = 2.0  # grey levels of noise accepted after deconvolution
BALANCES = np.geomspace(1e-4, 1.0, 49)  # the Wiener balances tried, least regularised first


@dataclass(frozen=True)
class BlurEstimate:
    """What the image says about its blur, at the size it was measured (width, height)."""

    length: float  # motion length, px
    angle: float  # motion angle, degrees in (-90, 90]
    sigma: float  # Gaussian sigma, px
    noise: float  # noise standard deviation, grey levels (0-255)
    size: tuple[int, int]

    def kernel(self, kind: str) -> np.ndarray:
        """The estimated PSF of one kind ('motion' or 'gaussian'), as studio.core.psf builds it."""
        return motion_psf(self.length, self.angle) if kind == "motion" else gaussian_psf(self.sigma)

    def balance(self, kind: str) -> float:
        return wiener_balance(self.kernel(kind), self.noise)

    def params(self, kind: str) -> dict[str, float]:
        """The deconvolution parameters this estimate fills for a PSF kind (as the registry names them)."""
        shape = {"length": self.length, "angle": self.angle} if kind == "motion" else {"sigma": self.sigma}
        return {**shape, "balance": self.balance(kind)}


def grey_image(rgb: np.ndarray) -> np.ndarray:
    """Mean of the channels as float64 in 0-1 (any HxW or HxWxC uint8 image)."""
    image = rgb.astype(np.float64) / 255.0
    return image.mean(axis=2) if image.ndim == 3 else image


def central_crop(image: np.ndarray, side: int = MAX_CROP) -> np.ndarray:
    height, width = image.shape[:2]
    top, left = max(0, (height - side) // 2), max(0, (width - side) // 2)
    return image[top : top + side, left : left + side]


def cepstrum(grey: np.ndarray) -> np.ndarray:
    """The real cepstrum of a Hann-windowed image, origin moved to the centre (the window hides the borders)."""
    height, width = grey.shape
    windowed = (grey - grey.mean()) * np.outer(np.hanning(height), np.hanning(width))
    magnitude = np.abs(np.fft.fft2(windowed))
    log_spectrum = np.log(magnitude + 1e-3 * magnitude.max() + 1e-12)
    return np.fft.fftshift(np.real(np.fft.ifft2(log_spectrum)))


def estimate_motion(grey: np.ndarray, max_length: float = 60.0) -> tuple[float, float]:
    """(length px, angle degrees) of a linear motion blur: the deepest cepstrum dip on a polar grid."""
    from scipy import ndimage

    cep = cepstrum(grey)
    height, width = cep.shape
    longest = min(max_length, min(height, width) / 4)
    if longest < MIN_LENGTH:
        raise UsageError(f"the image ({width}x{height}) is too small to measure a motion blur on")
    lengths = np.arange(MIN_LENGTH, longest + 1e-9, LENGTH_STEP)
    angles = np.arange(-90 + ANGLE_STEP, 90 + 1e-9, ANGLE_STEP)
    radius, theta = np.meshgrid(lengths, np.deg2rad(angles), indexing="ij")
    # the cepstrum is even (the log spectrum is real and symmetric), so one side of the origin is enough
    rows = height // 2 - radius * np.sin(theta)  # image rows grow downwards; angles turn counter-clockwise
    cols = width // 2 + radius * np.cos(theta)
    values = ndimage.map_coordinates(cep, [rows.ravel(), cols.ravel()], order=1, mode="nearest")
    best_length, best_angle = np.unravel_index(np.argmin(values), radius.shape)
    return float(lengths[best_length]), float(angles[best_angle])


def _derivative_kernels(scale: float) -> tuple[np.ndarray, np.ndarray]:
    """A derivative-of-Gaussian and a Gaussian, normalised so a unit ramp answers exactly 1 at any scale."""
    radius = max(1, int(np.ceil(4 * scale)))
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    smooth = np.exp(-(x**2) / (2 * scale**2))
    derivative = x * smooth
    return derivative / np.sum(x * derivative), smooth / smooth.sum()


def gradient_magnitude(grey: np.ndarray, scale: float) -> np.ndarray:
    from scipy import ndimage

    derivative, smooth = _derivative_kernels(scale)
    dx = ndimage.correlate1d(ndimage.correlate1d(grey, derivative, axis=1), smooth, axis=0)
    dy = ndimage.correlate1d(ndimage.correlate1d(grey, derivative, axis=0), smooth, axis=1)
    return np.hypot(dx, dy)


def estimate_gaussian(grey: np.ndarray) -> float:
    """Gaussian sigma (px) from the gradient ratio at two scales on the strongest edges."""
    from skimage.feature import canny

    fine_scale, coarse_scale = SCALES
    fine, coarse = gradient_magnitude(grey, fine_scale), gradient_magnitude(grey, coarse_scale)
    edges = canny(grey, sigma=2.0, low_threshold=0.8, high_threshold=0.95, use_quantiles=True)
    if edges.sum() < MIN_EDGE_PIXELS:
        raise UsageError("the image has no edges to measure a blur on")
    strong = edges & (coarse >= np.percentile(coarse[edges], 70))
    ratio2 = (fine[strong] / np.maximum(coarse[strong], 1e-12)) ** 2
    ratio2 = ratio2[ratio2 > 1 + 1e-6]  # a sharper-than-possible answer is noise
    if ratio2.size < MIN_EDGE_PIXELS:
        raise UsageError("the image has no edges to measure a blur on")
    variance = (coarse_scale**2 - ratio2 * fine_scale**2) / (ratio2 - 1)
    return float(np.sqrt(max(float(np.median(variance)), 0.0)))


def estimate_noise(image: np.ndarray) -> float:
    """Noise standard deviation per channel in grey levels (Immerkaer 1996), the mean over the channels.

    Per channel, because deconvolution runs per channel (averaging channels would hide part of the noise);
    blur leaves the mask's answer to noise alone.
    """
    from scipy import ndimage

    mask = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float64)
    channels = image.reshape(*image.shape[:2], -1).astype(np.float64)
    answers = [ndimage.correlate(channels[..., c], mask)[1:-1, 1:-1] for c in range(channels.shape[2])]
    return float(np.mean([np.sqrt(np.pi / 2) * np.abs(answer).mean() / 6 for answer in answers]))


def noise_gain(kernel: np.ndarray, balance: float, size: int = 256) -> float:
    """How much a Wiener filter H*/(|H|^2 + balance) multiplies white noise's standard deviation."""
    power = np.abs(np.fft.fft2(kernel, (size, size))) ** 2
    return float(np.sqrt(np.mean(power / (power + balance) ** 2)))


def wiener_balance(kernel: np.ndarray, noise: float) -> float:
    """The least balance (from BALANCES) that keeps max(noise, NOISE_FLOOR) under NOISE_TARGET after deblurring."""
    level = max(noise, NOISE_FLOOR)
    for balance in BALANCES:
        if level * noise_gain(kernel, balance) <= NOISE_TARGET:
            return float(balance)
    return float(BALANCES[-1])


def estimate_blur(rgb: np.ndarray, max_length: float = 60.0) -> BlurEstimate:
    """Motion length and angle, Gaussian sigma and noise of an HxWx3 uint8 image (UsageError when it cannot)."""
    height, width = rgb.shape[:2]
    if min(height, width) < MIN_SIDE:
        raise UsageError(f"the image ({width}x{height}) is too small to estimate its blur (at least {MIN_SIDE} px)")
    crop = central_crop(rgb)
    grey = grey_image(crop)
    length, angle = estimate_motion(grey, max_length)
    return BlurEstimate(
        length=length,
        angle=angle,
        sigma=estimate_gaussian(grey),
        noise=estimate_noise(crop),
        size=(width, height),
    )
