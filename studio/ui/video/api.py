"""The /video endpoint for gradio_client: one call with a clip and model ids, like /compare for an image.

from gradio_client import Client, handle_file

client = Client("http://127.0.0.1:7860/")
video, table, details, files = client.predict(
    handle_file("clip.mp4"),            # MP4, MOV, MKV, WebM or AVI
    ["lanczos-x2", "unsharp-mask"],     # model ids (at most 8)
    ["sharpness"],                      # metric ids ([]: the defaults)
    "",                                 # reference-mode recipe, e.g. "x2,noise=5" ("": none)
    512,                                # preview long side (0 = full size)
    120,                                # max frames (at most STUDIO_MAX_FRAMES)
    "side-by-side",                     # comparison layout: "side-by-side", "split" or "" (none)
    "{}",                               # per-model parameters as JSON
    "auto",                             # backend
    "auto",                             # precision
    "auto",                             # device (may be left out, even over plain HTTP)
    api_name="/video",
)
-> video: the local path of the comparison MP4 (H.264, the source's audio copied), or of the one model's clip
   without a layout; table: {"headers": [...], "data": [...]} with fps, latency_ms_median, latency_ms_p95,
   flicker and each metric per model; details: the run as JSON (`studio video --json`, less each row's server
   path); files: the local paths of every MP4 (the comparison first).
"""

from __future__ import annotations

from functools import partial
from typing import Any

import gradio as gr
import pandas as pd

from studio.core.errors import StudioError
from studio.core.ratelimit import RUNS
from studio.engine.timelimit import VIDEO_ADVICE
from studio.services import Services
from studio.ui.choices import AUTO, BACKEND_CHOICES, DEVICE_CHOICES, METRIC_IDS, PRECISION_CHOICES
from studio.ui.inputs import optional_input
from studio.ui.limits import check_request
from studio.ui.run_guard import RunGuard
from studio.ui.video import runner
from studio.ui.video.handlers import details as results_details
from studio.ui.zerogpu import on_gpu, video_api_duration
from studio.video.pipeline import run_video
from studio.video.results import video_table


def video_api(
    services: Services,
    video_path: str | None,
    model_ids: list[str] | None,
    metric_ids: list[str] | None,
    degrade: str | None,
    preview: Any,
    max_frames: Any,
    layout: str | None,
    params_json: str | None,
    backend: str | None = AUTO,
    precision: str | None = AUTO,
    device: str | None = AUTO,
) -> tuple[str | None, pd.DataFrame, dict[str, Any], list[str]]:
    """Run the clip; (main video, table, details, every MP4). Bad input is one gr.Error line."""
    try:
        if not video_path:
            raise gr.Error("video is required")
        request = runner.build_request(
            services,
            model_ids,
            list(metric_ids) if metric_ids else None,  # none picked: the defaults, as /compare does
            degrade,
            preview,
            backend,
            precision,
            params_json,
            device=device,
        )
        limits = runner.video_limits(services, max_frames)
        kind = runner.layout_choice(layout)
        output = runner.output_path(runner.run_folder(), video_path, kind)
        guard = RunGuard.start(services, advice=VIDEO_ADVICE)
        results = run_video(
            request,
            video_path,
            output,
            services.registry,
            services.loader,
            limits,
            layout=kind,
            should_stop=guard.should_stop,
            time_limit=guard.limit,
        )
    except StudioError as exc:
        raise gr.Error(str(exc)) from None
    guard.log_end("video", results.cancelled)
    if results.cancelled and not guard.gone():  # the time limit: nothing was kept (the partial files are removed)
        raise gr.Error(results.cancelled)
    clips = [str(row.path) for row in results.rows if row.path]
    main = str(results.comparison_path) if results.comparison_path else (clips[0] if clips else None)
    files = ([main] if results.comparison_path else []) + clips
    return main, pd.DataFrame(video_table(results)), results_details(results), files


def build_video_api(services: Services) -> None:
    """Hidden components wired to `video_api` under api_name='video' (in the model events' queue group)."""
    ids = [spec.id for spec in services.registry]
    with gr.Column(visible=False):
        video = gr.File(type="filepath", label="video")
        models = gr.Dropdown(choices=ids, multiselect=True, allow_custom_value=True, label="model ids")
        metrics = gr.Dropdown(choices=METRIC_IDS, multiselect=True, label="metric ids")
        degrade = gr.Textbox(label="reference-mode recipe, e.g. x2,noise=5")
        preview = gr.Number(value=512, label="preview long side (0 = full size)")
        max_frames = gr.Number(value=services.settings.max_frames, label="max frames")
        layout = gr.Textbox(value="side-by-side", label="comparison layout: side-by-side, split or empty")
        params = gr.Textbox(value="{}", label="per-model parameters as JSON")
        backend = gr.Dropdown(BACKEND_CHOICES, value=AUTO, label="backend")
        precision = gr.Dropdown(PRECISION_CHOICES, value=AUTO, label="precision")
        device = optional_input(gr.Dropdown(DEVICE_CHOICES, value=AUTO, label="device"))
        main = gr.Video(label="video", format=None)  # ours are H.264 MP4 already: no conversion
        table = gr.Dataframe(label="table")
        details = gr.JSON(label="results")
        files = gr.File(label="every MP4", file_count="multiple")
        trigger = gr.Button("video")

    run_models = on_gpu(partial(video_api, services), video_api_duration(services))  # ZeroGPU: a GPU per call

    def limited_video(
        clip,
        models,
        metrics,
        degrade,
        preview,
        max_frames,
        layout,
        params,
        backend,
        precision,
        device,
        request: gr.Request,
    ):
        check_request(services, RUNS, request)
        return run_models(
            clip, models, metrics, degrade, preview, max_frames, layout, params, backend, precision, device
        )

    trigger.click(
        limited_video,
        [video, models, metrics, degrade, preview, max_frames, layout, params, backend, precision, device],
        [main, table, details, files],
        api_name="video",
        concurrency_limit="default",  # the queue's; engine/slot.py runs one model at a time
        concurrency_id="models",
    )
