"""Results -> what the page shows (pure functions, no Gradio, so they are easy to test)."""

from __future__ import annotations

import numpy as np

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
    """Everything a free comparison can pick: input, reference, each successful output (by model id)."""
    choices = {INPUT: results.input.rgb}
    if results.reference is not None:
        choices[REFERENCE] = results.reference
    choices.update({row.model_id: row.output.rgb for row in results.rows if row.ok})
    return choices


def display_names(results: Results) -> dict[str, str]:
    """The name people read for each of image_choices' keys: models by their display name."""
    names = {INPUT: INPUT}
    if results.reference is not None:
        names[REFERENCE] = REFERENCE
    names.update({row.model_id: row.name or row.model_id for row in results.rows if row.ok})
    return names


def free_pair(results: Results, left: str, right: str) -> tuple[np.ndarray, np.ndarray] | None:
    """Two chosen images at a common size (the larger of the two), or None if either is missing."""
    choices = image_choices(results)
    if left not in choices or right not in choices:
        return None
    a, b = choices[left], choices[right]
    width, height = max(a.shape[1], b.shape[1]), max(a.shape[0], b.shape[0])
    return resize_to(a, width, height), resize_to(b, width, height)


def pair_label(results: Results, left: str | None, right: str | None) -> str:
    """'Lanczos x2 ◀ ▶ input': which side shows what, in the slider's label."""
    names = display_names(results)
    return f"{names.get(left or '', left or '?')} ◀ ▶ {names.get(right or '', right or '?')}"


def quality_metric_ids(results: Results) -> list[str]:
    """The metrics some row has a value for: what the plot can show."""
    return [spec.id for spec in results.metrics if any(r.metrics.get(spec.id) is not None for r in results.rows)]


LIVE = "**Live run**: computed now, on this server."  # a Run's results, told apart from an example's stored ones


def precomputed_text(built: str) -> str:
    """The mark of an example's stored results (studio/demo), with when they were built."""
    return (
        f"**Precomputed results**, built {built}: every figure on this page was measured then. "
        "Press Run to run it live."
    )


def status_text(results: Results, origin: str | None = None) -> str:
    """What was run on what: input and its source, where the results come from (`origin`: LIVE or
    precomputed_text), preview, recipe, cancel, failures (metric notes: the table's)."""
    source = f"**{results.source}** · " if results.source else ""
    lines = [f"Input {source}{results.input.size[0]}x{results.input.size[1]}", *([origin] if origin else [])]
    if results.preview_note:
        sizes = results.preview_note.removeprefix("preview: ")  # the engine's note names itself; the label does here
        lines.append(f"**Preview**: {sizes} — untick the preview limit for full size.")
    if results.recipe:
        lines.append(f"**Degradation** (reproducible): `{results.recipe.to_text()}`")
    if results.cancelled:
        lines.append(f"**{results.cancelled[0].upper()}{results.cancelled[1:]}**: the finished results are kept.")
    failed = [row for row in results.rows if not row.ok]
    if failed:
        lines.append(f"{len(failed)} model(s) failed; their errors are shown in their slots.")
    return "  \n".join(lines)


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
