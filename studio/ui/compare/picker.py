"""The Compare tab's model picker: per-task lists searchable by name and id, presets, the place of the
examples (examples.py), the models that cannot run here (greyed, with the reason) and the predicted time of a run.

The pure parts (labels, presets, the prediction text) come first and take plain values; the
Gradio parts build and wire them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

import gradio as gr

from studio.core.errors import UsageError
from studio.demo.examples import run_states
from studio.demo.presets import PRESETS, Preset, counted, preset_models
from studio.engine.speed import model_input_size
from studio.models.forms import Form
from studio.models.loader import model_state
from studio.models.schema import ModelSpec
from studio.models.weights.store import NOT_DOWNLOADED, UNAVAILABLE
from studio.services import Services
from studio.ui.choices import DEFAULT_MODELS, SYNTHETIC, TASK_ORDER
from studio.ui.compare.prediction import predict
from studio.ui.compare.request_form import upload_size

FETCH_HINT = (
    "Fetch their weights with `studio fetch ID` where there is network, or set STUDIO_WEIGHTS_MIRROR to a folder "
    "holding them, then restart the app."
)
FAST_SIZE = (512, 512)  # the input "fast on CPU" is judged on before an image is uploaded


# -- labels and states -------------------------------------------------------------------------


def model_label(spec: ModelSpec, state: str, form: Form | str) -> str:
    """'Real-ESRGAN x4plus · realesrgan-x4plus (x4, ncnn fp32)': the list's search matches the name or the id,
    and the form is the one that runs here (or why none does: 'not on vulkan'; marked when the weights download
    first)."""
    suffix = " — downloads on first use" if state == NOT_DOWNLOADED else ""
    described = form if isinstance(form, str) else form.describe()
    return f"{spec.name} · {spec.id} (x{spec.scale}, {described}){suffix}"


def runs_as(services: Services, model_id: str, backend=None, precision=None, device=None) -> Form | str:
    """The form a run would use for these requests, or why none does: 'not on vulkan' when the device request
    leaves it out, 'no int8' for a network without an ONNX form to quantize."""
    try:
        return services.speed.form_for(model_id, backend, precision, device)
    except UsageError:
        return "no int8" if precision == "int8" else f"not on {device}"


def blocked_by_reason(services: Services, states: dict[str, str]) -> dict[str, list[ModelSpec]]:
    """The models that cannot run here, grouped by why (in registry order)."""
    groups: dict[str, list[ModelSpec]] = {}
    for spec in services.registry:
        if states[spec.id].startswith(UNAVAILABLE):
            groups.setdefault(states[spec.id].split(": ", 1)[-1], []).append(spec)
    return groups


def task_title(task: str) -> str:
    return task.replace("-", " ").capitalize()


def split_by_task(model_ids: Sequence[str], group_tasks: Sequence[str], task_of: dict[str, str]) -> list[list[str]]:
    """One value per task list: the given models that belong to it."""
    return [[model_id for model_id in model_ids if task_of.get(model_id) == task] for task in group_tasks]


# -- the prediction ----------------------------------------------------------------------------


# -- Gradio ------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Picker:
    groups: tuple[gr.Dropdown, ...]  # one multiselect per task; a run reads their union
    group_tasks: tuple[str, ...]  # the task of each list
    presets: tuple[gr.Button, ...]  # one per choices.PRESETS
    preset_note: gr.Markdown
    prediction: gr.Markdown  # the predicted time of the current picks on the current image
    unavailable: tuple[gr.CheckboxGroup, ...]  # the models that cannot run here, greyed, one list per reason
    examples_box: gr.Column  # filled by examples.wire_examples, once the upload and the results area exist
    states: dict[str, str]  # run states: weight states, 'unavailable: why' where nothing can fetch them


def _choices(services: Services, specs: Sequence[ModelSpec], states, backend=None, precision=None, device=None):
    return [(model_label(s, states[s.id], runs_as(services, s.id, backend, precision, device)), s.id) for s in specs]


def _choosable(services: Services, states: dict[str, str], task: str) -> list[ModelSpec]:
    return [s for s in services.registry.by_task(task) if not states[s.id].startswith(UNAVAILABLE)]


def states_now(services: Services, picker: Picker) -> dict[str, str]:
    """The picker's states with each listed model's weight state as it is now: the start-up prefetch, a run or
    `studio fetch` may have downloaded it since the page was built (once per process). The lists keep the
    models they were built with; only their labels and the presets' preferences follow the weights."""
    listed = [spec for task in picker.group_tasks for spec in _choosable(services, picker.states, task)]
    return {**picker.states, **{spec.id: str(model_state(spec, services.loader.store)) for spec in listed}}


