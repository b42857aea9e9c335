"""Padding to a network's size requirements, and overlapping tiles with blended seams.

Pure functions with no state, so concurrent requests never share tiling state
(the trap in RealESRGANer, which keeps per-request tiles on a shared object).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


def padded_size(size: int, multiple: int = 1, minimum: int = 1) -> int:
    """The smallest size >= max(size, minimum) that is a multiple of `multiple`."""
    target = max(size, minimum)
    return -(-target // multiple) * multiple


def pad_to(image: np.ndarray, multiple: int = 1, minimum: int = 1) -> tuple[np.ndarray, tuple[int, int]]:
    """Reflect-pad bottom and right so both sides satisfy the requirements.

    Returns the padded array and the original (height, width) for cropping back.
    Reflection needs the pad to be smaller than the side, so tiny images fall
    back to edge replication.
    """
    height, width = image.shape[:2]
    pad_h = padded_size(height, multiple, minimum) - height
    pad_w = padded_size(width, multiple, minimum) - width
    if pad_h == 0 and pad_w == 0:
        return image, (height, width)
    mode = "reflect" if pad_h < height and pad_w < width else "edge"
    widths = ((0, pad_h), (0, pad_w)) + ((0, 0),) * (image.ndim - 2)
    return np.pad(image, widths, mode=mode), (height, width)


def crop_output(output: np.ndarray, original_hw: tuple[int, int], scale: int) -> np.ndarray:
    height, width = original_hw
    return output[: height * scale, : width * scale]


@dataclass(frozen=True)
class Tile:
    """One tile: the core region it owns (y0, y1, x0, x1) and the padded region it reads."""

    core: tuple[int, int, int, int]
    read: tuple[int, int, int, int]


def plan_tiles(height: int, width: int, tile: int, overlap: int) -> list[Tile]:
    """Cover the image with tiles of at most `tile` px plus `overlap` px of context on each side."""
    if tile < 1 or overlap < 0:
        raise ValueError("tile must be >= 1 and overlap >= 0")
    tiles = []
    for y0 in range(0, height, tile):
        for x0 in range(0, width, tile):
            y1, x1 = min(y0 + tile, height), min(x0 + tile, width)
            read = (max(0, y0 - overlap), min(height, y1 + overlap), max(0, x0 - overlap), min(width, x1 + overlap))
            tiles.append(Tile(core=(y0, y1, x0, x1), read=read))
    return tiles


def _feather(length: int, ramp_start: int, ramp_end: int) -> np.ndarray:
    """1 inside, a linear ramp over the overlap on sides that border another tile."""
    weights = np.ones(length, np.float32)
    if ramp_start:
        weights[:ramp_start] = np.linspace(0.0, 1.0, ramp_start + 2, dtype=np.float32)[1:-1]
    if ramp_end:
        weights[length - ramp_end :] = np.linspace(1.0, 0.0, ramp_end + 2, dtype=np.float32)[1:-1]
    return weights


def run_tiled(
    enhance: Callable[[np.ndarray], np.ndarray],
    image: np.ndarray,
    scale: int,
    tile: int,
    overlap: int,
    on_tile: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Enhance `image` tile by tile and blend the overlaps, so seams do not show.

    Each tile reads `overlap` px of context; where two tiles overlap, their
    outputs are mixed with linear weights (the overlap's middle is shared evenly).
    """
    height, width = image.shape[:2]
    tiles = plan_tiles(height, width, tile, overlap)
    accumulated = np.zeros((height * scale, width * scale, 3), np.float32)
    total_weight = np.zeros((height * scale, width * scale, 1), np.float32)
    for index, piece in enumerate(tiles):
        ry0, ry1, rx0, rx1 = piece.read
        output = enhance(np.ascontiguousarray(image[ry0:ry1, rx0:rx1])).astype(np.float32)
        # ramps span the overlap that this tile shares with its neighbours
        top = (piece.core[0] - ry0) * 2 * scale if ry0 < piece.core[0] else 0
        bottom = (ry1 - piece.core[1]) * 2 * scale if ry1 > piece.core[1] else 0
        left = (piece.core[2] - rx0) * 2 * scale if rx0 < piece.core[2] else 0
        right = (rx1 - piece.core[3]) * 2 * scale if rx1 > piece.core[3] else 0
        out_h, out_w = output.shape[:2]
        weight_y = _feather(out_h, min(top, out_h // 2), min(bottom, out_h // 2))
        weight_x = _feather(out_w, min(left, out_w // 2), min(right, out_w // 2))
        weight = (weight_y[:, None] * weight_x[None, :])[..., None]
        accumulated[ry0 * scale : ry1 * scale, rx0 * scale : rx1 * scale] += output * weight
        total_weight[ry0 * scale : ry1 * scale, rx0 * scale : rx1 * scale] += weight
        if on_tile:
            on_tile(index + 1, len(tiles))
    # normalise in place: at 8192x8192 every float temporary would cost another 805 MB
    np.maximum(total_weight, 1e-6, out=total_weight)
    accumulated /= total_weight
    del total_weight
    np.rint(accumulated, out=accumulated)
    np.clip(accumulated, 0, 255, out=accumulated)
    return accumulated.astype(np.uint8)


def auto_tile_size(scale: int, budget_mb: float, bytes_per_output_pixel: float = 600.0) -> int:
    """The largest square tile whose activations fit `budget_mb`, in steps of 64 px (at least 64).

    `bytes_per_output_pixel` is a rough activation cost per output pixel: about
    600 B for RRDBNet-sized networks in fp32 on CPU, measured with peak RSS.
    """
    side = int((budget_mb * 2**20 / bytes_per_output_pixel) ** 0.5 / scale)
    return max(64, side // 64 * 64)
