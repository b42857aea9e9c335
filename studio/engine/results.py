"""What a comparison produces: one row per model, plus the prepared input and reference.

Kept apart from compare.py so exporters and views depend on the data, not on the
code that makes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from studio.core.degrade import Recipe
from studio.core.media import DecodedImage
from studio.metrics import MetricSpec

if TYPE_CHECKING:
    from studio.engine.request import CompareRequest


@dataclass
class ModelResult:
    model_id: str
    name: str = ""
    output: DecodedImage | None = None
    backend: str = ""
    device: str = ""
    precision: str = ""
    load_ms: float = 0.0
    first_ms: float = 0.0
    warm_ms: float | None = None
    peak_mb: float = 0.0
    metrics: dict[str, float | None] = field(default_factory=dict)
    deltas: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def latency_ms(self) -> float:
        return self.warm_ms if self.warm_ms is not None else self.first_ms

    @property
    def megapixels_per_s(self) -> float | None:
        if not self.ok or self.latency_ms <= 0:
            return None
        height, width = self.output.rgb.shape[:2]
        return width * height / 1e6 / (self.latency_ms / 1000)


@dataclass
class Results:
    input: DecodedImage
    reference: np.ndarray | None
    metrics: list[MetricSpec]
    rows: list[ModelResult] = field(default_factory=list)
    recipe: Recipe | None = None
    original_size: tuple[int, int] = (0, 0)
    preview_note: str | None = None
    unavailable: dict[str, str] = field(default_factory=dict)
    request: CompareRequest | None = None  # what was asked, for exports that must be repeatable
