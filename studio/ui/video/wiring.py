"""The Video tab: lay it out, then bind the handlers to its events (every api_name of the tab lives here)."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

import gradio as gr

from studio.core.ratelimit import RUNS
from studio.services import Services
from studio.ui.compare.runs import StopFlags
from studio.ui.limits import check_request
from studio.ui.video import handlers
from studio.ui.video.api import build_video_api
from studio.ui.video.layout import VideoArea, VideoForm, build_form, build_results
from studio.ui.zerogpu import on_gpu, video_run_duration

SCROLL_TO_COMPARE_UPLOAD = "() => { document.getElementById('upload')?.scrollIntoView({block: 'start'}); }"
SCROLL_TO_RUN_BAR = "() => { document.getElementById('video-run-bar')?.scrollIntoView({block: 'start'}); }"


def build_video_tab(services: Services, compare_upload: gr.File, tabs: gr.Tabs) -> tuple[VideoForm, VideoArea]:
    """The tab's components and events, and the hidden /video endpoint.

    `compare_upload` is the Compare tab's upload and `tabs` the page's tabs: "Open in Compare" sets the one to
    the clicked keyframe's PNG and switches the other to the Compare tab (whose upload.change shows the input).
    """
    form = build_form(services)
    area = build_results()
    form.upload.change(partial(handlers.clip_info, services), form.upload, form.info, api_name="video_info")
    _wire_run(services, form, area)
    area.pick.change(handlers.show_clip, [area.clips, area.pick], area.model_video, api_name="video_clip")
    area.keyframes.select(
        handlers.select_keyframe, area.frames, [area.selected, area.chosen], api_name=False, queue=False
    )
    area.to_compare.click(
        handlers.open_in_compare,
        [area.frames, area.selected],
        [compare_upload, tabs],
        api_name="keyframe_to_compare",
    ).success(None, None, None, js=SCROLL_TO_COMPARE_UPLOAD)
    build_video_api(services)
    return form, area


def _wire_run(services: Services, form: VideoForm, area: VideoArea) -> None:
    """Run: lock the buttons, run the clip (streaming its progress), unlock however it ended; Cancel sets the flag.

    The progress box is the run's own streamed text (a bar, frames done, fps, time left), so Gradio's progress
    overlay is hidden: drawn over the same box, the two would overlap.
    """
    flags = StopFlags()
    buttons = [area.run_button, area.cancel_button]
    run_models = on_gpu(partial(handlers.run, services, flags), video_run_duration(services))  # ZeroGPU: a GPU
    outputs = area.run_outputs()  # the progress box first

    def start(http: gr.Request):
        return handlers.start_run(flags, http.session_hash)

    def run(
        path: str | None,
        models: list[str] | None,
        metrics: list[str] | None,
        recipe: str | None,
        preview: float | None,
        max_frames: float | None,
        layout: str | None,
        backend: str | None,
        precision: str | None,
        device: str | None,
        http: gr.Request,
    ) -> Iterator[list[Any]]:
        values = (path, models, metrics, recipe, preview, max_frames, layout, backend, precision, device)
        try:
            check_request(services, RUNS, http)
            for update in run_models(http.session_hash, *values):
                # progress text: the progress box alone changes (the last run's results stay until the new ones)
                yield [update, *[gr.skip()] * (len(outputs) - 1)] if isinstance(update, str) else update
        except gr.Error as exc:
            flags.refused(http.session_hash or "", str(exc.message))
            raise

    def finish(http: gr.Request):
        return handlers.finish_run(flags, http.session_hash)

    def finish_failed(http: gr.Request):
        return handlers.finish_run(flags, http.session_hash, failed=True)

    def cancel(http: gr.Request):
        return handlers.cancel_run(flags, http.session_hash)

    quiet = {"api_name": False, "show_progress": "hidden", "queue": False}
    started = area.run_button.click(start, None, [*buttons, area.progress], js=SCROLL_TO_RUN_BAR, **quiet)
    run_event = started.then(
        run,
        form.inputs(),
        outputs,
        api_name="video_run",
        concurrency_limit="default",  # the queue's; engine/slot.py runs one model at a time
        concurrency_id="models",
        show_progress="hidden",
    )
    run_event.success(finish, None, buttons, **quiet)
    run_event.failure(finish_failed, None, [*buttons, area.progress], **quiet)
    area.cancel_button.click(
        cancel, None, area.cancel_button, api_name="video_cancel", show_progress="hidden", queue=False
    )