def build_picker(services: Services, states: dict[str, str]) -> Picker:
    """Presets, the per-task lists (tasks without a choosable model are left out), the prediction line
    and the greyed list of models that cannot run here."""
    states = run_states(services, states)
    with gr.Row(elem_id="presets"):
        presets = tuple(
            gr.Button(p.label, size="sm", min_width=60, elem_id=f"preset-{p.label.replace(' ', '-')}") for p in PRESETS
        )
    preset_note = gr.Markdown(elem_id="preset-note")
    groups, tasks = [], []
    for task in TASK_ORDER:
        specs = _choosable(services, states, task)
        if not specs:
            continue
        ids = {s.id for s in specs}
        default = DEFAULT_MODELS if task == "super-resolution" else ()
        groups.append(
            gr.Dropdown(
                _choices(services, specs, states),
                value=[d for d in default if d in ids],
                multiselect=True,
                filterable=True,
                label=f"{task_title(task)} ({counted(len(specs), 'model')})",
                elem_id=f"models-{task}",
            )
        )
        tasks.append(task)
    prediction = gr.Markdown(elem_id="prediction")
    unavailable = []
    for index, (reason, specs) in enumerate(blocked_by_reason(services, states).items()):
        unavailable.append(
            gr.CheckboxGroup(
                [f"{s.name} · {s.id}" for s in specs],
                value=[],
                interactive=False,
                label=f"Cannot run here ({counted(len(specs), 'model')}): {reason}",
                info=FETCH_HINT if "not downloaded" in reason else None,
                elem_id=f"models-unavailable-{index}",
                elem_classes=["models-unavailable"],
            )
        )
    examples_box = gr.Column(elem_id="picker-examples")
    return Picker(
        groups=tuple(groups),
        group_tasks=tuple(tasks),
        presets=presets,
        preset_note=preset_note,
        prediction=prediction,
        unavailable=tuple(unavailable),
        examples_box=examples_box,
        states=states,
    )


def _apply_preset(services: Services, picker: Picker, preset: Preset, path, preview_on, preview, mode, scale, b, p, d):
    """A preset's picks, one value per task list, and its note."""
    size = FAST_SIZE
    if path:
        limit = int(preview) if preview_on and preview else None
        measured = upload_size(path, services.settings.max_pixels)
        size = (
            model_input_size(*measured, limit, int(scale) if mode == SYNTHETIC and scale else 1) if measured else size
        )
    specs = [spec for task in picker.group_tasks for spec in _choosable(services, picker.states, task)]
    states = states_now(services, picker)  # a model downloaded since the page was built counts as here
    chosen, note = preset_models(preset, specs, states, partial(_predicted_or_none, services, size, b, p, d))
    task_of = {spec.id: spec.task for spec in specs}
    return [*split_by_task(chosen, picker.group_tasks, task_of), note]


def _predicted_or_none(services: Services, size, backend, precision, device, model_id: str) -> float | None:
    """A preset's view of a model's time: None (unknown) where the device request leaves the model out."""
    try:
        return services.speed.predict_seconds(model_id, *size, backend, precision, device)
    except UsageError:
        return None


def _relabel(services: Services, picker: Picker, backend, precision, device) -> list:
    """The lists' labels for the runtime requests and the weights as they are now (on each page load, and for
    another backend, precision or device request); the chosen values stay."""
    states = states_now(services, picker)
    return [
        gr.update(
            choices=_choices(services, _choosable(services, picker.states, task), states, backend, precision, device)
        )
        for task in picker.group_tasks
    ]


def wire_picker(picker: Picker, services: Services, form) -> None:
    """Bind the picker's events (after the form exists: they read the upload, preview and runtime choices)."""
    request = form.request
    size_inputs = [request.upload, request.preview_on, request.preview, request.mode, request.scale]
    runtime = [request.backend, request.precision, request.device]
    groups = list(picker.groups)
    for button, preset in zip(picker.presets, PRESETS, strict=True):
        button.click(
            partial(_apply_preset, services, picker, preset),
            [*size_inputs, *runtime],
            [*groups, picker.preset_note],
            api_name=f"preset_{preset.label.replace(' ', '_')}",
            show_progress="hidden",
        )
    gr.on(
        [request.upload.change, request.preview_on.change, request.preview.change, request.mode.change]
        + [request.scale.change, request.backend.change, request.precision.change, request.device.change]
        + [group.change for group in groups],
        partial(predict, services),
        _prediction_inputs(picker, form),
        picker.prediction,
        api_name="predict",
        show_progress="hidden",
    )
    gr.on(
        [request.backend.change, request.precision.change, request.device.change],
        partial(_relabel, services, picker),
        runtime,
        groups,
        api_name="relabel_models",
        show_progress="hidden",
    )
    page = gr.context.Context.root_block
    if page is not None:  # the labels were made when the page was built: say what has been downloaded since
        quiet = {"api_name": False, "queue": False, "show_progress": "hidden"}
        page.load(partial(_relabel, services, picker), runtime, groups, **quiet)


def refresh_after(picker: Picker, services: Services, form, event) -> None:
    """Chain a new prediction and new labels after `event` (a run: it has just added measurements to the speed
    book, and may have downloaded the weights of a model labelled 'downloads on first use')."""
    event.then(
        partial(predict, services),
        _prediction_inputs(picker, form),
        picker.prediction,
        api_name=False,
        show_progress="hidden",
    )
    runtime = [form.request.backend, form.request.precision, form.request.device]
    event.then(
        partial(_relabel, services, picker), runtime, list(picker.groups), api_name=False, show_progress="hidden"
    )


def _prediction_inputs(picker: Picker, form) -> list:
    """What `predict` reads, in its order: the sizes' controls, the runtime requests, the lists."""
    request = form.request
    sizes = [request.upload, request.preview_on, request.preview, request.mode, request.scale]
    return [*sizes, request.backend, request.precision, request.device, *picker.groups]
