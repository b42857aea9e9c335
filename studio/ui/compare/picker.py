"""The Compare tab's model picker: one multiselect per task (search, presets and predictions build on it)."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from studio.services import Services
from studio.ui import views
from studio.ui.choices import DEFAULT_MODELS, TASK_ORDER


@dataclass(frozen=True, eq=False)
class Picker:
    groups: tuple[gr.Dropdown, ...]  # one multiselect per task; a run reads their union


def build_picker(services: Services, states: dict[str, str]) -> Picker:
    """The per-task model lists (tasks without a choosable model are left out)."""
    choosable = set(views.selectable(states))
    groups = []
    for task in TASK_ORDER:
        specs = [s for s in services.registry.by_task(task) if s.id in choosable]
        if not specs:
            continue
        choices = [(views.model_label(s, states[s.id]), s.id) for s in specs]
        default = DEFAULT_MODELS if task == "super-resolution" else ()
        groups.append(
            gr.Dropdown(
                choices,
                value=[d for d in default if d in choosable],
                multiselect=True,
                label=f"{task.replace('-', ' ').capitalize()} ({len(choices)} models)",
                elem_id=f"models-{task}",
            )
        )
    return Picker(groups=tuple(groups))


def wire_picker(picker: Picker, services: Services, form) -> None:
    """Bind the picker's own events (after the form exists, so it can read the upload and preview)."""
