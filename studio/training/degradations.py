"""Degradations synthesised on the fly for training, each drawn from a seeded generator.

- deblur: random camera-shake kernels (a random trajectory, rasterised),
  straight motion at any angle, or Gaussian defocus, then mild Gaussian noise;
- denoise: Gaussian noise (sigma 5-50) or Poisson noise;
- sr: bicubic downscale (MATLAB imresize, antialiased, as super-resolution papers); with
  `--downscale mixed`, half the samples are downscaled as the studio's own `xN` degradation does it
  (OpenCV INTER_CUBIC, which does not filter first and aliases), so the network meets both.

The held-out set is degraded with fixed seeds per image, so every evaluation of
every model sees the same inputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from studio.core.degrade import Recipe, degrade
from studio.core.psf import gaussian_psf, motion_psf
from studio.metrics.matlab import imresize

MOTION_LENGTH = (3.0, 17.0)  # px: travel of a training motion kernel (a trajectory, or a straight line)
DEFOCUS_SIGMA = (0.8, 3.0)
DEBLUR_NOISE = (0.0, 2.0)  # sigma (0-255) added after blur: a real sensor is never noise-free
DENOISE_SIGMA = (5.0, 50.0)
POISSON_PEAK = (10.0, 200.0)
# Shares of the deblurring kernels. Straight motion leads: with 40 % of it (and 45 % camera shake) DMCNN learned
# to sharpen mild blur too hard and ended 0.04 dB below held-out straight-motion inputs after 4000 steps; with
# about three quarters it gained 0.35 dB in 6000 (camera shake and defocus stay in the mix).
KERNEL_SHARES = {"trajectory": 0.2, "line": 0.7, "defocus": 0.1}
EVAL_MOTION_LENGTH = (5.0, 15.0)  # px of straight motion at a random angle: the studio's `blur=motion` kernel
EVAL_NOISE_SIGMA = 25.0


@dataclass(frozen=True)
class Degradation:
    """What one sample got: kept in the card's description of the held-out set."""

    kind: str
    detail: str


def trajectory_kernel(rng: np.random.Generator, length: float, supersample: int = 8) -> np.ndarray:
    """A camera-shake PSF: a random walk with inertia (after Boracchi & Foi 2012), rasterised sub-pixel.

    The path keeps a heading that turns a little each step and sometimes jerks; it is scaled to `length`
    px of travel and centred on its centre of mass, so the blur does not shift the image.
    """
    steps = 64
    heading = rng.uniform(0, 2 * np.pi)
    turn = rng.uniform(0.02, 0.25)
    points = [np.zeros(2)]
    velocity = np.array([np.cos(heading), np.sin(heading)])
    for _ in range(steps):
        velocity = velocity + rng.normal(0.0, turn, 2)
        if rng.random() < 0.05:  # an occasional jerk
            velocity = velocity + rng.normal(0.0, 0.8, 2)
        velocity = velocity / max(np.linalg.norm(velocity), 1e-6)
        points.append(points[-1] + velocity)
    path = np.array(points)
    travel = np.sum(np.linalg.norm(np.diff(path, axis=0), axis=1))
    path = path * (length / max(travel, 1e-6))
    path -= path.mean(axis=0)
    size = int(np.ceil(np.abs(path).max() * 2)) + 3
    size += 1 - size % 2
    grid = np.zeros((size * supersample, size * supersample), np.float64)
    dense = np.linspace(0, 1, steps * 8)
    xs = np.interp(dense, np.linspace(0, 1, len(path)), path[:, 0])
    ys = np.interp(dense, np.linspace(0, 1, len(path)), path[:, 1])
    cols = np.clip(((xs + size / 2) * supersample).astype(int), 0, size * supersample - 1)
    rows = np.clip(((ys + size / 2) * supersample).astype(int), 0, size * supersample - 1)
    np.add.at(grid, (rows, cols), 1.0)
    kernel = grid.reshape(size, supersample, size, supersample).sum(axis=(1, 3))
    return kernel / kernel.sum()


def blur_kernel(rng: np.random.Generator) -> tuple[np.ndarray, Degradation]:
    """A deblurring kernel: camera shake (random trajectories), straight motion at a random angle, or defocus,
    in the shares of KERNEL_SHARES."""
    draw = rng.random()
    if draw < KERNEL_SHARES["trajectory"]:
        length = rng.uniform(*MOTION_LENGTH)
        return trajectory_kernel(rng, length), Degradation("motion", f"trajectory {length:.1f} px")
    if draw < KERNEL_SHARES["trajectory"] + KERNEL_SHARES["line"]:
        length, angle = rng.uniform(*MOTION_LENGTH), rng.uniform(-180, 180)
        return motion_psf(length, angle), Degradation("motion", f"line {length:.1f} px at {angle:.0f} degrees")
    sigma = rng.uniform(*DEFOCUS_SIGMA)
    return gaussian_psf(sigma), Degradation("defocus", f"Gaussian sigma {sigma:.2f}")


