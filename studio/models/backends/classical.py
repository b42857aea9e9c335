"""Classical OpenCV / scikit-image operators as enhancers.

Each operator is a plain function (uint8 RGB in, uint8 RGB out) named in the
registry by `source: {builtin: NAME}`; fixed choices come from the entry's
`options` (ClassicalOptions), tunable ones from its `params`. Together they must
name exactly the operator's arguments after (image, scale).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np

from studio.core.errors import ParameterError
from studio.core.psf import make_psf
from studio.core.vocabulary import RESIZE_METHODS as METHOD_NAMES
from studio.models.backends.base import EnhancerInfo, Runtime
from studio.models.options import ClassicalOptions
from studio.models.schema import ModelSpec

Operator = Callable[..., np.ndarray]
_INTERPOLATIONS = {
    "bicubic": cv2.INTER_CUBIC,
    "lanczos": cv2.INTER_LANCZOS4,
    "bilinear": cv2.INTER_LINEAR,
    "nearest": cv2.INTER_NEAREST,
}
RESIZE_METHODS = {name: _INTERPOLATIONS[name] for name in METHOD_NAMES}  # the vocabulary decides the names


def _to_uint8(image: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def resize(image: np.ndarray, scale: int, method: str = "bicubic") -> np.ndarray:
    if method not in RESIZE_METHODS:
        raise ParameterError(f"unknown resize method '{method}' (use {', '.join(RESIZE_METHODS)})")
    height, width = image.shape[:2]
    return cv2.resize(image, (width * scale, height * scale), interpolation=RESIZE_METHODS[method])


def unsharp_mask(image: np.ndarray, scale: int, sigma: float, amount: float, threshold: float) -> np.ndarray:
    """Add back `amount` times the detail lost to a Gaussian blur, ignoring differences below `threshold`."""
    source = image.astype(np.float32)
    blurred = cv2.GaussianBlur(source, (0, 0), sigma)
    detail = source - blurred
    if threshold > 0:
        detail[np.abs(detail) < threshold] = 0
    return _to_uint8(source + amount * detail)


def laplacian_sharpen(image: np.ndarray, scale: int, strength: float) -> np.ndarray:
    source = image.astype(np.float32)
    laplacian = cv2.Laplacian(source, cv2.CV_32F, ksize=1)
    return _to_uint8(source - strength * laplacian)


def clahe(image: np.ndarray, scale: int, clip_limit: float, tile_grid: int) -> np.ndarray:
    """Contrast-limited adaptive histogram equalisation of lightness only, so hues stay put."""
    lab = cv2.cvtColor(image, cv2.COLOR_RGB2LAB)
    equaliser = cv2.createCLAHE(clipLimit=clip_limit, tileGridSize=(tile_grid, tile_grid))
    lab[..., 0] = equaliser.apply(np.ascontiguousarray(lab[..., 0]))
    return cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)


def bilateral(image: np.ndarray, scale: int, diameter: int, sigma_color: float, sigma_space: float) -> np.ndarray:
    return cv2.bilateralFilter(image, diameter, sigma_color, sigma_space)


def nl_means(
    image: np.ndarray, scale: int, h: float, h_color: float, template_window: int, search_window: int
) -> np.ndarray:
    return cv2.fastNlMeansDenoisingColored(image, None, h, h_color, template_window | 1, search_window | 1)


def detail_enhance(image: np.ndarray, scale: int, sigma_s: float, sigma_r: float) -> np.ndarray:
    bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    return cv2.cvtColor(cv2.detailEnhance(bgr, sigma_s=sigma_s, sigma_r=sigma_r), cv2.COLOR_BGR2RGB)


def _deconvolve(image: np.ndarray, psf: np.ndarray, per_channel: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Run a single-channel deconvolution on each channel of a reflect-padded copy.

    Padding by the kernel size keeps the FFT's wrap-around from ringing at the borders.
    """
    pad = max(psf.shape) * 2
    source = image.astype(np.float64) / 255.0
    padded = np.pad(source, ((pad, pad), (pad, pad), (0, 0)), mode="reflect")
    channels = [per_channel(padded[..., c]) for c in range(padded.shape[2])]
    restored = np.stack(channels, axis=-1)[pad:-pad, pad:-pad]
    return _to_uint8(restored * 255.0)


