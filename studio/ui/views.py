"""Results -> what the page shows (pure functions, no Gradio, so they are easy to test)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from studio.core.resize import resize_to
from studio.engine.results import ModelResult, Results
from studio.models.registry import Registry
from studio.models.weights.store import UNAVAILABLE

INPUT, REFERENCE = "input", "reference"


def before_after(results: Results, row: ModelResult) -> tuple[np.ndarray, np.ndarray]:
    """The input (bicubic to the output's size, for SR) and the output, for a before/after slider."""
    output = row.output.rgb
    return resize_to(results.input.rgb, output.shape[1], output.shape[0]), output


def image_choices(results: Results) -> dict[str, np.ndarray]:
    """Everything a free comparison can pick: input, reference, each successful output."""
    choices = {INPUT: results.input.rgb}
    if results.reference is not None:
        choices[REFERENCE] = results.reference
    choices.update({row.model_id: row.output.rgb for row in results.rows if row.ok})
    return choices


def free_pair(results: Results, left: str, right: str) -> tuple[np.ndarray, np.ndarray] | None:
    """Two chosen images at a common size (the larger of the two), or None if either is missing."""
    choices = image_choices(results)
    if left not in choices or right not in choices:
        return None
    a, b = choices[left], choices[right]
    width, height = max(a.shape[1], b.shape[1]), max(a.shape[0], b.shape[0])
    return resize_to(a, width, height), resize_to(b, width, height)


def crops(results: Results, centre_x: float, centre_y: float, size: int) -> list[tuple[np.ndarray, str]]:
    """The same scene region from every image, at native resolution (100 %), with captions.

    `size` is the crop side in pixels of the largest image; smaller images get the
    proportionally smaller window over the same region.
    """
    choices = image_choices(results)
    largest = max(image.shape[1] for image in choices.values())
    pieces = []
    for name, image in choices.items():
        height, width = image.shape[:2]
        side = max(4, round(size * width / largest))
        x0 = int(np.clip(centre_x * width - side / 2, 0, max(0, width - side)))
        y0 = int(np.clip(centre_y * height - side / 2, 0, max(0, height - side)))
        pieces.append((np.ascontiguousarray(image[y0 : y0 + side, x0 : x0 + side]), f"{name} ({width}x{height})"))
    return pieces


def quality_metric_ids(results: Results) -> list[str]:
    return [spec.id for spec in results.metrics if any(r.metrics.get(spec.id) is not None for r in results.rows)]


def plot_frame(results: Results, metric_id: str | None) -> pd.DataFrame:
    """model / latency ms / quality rows for the quality-vs-latency scatter plot."""
    rows = []
    for row in results.rows:
        value = row.metrics.get(metric_id) if metric_id else None
        if row.ok and value is not None and np.isfinite(value):
            rows.append({"model": row.model_id, "latency ms": round(row.latency_ms, 1), "quality": float(value)})
    return pd.DataFrame(rows, columns=["model", "latency ms", "quality"])


def status_text(results: Results) -> str:
    lines = [f"Input {results.input.size[0]}x{results.input.size[1]}"]
    if results.preview_note:
        lines.append(f"**Preview**: {results.preview_note} — untick the preview limit for full size.")
    if results.recipe:
        lines.append(f"**Degradation** (reproducible): `{results.recipe.to_text()}`")
    for metric_id, reason in results.unavailable.items():
        lines.append(f"Metric **{metric_id}** unavailable: {reason}")
    failed = [row for row in results.rows if not row.ok]
    if failed:
        lines.append(f"{len(failed)} model(s) failed; their errors are shown in their slots.")
    return "  \n".join(lines)


def model_label(spec, state_label: str) -> str:
    """'Name (x4, ncnn)', marked when its weights are fetched on first use (mirror, pip or Hub)."""
    suffix = " — downloads on first use" if state_label == "not downloaded" else ""
    return f"{spec.name} (x{spec.scale}, {spec.backend}){suffix}"


def model_details(registry: Registry, model_ids: list[str], states: dict[str, str]) -> str:
    """A markdown table describing the chosen models (task, scale, license, state, description)."""
    if not model_ids:
        return "Pick one or more models."
    lines = ["| model | task | scale | backend | license | state | about |", "|---|---|---|---|---|---|---|"]
    for model_id in model_ids:
        spec = registry.get(model_id)
        lines.append(
            f"| [{spec.name}]({spec.link}) | {spec.task} | x{spec.scale} | {spec.backend} | {spec.license} "
            f"| {states.get(model_id, '')} | {spec.description} |"
        )
    return "\n".join(lines)


def selectable(states: dict[str, str]) -> list[str]:
    return [model_id for model_id, state in states.items() if not state.startswith(UNAVAILABLE)]
