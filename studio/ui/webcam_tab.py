"""The Webcam tab: live camera frames through one fast enhancer, shown beside the input with the fps and
the latency per frame actually achieved, and how many frames were dropped.

How Gradio 6's stream carries the frames, and why the settings below drop stale frames instead of queuing
them: once the viewer starts recording, the page draws the camera into a canvas every STREAM_EVERY seconds
and posts it as a JPEG to the viewer's one long-running stream event (/stream/{event_id}). That route only
*replaces* the event's pending input and wakes it; the queue loop runs the handler on whatever input is
newest when the previous call returns. So frames that arrive while a frame is being enhanced are
overwritten, never queued, and the handler always gets the latest. LiveSession (studio/video/live.py)
estimates the overwritten frames from the gaps between calls and counts them as "replaced", and drops
any frame that reaches a busy session (an API client calling in parallel) as "busy".

- STREAM_EVERY 0.1 s: 10 frames a second are sampled. Each costs a JPEG data URL upload, a decode and a
  JPEG written for the output; at 0.1 s that overhead plus a classical filter fits in one interval on a
  small CPU, so the output keeps up; sampling faster only has more frames overwritten unseen.
- CONCURRENCY 2 (own concurrency id): each viewer's stream holds one worker for its whole run, so two
  viewers stream at once and a third waits in the queue (the page sends nothing while it waits), and
  live viewers never take the Compare tab's workers.
- CAMERA 640x480 (asked of the browser as the ideal size; Gradio asks for 1920x1440 otherwise): every
  sampled frame is uploaded, decoded, enhanced and encoded again, and at 1920x1440 that alone outlasts
  the interval on a small CPU.
- TIME_LIMIT 300 s: one viewer cannot hold a worker forever; when it runs out the page rejoins the queue.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr
import numpy as np

from studio.core.errors import StudioError
from studio.services import Services
from studio.video.live import NETWORK_SIDE, LiveSession, live_models
from studio.video.realtime import default_live_model, is_realtime

STREAM_EVERY = 0.1
CONCURRENCY = 2
CAMERA = {"video": {"width": {"ideal": 640}, "height": {"ideal": 480}}}  # getUserMedia constraints
TIME_LIMIT = 300
SESSION_TTL_S = 600  # a viewer's LiveSession is let go 10 minutes after its last frame (or when the tab closes)
INTRO = (
    "Your camera, live, through one fast enhancer: start the webcam and press record. Classical filters run "
    f"at the camera's size, networks at {NETWORK_SIDE} px on the long side. A frame that arrives while the "
    "last one is still being enhanced is dropped, never queued, so the output stays within a frame of the camera."
)
WAITING = "Start the webcam to see the achieved fps, the latency per frame and the frames dropped."


@dataclass(frozen=True, eq=False)
class WebcamTab:
    camera: gr.Image
    output: gr.Image
    model: gr.Dropdown
    status: gr.Markdown
    session: gr.State


def model_choices(services: Services) -> list[tuple[str, str]]:
    """(label, id) for each model the tab offers, labelled with how it runs live."""
    choices = []
    for spec in live_models(services.registry, services.loader):
        kind = "classical" if spec.backend == "classical" else f"network, {NETWORK_SIDE} px"
        fast = ", real-time here" if is_realtime(spec, services.loader) else ""  # measured by `studio tune`
        choices.append((f"{spec.name} ({kind}{fast})", spec.id))
    return choices


def build_webcam_tab(services: Services) -> WebcamTab:
    gr.Markdown(INTRO)
    choices = model_choices(services)
    first = default_live_model(services.registry, services.loader)  # a real-time network when measured here
    default = first if any(value == first for _, value in choices) else choices[0][1]
    with gr.Row(equal_height=True):
        with gr.Column(scale=1, min_width=280):
            model = gr.Dropdown(choices=choices, value=default, label="Enhancer", elem_id="webcam-model")
        with gr.Column(scale=2):
            status = gr.Markdown(WAITING, elem_id="webcam-status")
    with gr.Row(equal_height=True):
        camera = gr.Image(
            label="Camera",
            sources=["webcam"],
            streaming=True,
            type="numpy",
            webcam_options=gr.WebcamOptions(mirror=False, constraints=CAMERA),  # text and detail read the right way
            elem_id="webcam-input",
        )
        output = gr.Image(
            label="Enhanced", format="jpeg", interactive=False, buttons=["fullscreen"], elem_id="webcam-output"
        )
    session = gr.State(None, time_to_live=SESSION_TTL_S)

    def on_frame(frame: np.ndarray | None, model_id: str | None, live: LiveSession | None) -> tuple[Any, Any, Any]:
        """One streamed frame: the enhanced frame and the status, or nothing new when it was dropped."""
        if frame is None:
            return gr.skip(), gr.skip(), live
        if live is None:
            live = LiveSession(services.registry, services.loader)
        try:
            result = live.offer(frame, model_id or default, sent_every=STREAM_EVERY)
        except StudioError as exc:
            return gr.skip(), f"⚠ {exc}", live
        if result is None:
            return gr.skip(), gr.skip(), live
        return result.output, result.status, live

    camera.stream(
        on_frame,
        [camera, model, session],
        [output, status, session],
        stream_every=STREAM_EVERY,
        time_limit=TIME_LIMIT,
        concurrency_limit=CONCURRENCY,
        concurrency_id="webcam",
        api_name="webcam",
        show_progress="hidden",
    )
    return WebcamTab(camera, output, model, status, session)
