"""Synthetic degradations for reference mode: start sharp, degrade with known, seeded steps.

Order follows the classic SR degradation model: blur -> bicubic downscale ->
noise -> JPEG. A recipe reads and writes as text ("x4,blur=gauss:1.2,noise=5,jpeg=75")
and is stored with the results so a run can be repeated exactly.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass

import cv2
import numpy as np

from studio.core.errors import UsageError
from studio.core.media import decode, encode
from studio.core.psf import gaussian_psf, motion_psf

# Every recipe parameter is bounded: an unbounded blur or motion kernel costs memory and time with the square
# of its size (blur=gauss:2000 asked for a 12001x12001 kernel, 3.35 GB and 20 s), and a seed past 32 bits
# cannot be written to results.json. The bounds are wide of anything a real degradation study uses.
SCALES = (1, 2, 3, 4, 8)
BLUR_SIGMA = (0.1, 10.0)  # Gaussian sigma in px: a kernel of at most 61x61
MOTION_LENGTH = (1.0, 64.0)  # px
MOTION_ANGLE = (-180.0, 180.0)  # degrees
GAUSS_NOISE = (0.0, 100.0)  # sigma in 0-255 units
POISSON_PEAK = (0.0, 10000.0)  # photons at white; 0 = no noise
JPEG_QUALITY = (1, 100)
SEED = (0, 2**32 - 1)


def _within(value: float, bounds: tuple[float, float], what: str) -> None:
    """UsageError unless `value` is a finite number in `bounds` (a whole one where the bounds are ints)."""
    low, high = bounds
    kind = numbers.Integral if isinstance(low, int) and isinstance(high, int) else numbers.Real
    if isinstance(value, bool) or not (isinstance(value, kind) and math.isfinite(value) and low <= value <= high):
        shown = (
            repr(value) if isinstance(value, (bool, str)) or not isinstance(value, numbers.Real) else f"{value:.10g}"
        )
        whole = "a whole number " if kind is numbers.Integral else ""
        raise UsageError(f"{what} must be {whole}between {low:g} and {high:.10g}, got {shown}")


@dataclass(frozen=True)
class Recipe:
    scale: int = 1
    blur: str | None = None  # "gauss" or "motion"
    blur_sigma: float = 1.2
    motion_length: float = 9.0
    motion_angle: float = 0.0
    noise: float = 0.0  # Gaussian sigma in 0-255 units, or Poisson peak scale when noise_kind="poisson"
    noise_kind: str = "gauss"
    jpeg: int | None = None
    seed: int = 0

    @classmethod
    def parse(cls, text: str) -> Recipe:
        """'x4,blur=gauss:1.2,noise=5,jpeg=75,seed=3' (any order; every part optional)."""
        values: dict = {}
        for part in (p.strip() for p in text.split(",") if p.strip()):
            key, _, value = part.partition("=")
            try:
                if not value and key.lower().startswith("x"):
                    values["scale"] = int(key[1:])
                elif key == "blur":
                    kind, _, args = value.partition(":")
                    if kind in ("gauss", "gaussian"):
                        values.update(blur="gauss", blur_sigma=float(args or 1.2))
                    elif kind == "motion":
                        length, _, angle = args.partition(":")
                        values.update(blur="motion", motion_length=float(length or 9), motion_angle=float(angle or 0))
                    else:
                        raise ValueError
                elif key == "noise":
                    kind, _, amount = value.rpartition(":")
                    values.update(noise=float(amount), noise_kind=kind or "gauss")
                elif key == "jpeg":
                    values["jpeg"] = int(value)
                elif key == "seed":
                    values["seed"] = int(value)
                else:
                    raise ValueError
            except ValueError:
                raise UsageError(
                    f"cannot read degradation '{part}': use e.g. x4,blur=gauss:1.2,blur=motion:9:30,"
                    "noise=5,noise=poisson:30,jpeg=75,seed=0"
                ) from None
        recipe = cls(**values)
        recipe.check()
        return recipe

    def check(self) -> None:
        """UsageError (one line) for any value out of its bounds (see the constants above), NaN included."""
        if isinstance(self.scale, bool) or not isinstance(self.scale, numbers.Integral) or self.scale not in SCALES:
            raise UsageError(f"degradation scale must be 1, 2, 3, 4 or 8, got {self.scale}")
        if self.blur not in (None, "gauss", "motion"):
            raise UsageError(f"blur must be gauss or motion, got {self.blur!r}")
        if self.blur == "gauss":
            _within(self.blur_sigma, BLUR_SIGMA, "blur sigma")
        if self.blur == "motion":
            _within(self.motion_length, MOTION_LENGTH, "motion blur length")
            _within(self.motion_angle, MOTION_ANGLE, "motion blur angle")
        if self.noise_kind not in ("gauss", "poisson"):
            raise UsageError(f"noise must be of kind gauss or poisson, got {self.noise_kind!r}")
        _within(self.noise, GAUSS_NOISE if self.noise_kind == "gauss" else POISSON_PEAK, f"{self.noise_kind} noise")
        if self.jpeg is not None:
            _within(self.jpeg, JPEG_QUALITY, "jpeg quality")
        _within(self.seed, SEED, "seed")

    def to_text(self) -> str:
        parts = [f"x{self.scale}"] if self.scale != 1 else []
        if self.blur == "gauss":
            parts.append(f"blur=gauss:{self.blur_sigma:g}")
        elif self.blur == "motion":
            parts.append(f"blur=motion:{self.motion_length:g}:{self.motion_angle:g}")
        if self.noise:
            parts.append(f"noise={'poisson:' if self.noise_kind == 'poisson' else ''}{self.noise:g}")
        if self.jpeg is not None:
            parts.append(f"jpeg={self.jpeg}")
        parts.append(f"seed={self.seed}")
        return ",".join(parts)

    def to_dict(self) -> dict:
        return {**asdict(self), "text": self.to_text()}

    def kernel(self) -> np.ndarray | None:
        if self.blur == "gauss":
            return gaussian_psf(self.blur_sigma)
        if self.blur == "motion":
            return motion_psf(self.motion_length, self.motion_angle)
        return None


def crop_to_multiple(image: np.ndarray, scale: int) -> np.ndarray:
    """Trim right and bottom so both sides divide by `scale` (so x`scale` outputs match the reference).

    An image narrower or shorter than `scale` px would leave nothing to degrade: UsageError.
    """
    height, width = image.shape[:2]
    if min(height, width) < scale:
        raise UsageError(
            f"the image is {width}x{height}: a x{scale} degradation needs at least {scale} px on each side "
            "(use a larger image or a smaller degradation scale)"
        )
    return image[: height - height % scale, : width - width % scale]


def degrade(sharp: np.ndarray, recipe: Recipe) -> np.ndarray:
    """Apply `recipe` to a sharp HxWx3 uint8 image whose sides divide by recipe.scale."""
    rng = np.random.default_rng(recipe.seed)
    image = sharp.astype(np.float64)
    kernel = recipe.kernel()
    if kernel is not None:
        image = cv2.filter2D(image, -1, kernel, borderType=cv2.BORDER_REFLECT)
    if recipe.scale > 1:
        height, width = sharp.shape[:2]
        image = cv2.resize(image, (width // recipe.scale, height // recipe.scale), interpolation=cv2.INTER_CUBIC)
    if recipe.noise > 0:
        if recipe.noise_kind == "gauss":
            image = image + rng.normal(0.0, recipe.noise, image.shape)
        else:
            peak = recipe.noise
            image = rng.poisson(np.clip(image, 0, 255) / 255.0 * peak) / peak * 255.0
    result = np.clip(np.rint(image), 0, 255).astype(np.uint8)
    if recipe.jpeg is not None:
        result = decode(encode(result, "jpeg", quality=recipe.jpeg), max_pixels=result.size).rgb
    return result
