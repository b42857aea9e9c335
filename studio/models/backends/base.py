"""The Enhancer protocol every backend implements, and the facts it reports."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True)
class EnhancerInfo:
    """What a loaded enhancer is and how it runs: shown in tables, used by tiling."""

    model_id: str
    task: str
    scale: int
    backend: str
    device: str = "cpu"
    precision: str = "fp32"
    tile_multiple: int = 1  # input sides must be a multiple of this
    min_size: int = 1  # smallest input side the model accepts
    tileable: bool = True  # False when tiles would change the output (global pooling)


@runtime_checkable
class Enhancer(Protocol):
    """Takes an HxWx3 uint8 RGB array, returns an (H*scale)x(W*scale)x3 uint8 RGB array.

    Implementations hold no per-request state, so one instance serves
    concurrent requests.
    """

    info: EnhancerInfo
    memory_mb: float

    def enhance(self, image: np.ndarray) -> np.ndarray: ...
