"""The Video tab's components, laid out: the form (upload, models, options), the run bar, then the results.

Only layout here: no handlers and no events (see wiring.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import gradio as gr

from studio.engine.request import MAX_MODELS
from studio.models.weights.store import UNAVAILABLE
from studio.services import Services
from studio.ui.choices import AUTO, BACKEND_CHOICES, DEVICE_CHOICES, PRECISION_CHOICES
from studio.ui.compare.layout import metric_choices
from studio.ui.compare.picker import model_label, run_states
from studio.ui.models_tab import model_states
from studio.ui.video.runner import NO_LAYOUT
from studio.video.io import VIDEO_EXTENSIONS
from studio.video.layout import LAYOUTS
from studio.video.pipeline import KEYFRAMES

DEFAULT_MODELS = ("lanczos-x2", "unsharp-mask")  # classical: a clip runs in seconds on any CPU
DEFAULT_PREVIEW = 512  # the image compare's default, so a frame and a still are treated alike
KEYFRAME_HEIGHT = 220
# headers before the first run (Gradio would show 1 2 3), as handlers.page_table names them
EMPTY_TABLE = ["model", "name", "output", "frames", "fps", "median ms", "p95 ms", "flicker", "error"]


@dataclass(frozen=True, eq=False)
class VideoForm:
    upload: gr.File
    info: gr.Markdown  # what the header says about the uploaded clip (or why it cannot be read)
    models: gr.Dropdown
    metrics: gr.CheckboxGroup
    preview: gr.Number
    max_frames: gr.Number
    recipe: gr.Textbox
    layout: gr.Radio
    backend: gr.Dropdown
    precision: gr.Dropdown
    device: gr.Dropdown

    def inputs(self) -> list:
        """The run's inputs, in the order handlers.run takes them."""
        return [
            self.upload,
            self.models,
            self.metrics,
            self.recipe,
            self.preview,
            self.max_frames,
            self.layout,
            self.backend,
            self.precision,
            self.device,
        ]


@dataclass(frozen=True, eq=False)
class VideoArea:
    run_button: gr.Button
    cancel_button: gr.Button
    progress: gr.Markdown  # frames done, fps, time left; how the run ended
    comparison: gr.Video  # the labelled comparison (or the only model's clip without a layout)
    pick: gr.Dropdown  # which model's clip `model_video` plays
    model_video: gr.Video
    table: gr.Dataframe
    summary: gr.Markdown  # frames, sizes, speed, notes (preview, caps, audio), errors
    keyframes: gr.Gallery
    to_compare: gr.Button
    chosen: gr.Markdown  # the clicked keyframe's caption in full (a thumbnail's is cut short)
    files: gr.File  # every MP4 and results.json
    clips: gr.State  # {model id: MP4 path} of the latest run
    frames: gr.State  # [(keyframe PNG path, caption)] of the latest run
    selected: gr.State  # the keyframe index last clicked (None: none yet)

    def run_outputs(self) -> list:
        """What a run updates, in the order handlers.results_view returns its values (the progress box first)."""
        return [
            self.progress,
            self.comparison,
            self.pick,
            self.model_video,
            self.table,
            self.summary,
            self.keyframes,
            self.files,
            self.clips,
            self.frames,
            self.selected,
            self.chosen,
        ]


def model_choices(services: Services) -> list[tuple[str, str]]:
    """(label, id) of the models that can run here, labelled as the Compare tab labels them ("Name · id (x2,
    ncnn fp32)"); a model whose weights cannot be had now is left out rather than failing after the upload."""
    states = run_states(services, model_states(services))
    return [
        (model_label(spec, states[spec.id], services.speed.form_for(spec.id)), spec.id)
        for spec in services.registry
        if not states[spec.id].startswith(UNAVAILABLE)
    ]


def fresh_model_choices(services: Services) -> dict:
    """The model list relabelled on a page load; the picks in it stay."""
    return gr.update(choices=model_choices(services))


