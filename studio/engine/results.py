"""What a comparison produces: one row per model, plus the prepared input and reference.

Kept apart from compare.py so exporters and views depend on the data, not on the
code that makes it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from studio.core.degrade import Recipe
from studio.core.media import DecodedImage
from studio.metrics import FULL_REFERENCE, MetricSpec, get_metric

if TYPE_CHECKING:
    from studio.engine.request import CompareRequest


@dataclass
class ModelResult:
    model_id: str
    name: str = ""
    output: DecodedImage | None = None
    backend: str = ""
    device: str = ""
    device_name: str = ""  # the Vulkan GPU's name when it ran on one
    precision: str = ""
    fidelity_db: float | None = None  # a non-fp32 form's PSNR against the model's fp32 output, where measured
    load_ms: float = 0.0
    first_ms: float = 0.0
    warm_ms: float | None = None
    peak_mb: float = 0.0
    metrics: dict[str, float | None] = field(default_factory=dict)
    deltas: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    scale: int = 1  # the scale the enhancer actually ran at
    flag: str | None = None  # why this row's numbers are not comparable with the main group, in one line

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
    source: str | None = None  # the input's file name, so an export can be repeated from its folder
    source_sha256: str | None = None  # of the input's decoded pixels (replay.pixels_sha256), to recognise it again
    reference_source: str | None = None  # the ground truth's file name, when one was given
    cancelled: str | None = None  # "cancelled after 2 of 5 models" or the time limit's reason; rows: what finished
    machine: dict[str, Any] = field(default_factory=dict)  # where it ran (engine.provenance.machine_info)

    def groups(self, metric_id: str) -> list[tuple[str, list[ModelResult]]]:
        """The successful rows in groups whose values of `metric_id` may be compared: (label, rows).

        Full-reference scores and scale-dependent no-reference scores (sharpness, BRISQUE) are only
        comparable between outputs of one size: a x2 output is scored against a reference resized to it,
        and a larger image is smoother per pixel. Groups are labelled by output size, the reference's
        size first ("... (reference size)"); a single group (everything comparable) is labelled "".
        """
        spec = get_metric(metric_id)
        rows = [row for row in self.rows if row.ok]
        if not (spec.kind == FULL_REFERENCE or spec.scale_dependent):
            return [("", rows)]
        by_size: dict[tuple[int, int], list[ModelResult]] = {}
        for row in rows:
            by_size.setdefault(row.output.size, []).append(row)
        if len(by_size) <= 1:
            return [("", rows)]
        target = self.target_size if spec.kind == FULL_REFERENCE else None
        sizes = sorted(by_size, key=lambda size: size != target)  # stable: otherwise in the rows' order
        return [(_size_label(size, size == target), by_size[size]) for size in sizes]

    def best(self, metric_id: str) -> set[str]:
        """Model ids holding the best value of `metric_id` within their group (ties included).

        Rows without a finite value never count, and a group with a single finite value has no winner:
        there is nothing it was compared with.
        """
        spec = get_metric(metric_id)
        winners: set[str] = set()
        for _, rows in self.groups(metric_id):
            values = {row.model_id: row.metrics.get(metric_id) for row in rows}
            finite = {key: value for key, value in values.items() if _finite(value)}
            if len(finite) < 2:
                continue
            top = min(finite.values()) if spec.lower_better else max(finite.values())
            winners.update(key for key, value in finite.items() if value == top)
        return winners

    @property
    def target_size(self) -> tuple[int, int] | None:
        """(width, height) of the reference every full-reference score is meant for; None without one."""
        if self.reference is None:
            return None
        return self.reference.shape[1], self.reference.shape[0]


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def _size_label(size: tuple[int, int], reference_size: bool) -> str:
    return f"{size[0]}x{size[1]} outputs" + (" (reference size)" if reference_size else "")
