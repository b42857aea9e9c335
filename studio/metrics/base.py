"""What every metric declares (after pyiqa): kind, direction, range, availability."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

FULL_REFERENCE: Literal["full-reference"] = "full-reference"
NO_REFERENCE: Literal["no-reference"] = "no-reference"


@dataclass(frozen=True)
class MetricContext:
    """What a metric may need besides the images: the model's scale (border crop) and weights."""

    scale: int = 1
    store: object | None = None  # a WeightStore, for metrics with learned weights


@dataclass(frozen=True)
class MetricSpec:
    id: str
    name: str
    kind: Literal["full-reference", "no-reference"]
    lower_better: bool
    value_range: tuple[float, float]
    compute: Callable[..., float]  # (output, reference | None, context) -> float
    description: str = ""
    availability: Callable[[object | None], str | None] = lambda store: None  # reason it cannot run, or None
    # A no-reference score that changes with the image size alone (sharpness: the Laplacian's variance falls
    # as an image is enlarged), so its values are compared only among outputs of one size.
    scale_dependent: bool = False

    @property
    def arrow(self) -> str:
        """How the UI and tables mark the better direction."""
        return "↓" if self.lower_better else "↑"

    @property
    def label(self) -> str:
        return f"{self.name} {self.arrow}"

    def __call__(self, output: np.ndarray, reference: np.ndarray | None, context: MetricContext) -> float:
        return float(self.compute(output, reference, context))
