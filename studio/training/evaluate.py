"""The end of `studio train`: the held-out images through the comparison engine, against the task's
classical baselines, into one table (mean PSNR / SSIM per model) for the model card.

Every model runs on the same degraded inputs (seeded per image, see
degradations.held_out_input) at full size and fp32, exactly as the Compare tab
would run them with a ground-truth image.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from studio.core.media import DecodedImage
from studio.engine import compare
from studio.engine.request import CompareRequest
from studio.metrics import get_metric
from studio.metrics.base import MetricContext
from studio.models.loader import Loader
from studio.models.registry import Registry
from studio.models.schema import ModelSpec
from studio.training.data import ImageSet
from studio.training.degradations import held_out_input

BASELINES = {
    "deblur": ("wiener-gaussian", "wiener-motion", "richardson-lucy-gaussian", "richardson-lucy-motion"),
    "denoise": ("nl-means", "bilateral"),
    "sr": ("bicubic-x{scale}", "lanczos-x{scale}"),
}
METRICS = {"sr": ("psnr_y", "ssim_y", "psnr"), "deblur": ("psnr", "ssim"), "denoise": ("psnr", "ssim")}
INPUT_ROW = "(the degraded input)"  # deblur and denoise: what doing nothing scores, the floor every model must clear


@dataclass
class Evaluation:
    """Mean of each metric per model over the held-out images, plus what each image got."""

    task: str
    metrics: tuple[str, ...]
    means: dict[str, dict[str, float]] = field(default_factory=dict)  # model id -> metric -> mean
    inputs: dict[str, str] = field(default_factory=dict)  # image -> its degradation
    errors: dict[str, str] = field(default_factory=dict)  # model id -> first error

    @property
    def headline(self) -> str:
        return self.metrics[0]

    def best_baseline(self, trained_id: str) -> tuple[str, float] | None:
        scores = {m: v[self.headline] for m, v in self.means.items() if m not in (trained_id, INPUT_ROW)}
        if not scores:
            return None
        best = max(scores, key=scores.get)
        return best, scores[best]

    def gain_over_input(self, trained_id: str) -> float | None:
        """What the trained model adds to the degraded input on the headline metric (dB); None for SR."""
        if INPUT_ROW not in self.means or trained_id not in self.means:
            return None
        return self.means[trained_id][self.headline] - self.means[INPUT_ROW][self.headline]

    def margin(self, trained_id: str) -> float | None:
        """The trained model's lead over the best baseline on the headline metric (dB)."""
        best = self.best_baseline(trained_id)
        if best is None or trained_id not in self.means:
            return None
        return self.means[trained_id][self.headline] - best[1]


def baselines(task: str, scale: int) -> tuple[str, ...]:
    return tuple(model_id.format(scale=scale) for model_id in BASELINES[task])


def evaluate(
    spec: ModelSpec,
    task: str,
    scale: int,
    images: ImageSet,
    registry: Registry,
    loader: Loader,
    on_image: Callable[[int, int, str], None] | None = None,
) -> Evaluation:
    """Run the trained model and the baselines on every held-out image; average the scores."""
    with_trained = Registry([*registry, spec])
    models = (spec.id, *baselines(task, scale))
    request = CompareRequest.build(
        with_trained, models, list(METRICS[task]), with_reference=True, preview=None, precision="fp32", max_models=None
    )
    result = Evaluation(task, METRICS[task])
    rows = (*models, INPUT_ROW) if task != "sr" else models
    scores: dict[str, dict[str, list[float]]] = {m: {k: [] for k in METRICS[task]} for m in rows}
    names = sorted(images.held_out)
    for index, name in enumerate(names):
        if on_image:
            on_image(index, len(names), name)
        degraded, reference, what = held_out_input(task, images.held_out[name], scale, index)
        result.inputs[name] = what.detail
        results = compare.run(request, DecodedImage(degraded), with_trained, loader, reference=DecodedImage(reference))
        if task != "sr":
            for metric in METRICS[task]:
                scores[INPUT_ROW][metric].append(get_metric(metric)(degraded, reference, MetricContext(scale=1)))
        for row in results.rows:
            if row.error:
                result.errors.setdefault(row.model_id, row.error)
                continue
            for metric in METRICS[task]:
                value = row.metrics.get(metric)
                if value is not None:
                    scores[row.model_id][metric].append(value)
    for model_id, per_metric in scores.items():
        if all(per_metric.values()):
            result.means[model_id] = {metric: float(np.mean(values)) for metric, values in per_metric.items()}
    return result
