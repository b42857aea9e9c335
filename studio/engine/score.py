"""Score images already on disk, made by any tool, with the comparison's own metric code.

No-reference metrics score each image; full-reference metrics score it against the reference given in the
same position. A reference must show the same picture at the same size: scoring against a resized reference
measures the resize as much as the image, so it is refused rather than done quietly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from studio.core.errors import StudioError, UsageError
from studio.core.media import decode
from studio.metrics import FULL_REFERENCE, MetricContext, MetricSpec, parse_metric_list


@dataclass
class Scores:
    """One row per image (`image` and one key per metric id; None where it could not be computed)."""

    metrics: list[MetricSpec]
    rows: list[dict[str, object]] = field(default_factory=list)
    unavailable: dict[str, str] = field(default_factory=dict)  # metric id -> why it could not run


def plan_metrics(
    metrics: str | None, references: Sequence[str | Path], images: Sequence[str | Path]
) -> list[MetricSpec]:
    """The metrics to compute, checked against what was given (one-line UsageError otherwise)."""
    if not images:
        raise UsageError("give at least one image to score")
    if references and len(references) != len(images):
        raise UsageError(f"give one reference per image: {len(images)} images, {len(references)} references")
    specs = parse_metric_list(metrics, has_reference=bool(references))
    full = [spec.id for spec in specs if spec.kind == FULL_REFERENCE]
    if full and not references:
        raise UsageError(f"{', '.join(full)} need a reference: give --reference REF for each image")
    return specs


def score_images(
    images: Sequence[str | Path],
    references: Sequence[str | Path],
    metrics: str | None,
    scale: int,
    store: object | None,
    max_pixels: int,
) -> Scores:
    """Decode each image (and its reference) and compute every metric; a metric that cannot run is recorded."""
    specs = plan_metrics(metrics, references, images)
    if scale < 1:
        raise UsageError(f"--scale must be at least 1, got {scale}")
    scores = Scores(metrics=specs)
    for spec in specs:
        reason = spec.availability(store)
        if reason:
            scores.unavailable[spec.id] = reason
    context = MetricContext(scale=scale, store=store)
    for index, path in enumerate(images):
        image = decode(path, max_pixels).rgb
        reference = decode(references[index], max_pixels).rgb if references else None
        if reference is not None and reference.shape != image.shape:
            raise UsageError(
                f"{Path(path).name} is {image.shape[1]}x{image.shape[0]} but its reference "
                f"{Path(references[index]).name} is {reference.shape[1]}x{reference.shape[0]}: "
                "give a reference of the same size"
            )
        row: dict[str, object] = {"image": str(path)}
        for spec in specs:
            if spec.id in scores.unavailable:
                row[spec.id] = None
                continue
            try:
                row[spec.id] = spec(image, reference, context)
            except StudioError as exc:
                row[spec.id] = None
                scores.unavailable.setdefault(spec.id, str(exc))
        scores.rows.append(row)
    return scores
