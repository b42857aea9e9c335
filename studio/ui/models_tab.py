"""The Models tab: the registry as a table, and fetching weights when the network allows."""

from __future__ import annotations

import gradio as gr
import pandas as pd

from studio.core.errors import StudioError
from studio.models.loader import model_state
from studio.models.schema import ModelSpec
from studio.services import Services
from studio.video.realtime import REALTIME_FPS


def model_states(services: Services) -> dict[str, str]:
    """id -> 'ready' / 'cached' / 'not downloaded' / 'unavailable: why' (no network)."""
    return {spec.id: str(model_state(spec, services.loader.store)) for spec in services.registry}


def runs_here_as(services: Services, spec: ModelSpec) -> str:
    """The default form for a mid-sized input, marked when auto-tuning chose it on this machine."""
    form = services.loader.plan(spec)
    return f"{form.describe()} (auto-tuned)" if form.why else form.describe()


def realtime_cell(services: Services, spec: ModelSpec) -> str:
    """'real-time on this machine (31 fps)', the measured rate when below, or '' when never measured here."""
    fps = services.loader.tuner.realtime_fps(spec)
    if fps is None:
        return ""
    return f"real-time on this machine ({fps:.0f} fps)" if fps >= REALTIME_FPS else f"{fps:.1f} fps live"


def models_frame(services: Services) -> pd.DataFrame:
    states = model_states(services)
    loaded = {key.model_id for key in services.loader.cache.loaded_keys()}
    rows = [
        {
            "id": s.id,
            "name": s.name,
            "task": s.task,
            "scale": f"x{s.scale}",
            "backend": s.backend,
            "runs here as": runs_here_as(services, s),
            "live": realtime_cell(services, s),
            "source": s.source.describe(),
            "license": s.license,
            "state": states[s.id],
            "loaded": "yes" if s.id in loaded else "",
        }
        for s in services.registry
    ]
    return pd.DataFrame(rows)


DOWNLOADS_OFF = (
    "Downloading weights from this page is off on this server (it would let any visitor start downloads). "
    "Its operator can run `studio fetch ID`, or set STUDIO_ALLOW_DOWNLOADS=1 to turn the button on."
)


def build_models_tab(services: Services) -> None:
    gr.Markdown(
        "Every model in the catalogue: `model_registry.yaml` and the user registries merged with it (the models "
        "`studio train --register` adds). **ready**: runs now; **cached**: downloaded before; "
        "**not downloaded**: fetched on first use when the network or a weights mirror allows. "
        "**runs here as**: the form, precision and device a run picks on this machine when none is asked for "
        "(**auto-tuned**: measured here, the fastest form within the fidelity floor; `studio tune`). "
        "**live**: the frame rate the Webcam tab measured with `studio tune`."
    )
    table = gr.Dataframe(value=models_frame(services), interactive=False, wrap=True, elem_id="models-table")
    allowed = services.settings.allow_downloads
    with gr.Row():
        if allowed:
            choice = gr.Dropdown(choices=[s.id for s in services.registry], label="Model to download", scale=3)
            fetch = gr.Button("Download weights", scale=1)
        refresh = gr.Button("Refresh", scale=1)
    message = gr.Markdown() if allowed else gr.Markdown(DOWNLOADS_OFF, elem_id="downloads-off")

    def download(model_id: str | None):
        if not model_id:
            raise gr.Error("Pick a model to download.")
        try:
            path = services.loader.store.resolve(services.registry.get(model_id))
        except StudioError as exc:
            raise gr.Error(str(exc)) from None
        return models_frame(services), f"`{model_id}`: {path or 'built in, nothing to download'}"

    if allowed:  # otherwise there is no /download_model endpoint at all, not merely a hidden button
        fetch.click(download, choice, [table, message], api_name="download_model")
    refresh.click(lambda: models_frame(services), None, table, api_name="models")