def _quantised(image: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def blur(sharp: np.ndarray, kernel: np.ndarray, noise: float, rng: np.random.Generator) -> np.ndarray:
    """Blur `sharp` (uint8) with `kernel` (reflected borders), add Gaussian noise, round to uint8."""
    blurred = cv2.filter2D(sharp.astype(np.float32), -1, kernel.astype(np.float32), borderType=cv2.BORDER_REFLECT)
    if noise > 0:
        blurred = blurred + rng.normal(0.0, noise, blurred.shape).astype(np.float32)
    return _quantised(blurred)


def add_noise(
    sharp: np.ndarray, rng: np.random.Generator, poisson_share: float = 0.2
) -> tuple[np.ndarray, Degradation]:
    """Gaussian noise of a random sigma (most samples) or Poisson noise of a random peak."""
    if rng.random() < poisson_share:
        peak = rng.uniform(*POISSON_PEAK)
        noisy = rng.poisson(sharp.astype(np.float64) / 255.0 * peak) / peak * 255.0
        return _quantised(noisy), Degradation("poisson", f"peak {peak:.0f}")
    sigma = rng.uniform(*DENOISE_SIGMA)
    return _quantised(sharp + rng.normal(0.0, sigma, sharp.shape)), Degradation("gauss", f"sigma {sigma:.1f}")


def downscale(sharp: np.ndarray, scale: int) -> np.ndarray:
    """Bicubic downscale by `scale` (sides must divide by it) as super-resolution papers make their inputs:
    MATLAB's imresize, antialiased (OpenCV's INTER_CUBIC does not filter first, and aliases)."""
    return _quantised(imresize(sharp, 1 / scale))


def training_pair(
    task: str, sharp: np.ndarray, scale: int, rng: np.random.Generator, margin: int, sr_downscale: str = "matlab"
) -> tuple[np.ndarray, np.ndarray]:
    """(degraded, target) from a sharp crop that carries `margin` extra px on each side for the blur to
    read; both are cut back to the central patch so no border effect is learned."""
    if task == "sr":
        if sr_downscale == "mixed" and rng.random() < 0.5:  # "matlab" draws nothing: its runs stay as they were
            return degrade(sharp, Recipe(scale=scale)), sharp  # the studio's own xN degradation, exactly
        return downscale(sharp, scale), sharp
    if task == "deblur":
        kernel, _ = blur_kernel(rng)
        degraded = blur(sharp, kernel, rng.uniform(*DEBLUR_NOISE), rng)
    else:
        degraded, _ = add_noise(sharp, rng)
    inner = (slice(margin, sharp.shape[0] - margin), slice(margin, sharp.shape[1] - margin))
    return degraded[inner], sharp[inner]


def held_out_input(task: str, sharp: np.ndarray, scale: int, seed: int) -> tuple[np.ndarray, np.ndarray, Degradation]:
    """(degraded input, reference, what was done) for one held-out image, fixed by `seed`.

    deblur: straight motion of 5-15 px at a random angle (the kernel of the studio's `blur=motion:L:A` recipe
    and of the classical motion deconvolutions) plus sigma-1 noise; denoise: Gaussian sigma 25; sr: bicubic xN.
    """
    rng = np.random.default_rng(seed)
    if task == "sr":
        height, width = sharp.shape[:2]
        reference = sharp[: height - height % scale, : width - width % scale]
        return downscale(reference, scale), reference, Degradation("bicubic", f"x{scale} bicubic downscale")
    if task == "deblur":
        length, angle = rng.uniform(*EVAL_MOTION_LENGTH), rng.uniform(-180, 180)
        blurred = blur(sharp, motion_psf(length, angle), 1.0, rng)
        return blurred, sharp, Degradation("motion", f"motion {length:.1f} px at {angle:.0f} degrees, noise 1")
    noisy = _quantised(sharp + rng.normal(0.0, EVAL_NOISE_SIGMA, sharp.shape))
    return noisy, sharp, Degradation("gauss", f"sigma {EVAL_NOISE_SIGMA:g}")
