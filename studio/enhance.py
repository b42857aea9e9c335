"""Run enhancers on one decoded image: timing, alpha carry, and per-model failures.

A model that fails yields an outcome with an error message; the others still run.
The comparison engine builds on this.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .backends.base import Enhancer, EnhancerInfo
from .config import Settings
from .errors import EnhanceError, StudioError
from .loader import Loader
from .media import DecodedImage
from .registry import Registry
from .tiling import auto_tile_size, run_tiled


@dataclass
class Outcome:
    """One model's result on one image: an output image, or an error message."""

    model_id: str
    image: DecodedImage | None = None
    info: EnhancerInfo | None = None
    load_ms: float = 0.0
    latency_ms: float = 0.0
    error: str | None = None
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None


def choose_tile(enhancer: Enhancer, settings: Settings, tile: int | None = None) -> int | None:
    """The tile size for this enhancer, or None to run the whole image at once."""
    if not enhancer.info.tileable:
        return None
    size = tile if tile is not None else settings.tile
    return size or auto_tile_size(enhancer.info.scale, settings.tile_budget_mb)


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


def enhance_all(
    image: DecodedImage,
    model_ids: Iterable[str],
    registry: Registry,
    loader: Loader,
    params: dict[str, dict[str, Any]] | None = None,
    on_done: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Run each model once on `image`; failures become outcomes with `error` set."""
    outcomes = []
    for model_id in model_ids:
        outcome = Outcome(model_id=model_id)
        try:
            spec = registry.get(model_id)
            outcome.params = spec.resolve_params((params or {}).get(model_id))
            started = time.perf_counter()
            enhancer = loader.load(spec, outcome.params)
            outcome.load_ms = (time.perf_counter() - started) * 1000
            outcome.info = enhancer.info
            started = time.perf_counter()
            tile = choose_tile(enhancer, loader.settings)
            overlap = int(spec.options.get("tile_overlap", 16))
            outcome.image = run_enhancer(enhancer, image, tile, overlap)
            outcome.latency_ms = (time.perf_counter() - started) * 1000
        except StudioError as exc:
            outcome.error = str(exc)
        except MemoryError:
            outcome.error = f"'{model_id}' ran out of memory on a {image.size[0]}x{image.size[1]} image"
        except Exception as exc:  # a bug or a runtime failure in one model must not sink the others
            outcome.error = f"'{model_id}' failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        outcomes.append(outcome)
        if on_done:
            on_done(outcome)
    return outcomes
