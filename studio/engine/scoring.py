"""One model's scores: each chosen metric on its output, the no-reference deltas over the input, and whether its
full-reference scores compare with the main group's (an output of another scale is flagged)."""

from __future__ import annotations

from studio.core.errors import StudioError
from studio.core.resize import resize_to
from studio.engine.inputs import ASPECT_TOLERANCE
from studio.engine.results import ModelResult, Results
from studio.metrics import FULL_REFERENCE, MetricContext
from studio.models.weights.store import WeightStore


def score_row(row: ModelResult, results: Results, store: WeightStore, scale: int) -> None:
    """Fill `row.metrics` (None where a metric cannot score it; the reason goes once into results.unavailable)
    and `row.deltas` (a no-reference score minus the input's, upscaled by bicubic to the output's size)."""
    output = row.output.rgb
    height, width = output.shape[:2]
    context = MetricContext(scale=scale, store=store)
    baseline = None
    reference = results.reference
    if reference is not None and reference.shape[:2] != (height, width):
        row.notes.append(f"reference resized {reference.shape[1]}x{reference.shape[0]} -> {width}x{height}")
        reference = resize_to(reference, width, height)
    for spec in results.metrics:
        if spec.id in results.unavailable or (spec.kind == FULL_REFERENCE and reference is None):
            row.metrics[spec.id] = None
            continue
        try:
            row.metrics[spec.id] = spec(output, reference, context)
            if spec.kind != FULL_REFERENCE:
                if baseline is None:
                    baseline = resize_to(results.input.rgb, width, height)
                row.deltas[spec.id] = row.metrics[spec.id] - spec(baseline, None, context)
        except StudioError as exc:
            row.metrics[spec.id] = None
            results.unavailable.setdefault(spec.id, str(exc))


def _scale_text(scale: float) -> str:
    return f"x{round(scale)}" if abs(scale - round(scale)) < 0.01 else f"x{scale:.2f}"


def comparability_flag(row: ModelResult, results: Results) -> str | None:
    """Why `row`'s full-reference scores are not comparable with the main group, or None.

    The reference is meant for outputs of its own size; an output more than 1% off (another scale)
    is scored against a resized reference, which measures something else.
    """
    target = results.target_size
    if target is None or row.output is None:
        return None
    width = row.output.size[0]
    if abs(width / target[0] - 1) <= ASPECT_TOLERANCE:
        return None
    if results.recipe is not None:
        against, main = f"a x{results.recipe.scale} degradation", f"x{results.recipe.scale}"
    else:
        main = _scale_text(target[0] / results.input.size[0])
        against = f"a {main} ground truth"
    return f"x{row.scale} output scored against {against}: not comparable with the {main} rows"
