"""The web app: tabs assembled from their modules; launch settings live in app.py."""

from __future__ import annotations

import sys
import traceback
from typing import Any

import gradio as gr

from studio.core.config import Settings
from studio.services import Services
from studio.ui.api import build_api
from studio.ui.arena_tab import build_arena_tab
from studio.ui.compare import build_compare_tab
from studio.ui.leaderboard_tab import build_leaderboard_tab
from studio.ui.models_tab import build_models_tab
from studio.ui.mos_tab import build_mos_tab
from studio.ui.raters import rounds_update
from studio.ui.video import build_video_tab
from studio.ui.webcam_tab import build_webcam_tab

INTRO = (
    "# Enhance Studio\n"
    "Upload an image, pick enhancers (classical filters and neural networks), run them side by side, "
    "drag the sliders to compare before and after, and read latency and quality in one table. "
    "The **Video** tab does the same for a clip (a side-by-side video, flicker, keyframes); **Webcam** runs live. "
    "Rate outputs blind in the **Arena** (A/B votes) and **MOS** (1-5 scores) tabs; the **Leaderboard** ranks them."
)


class UserErrorsInOneLine:
    """Stands in for the `traceback` module inside Gradio's queue and routes: a user error (gr.Error, our
    one-line messages for bad input) is logged as one line, any other exception keeps its full traceback.

    Gradio prints the traceback of every gr.Error unless each is raised with print_exception=False, which
    would also hide it from the log entirely; this keeps the log readable without touching each handler.
    """

    def __getattr__(self, name: str) -> Any:
        return getattr(traceback, name)

    def print_exc(self, *args: Any, **kwargs: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, gr.Error):
            message = " ".join(str(error.message).split())
            print(f"user error: {message}", file=sys.stderr, flush=True)
            return
        traceback.print_exc(*args, **kwargs)


def log_user_errors_in_one_line() -> None:
    """Install UserErrorsInOneLine where Gradio prints event errors (its queue, and its routes without queue)."""
    from gradio import queueing, routes

    for module in (queueing, routes):
        if not isinstance(module.traceback, UserErrorsInOneLine):
            module.traceback = UserErrorsInOneLine()


# Gradio's markdown tables break words anywhere ("sc/al/e"); the model details table wraps at spaces only.
PAGE_CSS = """
#model-details td, #model-details th { word-break: normal !important; overflow-wrap: normal !important; }
#model-details td:last-child { overflow-wrap: break-word !important; min-width: 14em; }
"""


def launch(demo: gr.Blocks, settings: Settings) -> None:
    """Serve the app with the launch settings the README states (queue bound, upload cap, bind address)."""
    log_user_errors_in_one_line()
    demo.queue(max_size=32, default_concurrency_limit=4).launch(
        server_name=settings.server_name,
        server_port=settings.server_port,
        max_file_size="50mb",
        show_error=True,
        css=PAGE_CSS,
    )


def build_demo(services: Services) -> gr.Blocks:
    with gr.Blocks(title="Enhance Studio", delete_cache=(1800, 3600)) as demo:
        gr.Markdown(INTRO)
        with gr.Tabs(elem_id="tabs") as tabs:
            with gr.Tab("Compare", id="compare"):
                compare_form, _ = build_compare_tab(services)
            with gr.Tab("Video", id="video"):
                build_video_tab(services, compare_form.request.upload, tabs)
            with gr.Tab("Webcam", id="webcam"):
                build_webcam_tab(services)
            with gr.Tab("Arena", id="arena"):
                arena = build_arena_tab(services)
            with gr.Tab("MOS", id="mos") as mos_tab:
                build_mos_tab(services, mos_tab)
            with gr.Tab("Leaderboard", id="leaderboard") as board_tab:
                board = build_leaderboard_tab(services, board_tab)
            with gr.Tab("Models", id="models"):
                build_models_tab(services)
        build_api(services)
        demo.load(
            lambda: (rounds_update(services.ratings, None),) * 2,
            None,
            [arena.round, board.round],
            api_name="rounds",
            show_progress="hidden",
        )
    return demo
