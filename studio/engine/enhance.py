"""Run one enhancer on one decoded image: tiling choice, output checks, alpha carry.

compare.py builds the multi-model comparison on this.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

import numpy as np

from studio.core.config import Settings
from studio.core.errors import EnhanceError
from studio.core.media import DecodedImage
from studio.core.tiling import auto_tile_size, run_tiled
from studio.models.backends.base import Enhancer

logger = logging.getLogger(__name__)


def unexpected_failure(model_id: str, error: BaseException, where: str) -> str:
    """A model's unexpected exception (a bug, a runtime's assertion) as its row's one-line error: the traceback
    goes to the log under a short error id, and the row says only that id, never the exception's internals."""
    error_id = uuid.uuid4().hex[:12]
    logger.error(
        "model %s failed %s (error id %s)",
        model_id,
        where,
        error_id,
        exc_info=(type(error), error, error.__traceback__),
        extra={"event": "model_fault", "error_id": error_id},
    )
    return f"'{model_id}' failed unexpectedly {where} (error id {error_id}, its traceback in the log)"


def choose_tile(enhancer: Enhancer, settings: Settings, tile: int | None = None) -> int | None:
    """The tile size for this enhancer, or None to run the whole image at once.

    `tile`: None follows settings (STUDIO_TILE, 0 = automatic); 0 never tiles; n tiles at n px.
    """
    return tile_for(enhancer.info.tileable, enhancer.info.scale, settings, tile)


def tile_for(tileable: bool, scale: int, settings: Settings, tile: int | None = None) -> int | None:
    """choose_tile's rule for a model not loaded yet (footprint.py asks it before a run)."""
    if not tileable or tile == 0:
        return None
    size = tile if tile is not None else settings.tile
    return size or auto_tile_size(scale, settings.tile_budget_mb)


def release_memory(enhancer: Enhancer) -> None:
    """After a run: let the enhancer hand back memory it pools between calls (the ncnn backend's activations)."""
    release = getattr(enhancer, "release_memory", None)
    if release is not None:
        release()


def run_enhancer(
    enhancer: Enhancer,
    image: DecodedImage,
    tile: int | None = None,
    overlap: int = 16,
    on_tile: Callable[[int, int], None] | None = None,
) -> DecodedImage:
    """Enhance the colour (tiled when `tile` is smaller than the image), check it, re-attach alpha."""
    height, width = image.rgb.shape[:2]
    scale = enhancer.info.scale
    if tile and (height > tile or width > tile):
        output = run_tiled(enhancer.enhance, image.rgb, scale, tile, overlap, on_tile)
    else:
        output = enhancer.enhance(image.rgb)
        if on_tile:
            on_tile(1, 1)
    expected = (image.rgb.shape[0] * scale, image.rgb.shape[1] * scale, 3)
    if not isinstance(output, np.ndarray) or output.dtype != np.uint8 or output.shape != expected:
        got = getattr(output, "shape", type(output).__name__)
        raise EnhanceError(f"'{enhancer.info.model_id}' returned {got}, expected {expected} uint8")
    return image.with_rgb(output)