def build_form(services: Services) -> VideoForm:
    """Upload and clip facts (left); models, options and layout (right)."""
    ids = {spec.id for spec in services.registry}
    cap = services.settings.max_frames
    with gr.Row(equal_height=False):
        with gr.Column(scale=2, min_width=320):
            upload = gr.File(
                label="Video (MP4, MOV, MKV, WebM, AVI)",
                file_types=list(VIDEO_EXTENSIONS),
                type="filepath",
                elem_id="video-upload",
            )
            info = gr.Markdown(elem_id="video-info")
            with gr.Row():
                preview = gr.Number(
                    value=DEFAULT_PREVIEW, precision=0, label="Preview long side (px, 0 = full size)", minimum=0
                )
                max_frames = gr.Number(
                    value=cap, precision=0, minimum=1, maximum=cap, label=f"Max frames (up to {cap})"
                )
        with gr.Column(scale=3, min_width=360):
            models = gr.Dropdown(
                model_choices(services),
                value=[model_id for model_id in DEFAULT_MODELS if model_id in ids],
                multiselect=True,
                max_choices=MAX_MODELS,
                label=f"Models (up to {MAX_MODELS})",
                info="every frame runs through each model; classical filters are the fast ones",
                elem_id="video-models",
            )
            page = gr.context.Context.root_block
            if page is not None:  # labels as the weights are now: the start-up prefetch may have downloaded some
                quiet = {"api_name": False, "queue": False, "show_progress": "hidden"}
                page.load(partial(fresh_model_choices, services), None, models, **quiet)
            layout = gr.Radio(
                [NO_LAYOUT, *LAYOUTS],
                value="side-by-side",
                label="Comparison video",
                info="side-by-side: input | model A | model B; split: one picture in vertical strips",
                elem_id="video-layout",
            )
            with gr.Accordion("Reference, metrics & runtime", open=False):
                recipe = gr.Textbox(
                    label="Reference mode: degrade each frame with this recipe (optional)",
                    placeholder="x2,noise=5",
                    info="the sharp frame becomes the reference for full-reference metrics (PSNR, SSIM)",
                    elem_id="video-recipe",
                )
                metrics = gr.CheckboxGroup(
                    metric_choices(services),
                    value=[],
                    label="Metrics (averaged over frames spread across the clip)",
                    info="none ticked: none, or in reference mode the full-reference defaults",
                    elem_id="video-metrics",
                )
                with gr.Row():
                    backend = gr.Dropdown(BACKEND_CHOICES, value=AUTO, label="Backend")
                    precision = gr.Dropdown(PRECISION_CHOICES, value=AUTO, label="Precision")
                    device = gr.Dropdown(DEVICE_CHOICES, value=AUTO, label="Device", elem_id="video-device")
    return VideoForm(upload, info, models, metrics, preview, max_frames, recipe, layout, backend, precision, device)


def build_results() -> VideoArea:
    """Run bar, comparison video, one model's clip, table and notes, keyframes, downloads."""
    with gr.Row(equal_height=True, elem_id="video-run-bar"):
        run_button = gr.Button("Run on video", variant="primary", scale=1, min_width=180, elem_id="video-run")
        cancel_button = gr.Button(
            "Cancel", variant="stop", interactive=False, scale=0, min_width=110, elem_id="video-cancel"
        )
        progress = gr.Markdown("", min_height=64, container=True, elem_id="video-progress")
    # the video labels its panels itself ("input", model ids); Gradio's label badge would cover the first
    comparison = gr.Video(
        label="Comparison", show_label=False, interactive=False, format=None, elem_id="video-comparison"
    )
    table = gr.Dataframe(
        headers=EMPTY_TABLE,
        label="Per model: fps, latency per frame (ms) and flicker (1: as steady as the input; above 1: adds flicker)",
        interactive=False,
        wrap=True,
        elem_id="video-table",
    )
    summary = gr.Markdown(elem_id="video-summary")
    keyframes = gr.Gallery(
        label="Keyframes (the sharpest frame of each part of the clip): click one, then Open in Compare",
        columns=KEYFRAMES,  # one row
        rows=1,
        height=KEYFRAME_HEIGHT,
        object_fit="contain",
        allow_preview=False,
        elem_id="video-keyframes",
    )
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=240):
            to_compare = gr.Button("Open in Compare", elem_id="keyframe-to-compare")
            chosen = gr.Markdown(elem_id="keyframe-selected")
            pick = gr.Dropdown(label="One model's clip", choices=[], elem_id="video-pick")
            files = gr.File(label="Downloads", file_count="multiple", interactive=False, elem_id="video-files")
        model_video = gr.Video(
            label="Model output", interactive=False, format=None, height=360, scale=2, elem_id="video-model"
        )
    return VideoArea(
        run_button=run_button,
        cancel_button=cancel_button,
        progress=progress,
        comparison=comparison,
        pick=pick,
        model_video=model_video,
        table=table,
        summary=summary,
        keyframes=keyframes,
        to_compare=to_compare,
        chosen=chosen,
        files=files,
        clips=gr.State({}),
        frames=gr.State([]),
        selected=gr.State(None),
    )
