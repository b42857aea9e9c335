"""The end of `studio train`: the held-out images through the comparison engine, against the task's
classical baselines, into one table (mean PSNR / SSIM per model) for the model card.

Every model runs on the same degraded inputs (seeded per image, see
degradations.held_out_input) at full size and fp32, exactly as the Compare tab
would run them with a ground-truth image.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from studio.core.errors import StudioError
from studio.core.media import DecodedImage
from studio.engine import compare
from studio.engine.request import CompareRequest
from studio.metrics import FULL_REFERENCE, get_metric
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
# Where a sharper-looking guess may beat the blurry mean (and --adversarial is offered), how natural the outputs
# look is judged too, without the reference; lower is better for both.
NO_REFERENCE = {"sr": ("niqe", "brisque"), "deblur": ("niqe", "brisque"), "denoise": ()}
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


def save_evaluation(evaluation: Evaluation, path: Path, sha256: str) -> None:
    """Keep the evaluation beside the weights it scored, so a later `--no-evaluate` pass (a resumed finished run,
    a --register) writes the same table into the card instead of dropping it."""
    path.write_text(json.dumps({"sha256": sha256, **asdict(evaluation)}, indent=1))


def load_evaluation(path: Path, sha256: str) -> Evaluation | None:
    """The saved evaluation of exactly these weights (same sha256), or None (none kept, unreadable, or older)."""
    try:
        saved = json.loads(path.read_text())
        if saved.pop("sha256") != sha256:
            return None
        return Evaluation(
            saved["task"], tuple(saved["metrics"]), means=saved["means"], inputs=saved["inputs"], errors=saved["errors"]
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


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
    """Run the trained model and the baselines on every held-out image; average the scores.

    The task's no-reference metrics are columns only where they could be computed for every image: one that
    cannot run here (its files unreachable offline) is left out, not a failure.
    """
    with_trained = Registry([*registry, spec])
    models = (spec.id, *baselines(task, scale))
    metrics = (*METRICS[task], *NO_REFERENCE[task])
    request = CompareRequest.build(
        with_trained, models, list(metrics), with_reference=True, preview=None, precision="fp32", max_models=None
    )
    rows = (*models, INPUT_ROW) if task != "sr" else models
    scores: dict[str, dict[str, list[float]]] = {m: {k: [] for k in metrics} for m in rows}
    inputs: dict[str, str] = {}
    errors: dict[str, str] = {}
    names = sorted(images.held_out)
    for index, name in enumerate(names):
        if on_image:
            on_image(index, len(names), name)
        degraded, reference, what = held_out_input(task, images.held_out[name], scale, index)
        inputs[name] = what.detail
        results = compare.run(request, DecodedImage(degraded), with_trained, loader, reference=DecodedImage(reference))
        if task != "sr":
            for metric in metrics:
                value = _score_input(metric, degraded, reference, results.unavailable, loader)
                if value is not None:
                    scores[INPUT_ROW][metric].append(value)
        for row in results.rows:
            if row.error:
                errors.setdefault(row.model_id, row.error)
                continue
            for metric in metrics:
                value = row.metrics.get(metric)
                if value is not None:
                    scores[row.model_id][metric].append(value)
    complete = [m for m in metrics if m in METRICS[task] or all(len(s[m]) == len(names) for s in scores.values())]
    result = Evaluation(task, tuple(complete), inputs=inputs, errors=errors)
    for model_id, per_metric in scores.items():
        if all(per_metric[m] for m in complete):
            result.means[model_id] = {metric: float(np.mean(per_metric[metric])) for metric in complete}
    return result


def _score_input(
    metric: str, degraded: np.ndarray, reference: np.ndarray, unavailable: dict[str, str], loader: Loader
) -> float | None:
    """The degraded input's own score (the floor), or None where the metric cannot run here (`unavailable`, as the
    comparison found) or not on this image (NIQE on one smaller than two 96 px blocks), as for the models' rows."""
    if metric in unavailable:
        return None
    spec = get_metric(metric)
    try:
        return spec(
            degraded, reference if spec.kind == FULL_REFERENCE else None, MetricContext(scale=1, store=loader.store)
        )
    except StudioError:
        return None
