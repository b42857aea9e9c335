"""Live controls for the chosen models' tunable parameters, drawn from the registry."""

from __future__ import annotations

from collections.abc import Sequence

import gradio as gr

from studio.models.registry import Registry


def remember(value, current, model_id: str, param_name: str) -> dict:
    """The params state with one value changed: {model id: {parameter: value}}."""
    return {**current, model_id: {**current.get(model_id, {}), param_name: value}}


def _control(name: str, param, key: str):
    if param.type in ("float", "int") and param.min is not None and param.max is not None:
        return gr.Slider(
            param.min,
            param.max,
            value=param.default,
            step=param.step or (1 if param.type == "int" else 0.01),
            label=name,
            info=param.help,
            key=key,
            interactive=True,
        )
    if param.type == "bool":
        return gr.Checkbox(value=param.default, label=name, info=param.help, key=key, interactive=True)
    if param.type == "choice":
        return gr.Dropdown(list(param.choices), value=param.default, label=name, key=key, interactive=True)
    return gr.Number(value=param.default, label=name, info=param.help, key=key, interactive=True)


def build_parameter_controls(
    registry: Registry, groups: Sequence[gr.Dropdown], params_state: gr.State, upload: gr.File
) -> None:
    """Re-rendered whenever the chosen models change; each control writes into `params_state`.

    `upload` is the image upload (for actions that read the image, like estimating its blur).
    """

    @gr.render(inputs=list(groups))
    def parameter_controls(*chosen):
        selected = [model_id for group in chosen for model_id in (group or [])]
        tunable = [registry.get(model_id) for model_id in selected if registry.get(model_id).params]
        if not tunable:
            gr.Markdown("The chosen models have no tunable parameters.")
        for spec in tunable:
            gr.Markdown(f"**{spec.name}**")
            for name, param in spec.params.items():
                control = _control(name, param, key=f"{spec.id}.{name}")

                def on_change(value, current, model_id=spec.id, param_name=name):
                    return remember(value, current, model_id, param_name)

                control.change(on_change, [control, params_state], params_state, api_name="set_param")