def wiener(
    image: np.ndarray, scale: int, psf: str, sigma: float, length: float, angle: float, balance: float
) -> np.ndarray:
    """Wiener deconvolution H* / (|H|^2 + balance): `balance` is the noise-to-signal ratio (higher = smoother).

    The regulariser is constant, as in the textbook filter: scikit-image's default (a Laplacian) vanishes at low
    frequencies, where a long motion blur has its first zeros, and lets them ring as bands across the image.
    """
    from skimage.restoration import wiener as sk_wiener

    kernel = make_psf(psf, sigma=sigma, length=length, angle=angle)
    flat = np.ones((1, 1))  # the same regularisation at every frequency
    return _deconvolve(image, kernel, lambda channel: sk_wiener(channel, kernel, balance, reg=flat, clip=False))


def richardson_lucy(
    image: np.ndarray, scale: int, psf: str, sigma: float, length: float, angle: float, iterations: int
) -> np.ndarray:
    """Richardson-Lucy deconvolution: iterative maximum likelihood under Poisson noise."""
    from skimage.restoration import richardson_lucy as sk_rl

    kernel = make_psf(psf, sigma=sigma, length=length, angle=angle)
    return _deconvolve(image, kernel, lambda channel: sk_rl(channel, kernel, num_iter=iterations, clip=False))


OPERATORS: dict[str, Operator] = {
    "resize": resize,
    "unsharp_mask": unsharp_mask,
    "laplacian_sharpen": laplacian_sharpen,
    "clahe": clahe,
    "bilateral": bilateral,
    "nl_means": nl_means,
    "detail_enhance": detail_enhance,
    "wiener": wiener,
    "richardson_lucy": richardson_lucy,
}


def operator_arguments(operator: Operator) -> list[str]:
    """The arguments an operator takes from options and params (all but image and scale)."""
    return list(inspect.signature(operator).parameters)[2:]


class ClassicalEnhancer:
    """One operator bound to its registry entry's options and parameter values."""

    memory_mb = 0.0

    def __init__(self, spec: ModelSpec, params: dict[str, Any]):
        name = spec.source.builtin or ""
        if name not in OPERATORS:
            raise ParameterError(f"'{spec.id}' names unknown classical operator '{name}'")
        if not isinstance(spec.options, ClassicalOptions):
            raise ParameterError(f"'{spec.id}' is not a classical entry")
        self._operator = OPERATORS[name]
        self._kwargs = {**spec.options.operator_kwargs(), **params}
        wanted = operator_arguments(self._operator)
        missing = [arg for arg in wanted if arg not in self._kwargs]
        unknown = [arg for arg in self._kwargs if arg not in wanted]
        if missing or unknown:
            problems = [
                f"needs {', '.join(missing)}" if missing else "",
                f"takes no {', '.join(unknown)}" if unknown else "",
            ]
            raise ParameterError(
                f"'{spec.id}': operator '{name}' {' and '.join(p for p in problems if p)} "
                f"(its arguments: {', '.join(wanted)}; set them in options or params)"
            )
        self.info = EnhancerInfo(
            model_id=spec.id, task=spec.task, scale=spec.scale, backend="classical", tileable=False
        )  # classical operators are fast and some are global (CLAHE, deconvolution): never tiled

    def enhance(self, image: np.ndarray) -> np.ndarray:
        return self._operator(image, self.info.scale, **self._kwargs)


def load(
    spec: ModelSpec, weights_path: Any, params: dict[str, Any], settings: Any, runtime: Runtime
) -> ClassicalEnhancer:
    """Backend entry point used by the loader; operators have no precision or device to choose (not passed on)."""
    return ClassicalEnhancer(spec, params)
