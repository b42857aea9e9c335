"""The Compare form -> one checked CompareRequest: the only place the form's values are parsed."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from functools import lru_cache
from typing import Any

import gradio as gr

from studio.core.degrade import Recipe
from studio.core.errors import StudioError
from studio.core.media import decode
from studio.engine.request import MAX_MODELS, CompareRequest
from studio.engine.speed import model_input_size, preview_that_fits
from studio.engine.timelimit import check_stoppable
from studio.models.registry import Registry
from studio.services import Services
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
    device: gr.Dropdown
    model_groups: tuple[gr.Dropdown, ...]  # one multiselect per task

    def inputs(self) -> set[Any]:
        """Every component, as a set: Gradio then hands the handler one {component: value} dict."""
        single = [getattr(self, f.name) for f in fields(self) if f.name != "model_groups"]
        return {*single, *self.model_groups}


def _number(value: Any, name: str, whole: bool = False) -> float | int:
    """A control's value as a number (NaN and infinity are left for Recipe.check to refuse by name)."""
    try:
        number = float(value)
        return int(number) if whole and math.isfinite(number) and number == int(number) else number
    except (TypeError, ValueError, OverflowError):
        raise gr.Error(f"{name} must be a number, got {str(value)[:40]!r}") from None


def build_recipe(scale, blur, sigma, length, angle, noise, jpeg, seed) -> Recipe:
    """A checked degradation recipe from the degradation controls (gr.Error with the one-line reason)."""
    jpeg_quality = _number(jpeg, "JPEG quality", whole=True)
    try:
        recipe = Recipe(
            scale=_number(scale, "Downscale", whole=True),
            blur=None if blur == "none" else blur,
            blur_sigma=_number(sigma, "Gaussian sigma"),
            motion_length=_number(length, "Motion length"),
            motion_angle=_number(angle, "Motion angle"),
            noise=_number(noise, "Noise sigma"),
            jpeg=jpeg_quality or None,
            seed=_number(seed or 0, "Seed", whole=True),
        )
        recipe.check()
    except StudioError as exc:
        raise gr.Error(str(exc)) from None
    return recipe


def chosen_models(form: RequestForm, values: Mapping[Any, Any]) -> list[str]:
    return [model_id for group in form.model_groups for model_id in (values[group] or [])]


def format_seconds(seconds: float) -> str:
    """'0.4 s', '12 s', '3.5 min': predictions are rough, so no more digits than that."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min"


@lru_cache(maxsize=64)
def upload_size(path: str, max_pixels: int) -> tuple[int, int] | None:
    """(width, height) of an upload as the engine decodes it; None when it cannot be decoded. Once per file."""
    try:
        return decode(path, max_pixels).size
    except StudioError:
        return None


def check_budget(services: Services, request: CompareRequest, path: str) -> None:
    """`check_time` for the uploaded file at `path`."""
    settings = services.settings
    if settings.run_budget_s is not None or settings.run_timeout_s is not None:
        check_time(services, request, upload_size(path, settings.max_pixels))


def check_time(services: Services, request: CompareRequest, size: tuple[int, int] | None) -> None:
    """Refuse (gr.Error, one line) a run on a `size` image predicted, from this machine's measured speeds, to take
    longer than STUDIO_RUN_BUDGET_S, or with a model that cannot stop part-way and alone would take longer than
    STUDIO_RUN_TIMEOUT_S (timelimit.check_stoppable); each offers a preview that fits. Models never measured here
    are not counted (nothing is known of them), and neither is anything when `size` is None (an image the run
    itself will refuse with its own message)."""
    budget = services.settings.run_budget_s
    if size is None or (budget is None and services.settings.run_timeout_s is None):
        return
    scale = request.recipe.scale if request.recipe else 1
    model_size = model_input_size(*size, request.preview, scale)
    long_side = min(max(size), request.preview) if request.preview else max(size)
    try:
        prediction = services.speed.predict_run(
            request.model_ids, *model_size, request.backend, request.precision, request.device
        )
    except StudioError:
        return  # a model that cannot be planned here: its own row will say why
    try:
        check_stoppable(request, services.registry, services.settings, prediction.seconds, model_size, long_side)
    except StudioError as exc:
        raise gr.Error(str(exc)) from None
    predicted = prediction.total
    if budget is None or predicted <= budget:
        return
    side = preview_that_fits(long_side, predicted, budget)
    offer = f"set the preview long side to {side} px or less" if side else "pick fewer or faster models"
    raise gr.Error(
        f"This run is predicted to take {format_seconds(predicted)} at {long_side} px, over this server's budget "
        f"of {format_seconds(budget)} (STUDIO_RUN_BUDGET_S): {offer}."
    )


def request_from_form(services: Services, form: RequestForm, values: Mapping[Any, Any]) -> CompareRequest:
    """The Run button's first step: the form's values (keyed by component) as a checked CompareRequest.

    Any problem is one gr.Error, and so is a run predicted to exceed the server's time budget
    (STUDIO_RUN_BUDGET_S) or its time limit's reach (check_time), before anything runs.
    """
    request = parse_form(services.registry, form, values)
    check_budget(services, request, values[form.upload])
    return request


def parse_form(registry: Registry, form: RequestForm, values: Mapping[Any, Any]) -> CompareRequest:
    """Parse the form's values into a CompareRequest; any problem is one gr.Error."""
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
            preview=values[form.preview] if values[form.preview_on] else None,  # checked there, NaN included
            backend=values[form.backend],
            precision=values[form.precision],
            device=values[form.device],
            params={model_id: v for model_id, v in params.items() if model_id in model_ids},
            max_models=MAX_MODELS,
        )
    except StudioError as exc:
        raise gr.Error(str(exc)) from None
