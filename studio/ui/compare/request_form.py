"""The Compare form -> one checked CompareRequest: the only place the form's values are parsed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

import gradio as gr

from studio.core.degrade import Recipe
from studio.core.errors import StudioError
from studio.engine.request import MAX_MODELS, CompareRequest
from studio.models.registry import Registry
from studio.ui.choices import GROUND_TRUTH, SYNTHETIC


@dataclass(frozen=True, eq=False)
class RequestForm:
    """The components whose values make a request (the run button's first step reads them as one dict)."""

    upload: gr.File
    preview_on: gr.Checkbox
    preview: gr.Slider
    mode: gr.Radio
    scale: gr.Dropdown
    blur: gr.Radio
    sigma: gr.Slider
    length: gr.Slider
    angle: gr.Slider
    noise: gr.Slider
    jpeg: gr.Slider
    seed: gr.Number
    ground_truth: gr.File
    metrics: gr.CheckboxGroup
    params: gr.State  # {model id: {parameter: value}} from the live parameter controls
    backend: gr.Dropdown
    precision: gr.Dropdown
    model_groups: tuple[gr.Dropdown, ...]  # one multiselect per task

    def inputs(self) -> set[Any]:
        """Every component, as a set: Gradio then hands the handler one {component: value} dict."""
        single = [getattr(self, f.name) for f in fields(self) if f.name != "model_groups"]
        return {*single, *self.model_groups}


def build_recipe(scale, blur, sigma, length, angle, noise, jpeg, seed) -> Recipe:
    """A checked degradation recipe from the degradation controls (gr.Error with the one-line reason)."""
    recipe = Recipe(
        scale=int(scale),
        blur=None if blur == "none" else blur,
        blur_sigma=float(sigma),
        motion_length=float(length),
        motion_angle=float(angle),
        noise=float(noise),
        jpeg=int(jpeg) or None,
        seed=int(seed or 0),
    )
    try:
        recipe.check()
    except StudioError as exc:
        raise gr.Error(str(exc)) from None
    return recipe


def chosen_models(form: RequestForm, values: Mapping[Any, Any]) -> list[str]:
    return [model_id for group in form.model_groups for model_id in (values[group] or [])]


def request_from_form(registry: Registry, form: RequestForm, values: Mapping[Any, Any]) -> CompareRequest:
    """Parse the form's values (keyed by component) into a CompareRequest; any problem is one gr.Error."""
    if not values[form.upload]:
        raise gr.Error("Upload an image first.")
    mode = values[form.mode]
    recipe = None
    if mode == SYNTHETIC:
        controls = (form.scale, form.blur, form.sigma, form.length, form.angle, form.noise, form.jpeg, form.seed)
        recipe = build_recipe(*(values[control] for control in controls))
    with_reference = mode == GROUND_TRUTH
    if with_reference and not values[form.ground_truth]:
        raise gr.Error("Upload a ground-truth image first.")
    model_ids = chosen_models(form, values)
    params = values[form.params] or {}
    try:
        return CompareRequest.build(
            registry,
            model_ids,
            metrics=list(values[form.metrics] or []),
            degrade=recipe,
            with_reference=with_reference,
            preview=int(values[form.preview]) if values[form.preview_on] else None,
            backend=values[form.backend],
            precision=values[form.precision],
            params={model_id: v for model_id, v in params.items() if model_id in model_ids},
            max_models=MAX_MODELS,
        )
    except StudioError as exc:
        raise gr.Error(str(exc)) from None
