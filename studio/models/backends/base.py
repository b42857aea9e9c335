"""The Enhancer protocol every backend implements, the facts it reports, and the runtime choices it gets."""

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
    device_name: str = ""  # the GPU's own name on a Vulkan device ("NVIDIA GeForce RTX 4090"), else ""
    precision: str = "fp32"
    tile_multiple: int = 1  # input sides must be a multiple of this
    min_size: int = 1  # smallest input side the model accepts
    tileable: bool = True  # False when tiles would change the output (global pooling)
    fidelity_db: float | None = None  # int8: PSNR of its output against fp32 on a fixed probe (convert/quantize.py)


@dataclass(frozen=True)
class Runtime:
    """How the caller asks a network to run, apart from the registry entry: precision and device.

    "auto" lets the backend decide from the machine class (studio/models/backends/devices.py).
    Classical operators receive no runtime at all.
    """

    precision: str = "auto"  # vocabulary.PRECISIONS
    device: str = "auto"  # vocabulary.DEVICES, or cuda:N


@runtime_checkable
class Enhancer(Protocol):
    """Takes an HxWx3 uint8 RGB array, returns an (H*scale)x(W*scale)x3 uint8 RGB array.

    Implementations hold no per-request state, so one instance serves
    concurrent requests.
    """

    info: EnhancerInfo
    memory_mb: float

    def enhance(self, image: np.ndarray) -> np.ndarray: ...
