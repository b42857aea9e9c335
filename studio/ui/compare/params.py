"""Live controls for the chosen models' tunable parameters, drawn from the registry, and the blur estimate
that fills the deconvolution models' parameters (blur.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gradio as gr
from gradio.context import get_blocks_context

from studio.models.registry import Registry
from studio.ui.compare import blur


def remember(value, current, model_id: str, param_name: str) -> dict:
    """The params state with one value changed: {model id: {parameter: value}}."""
    return {**current, model_id: {**current.get(model_id, {}), param_name: value}}


def _control(name: str, param, key: str, value: Any):
    if param.type in ("float", "int") and param.min is not None and param.max is not None:
        return gr.Slider(
            param.min,
            param.max,
            value=value,
            step=param.step or (1 if param.type == "int" else 0.01),
            label=name,
            info=param.help,
            key=key,
            interactive=True,
        )
    if param.type == "bool":
        return gr.Checkbox(value=value, label=name, info=param.help, key=key, interactive=True)
    if param.type == "choice":
        return gr.Dropdown(list(param.choices), value=value, label=name, key=key, interactive=True)
    return gr.Number(value=value, label=name, info=param.help, key=key, interactive=True)


def build_parameter_controls(
    registry: Registry,
    groups: Sequence[gr.Dropdown],
    params_state: gr.State,
    upload: gr.File,
    *,
    max_pixels: int | None = None,
    preview_on: gr.Checkbox | None = None,
    preview: gr.Slider | None = None,
) -> None:
    """Re-rendered whenever the chosen models change; each control writes into `params_state`.

    A control starts from the value in `params_state` (what the run will use), else the registry default, so a
    model taken out and put back keeps its values. With deconvolution models chosen, an "Estimate blur" button
    reads `upload` (decoded within `max_pixels`, limited like the run by `preview_on`/`preview`) and fills them.
    """
    page_load = get_blocks_context().root_block.load  # an explicit trigger list must name the first render too

    # params_state is read, not watched: re-rendering on every slider move would rebuild the controls under the mouse.
    # One render at a time: a preset changes every list at once, and concurrent renders of the same keyed controls
    # fail with "A block with id ... has already been rendered" (Gradio's renders run unlimited by default).
    @gr.render(
        inputs=[*groups, params_state],
        triggers=[page_load, *(group.change for group in groups)],
        concurrency_limit=1,
        concurrency_id="parameter-controls",
    )
    def parameter_controls(*values):
        *chosen, current = values
        current = current or {}
        selected = [model_id for group in chosen for model_id in (group or [])]
        tunable = [registry.get(model_id) for model_id in selected if registry.get(model_id).params]
        if not tunable:
            gr.Markdown("The chosen models have no tunable parameters.")
        deconvolution = [spec for spec in tunable if blur.psf_kind(spec)]
        estimate = blur.build_estimate(deconvolution) if deconvolution else None  # first, above what it fills
        controls: dict[tuple[str, str], Any] = {}
        for spec in tunable:
            gr.Markdown(f"**{spec.name}**")
            for name, param in spec.params.items():
                value = current.get(spec.id, {}).get(name, param.default)
                control = _control(name, param, key=f"{spec.id}.{name}", value=value)
                controls[(spec.id, name)] = control

                def on_change(value, current, model_id=spec.id, param_name=name):
                    return remember(value, current, model_id, param_name)

                control.change(on_change, [control, params_state], params_state, api_name="set_param")
        if estimate is not None:
            preview_inputs = [preview_on, preview] if preview_on is not None and preview is not None else []
            estimate.wire(controls, params_state, upload, max_pixels, preview_inputs)
