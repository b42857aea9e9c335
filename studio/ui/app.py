"""The web app: tabs assembled from their modules, and how it is mounted on the service's FastAPI app."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import gradio as gr

from studio.core.accounts import Accounts
from studio.core.config import Settings
from studio.services import Services
from studio.ui.api import build_api
from studio.ui.arena_tab import build_arena_tab
from studio.ui.compare import build_compare_tab
from studio.ui.downloads import clean_old_runs as clean_old_downloads
from studio.ui.faults import guard_events, log_user_errors_in_one_line
from studio.ui.hf_login import login_button
from studio.ui.leaderboard_tab import build_leaderboard_tab
from studio.ui.models_tab import build_models_tab
from studio.ui.mos_tab import build_mos_tab
from studio.ui.raters import rounds_update
from studio.ui.status_line import build_status_line
from studio.ui.video import build_video_tab
from studio.ui.video.runner import clean_old_runs as clean_old_videos
from studio.ui.webcam_tab import build_webcam_tab
from studio.ui.zerogpu import report_startup

INTRO = (
    "# Enhance Studio\n"
    "Upload an image, pick enhancers (classical filters and neural networks), run them side by side, "
    "drag the sliders to compare before and after, and read latency and quality in one table. "
    "The **Video** tab does the same for a clip (a side-by-side video, flicker, keyframes); **Webcam** runs live. "
    "Rate outputs blind in the **Arena** (A/B votes) and **MOS** (1-5 scores) tabs; the **Leaderboard** ranks them."
)


# Gradio's markdown tables break words anywhere ("sc/al/e"); the model details table wraps at spaces only.
PAGE_CSS = """
#model-details td, #model-details th { word-break: normal !important; overflow-wrap: normal !important; }
#model-details td:last-child { overflow-wrap: break-word !important; min-width: 14em; }
/* Result slots: a grid of equal tiles (a flex row stretched a lone wrapped tile across the page), each tile's
   picture at the bottom of its row, so captions of one, two or three lines leave the pictures level. */
#slots { display: grid !important; grid-template-columns: repeat(auto-fit, minmax(260px, 1fr));
         align-items: stretch; }
#slots > .column { min-width: 0 !important; width: auto !important; justify-content: flex-end !important; }
/* Every column of the results table: headers wrap at spaces, never one letter per line ("f/l/a/g"). */
#results-table-all th, #results-table-all th * { word-break: normal !important; overflow-wrap: normal !important; }
"""


MAX_FILE_SIZE = "50mb"  # uploads over this are refused by Gradio before they reach a handler
LOGIN_MESSAGE = "Log in with the user name and password the operator of this server gave you."


def blocked_paths(settings: Settings) -> list[str]:
    """Folders Gradio must never serve, whatever a request asks: the data dir (ratings database, rated
    images, speed book), the weights and the Hub cache, and a SQLite STUDIO_DB_URL's file. Each as given and
    resolved (a link elsewhere is blocked under both names); Gradio compares them case-insensitively."""
    folders = [settings.data_dir, settings.weights_dir, settings.hf_cache]
    if settings.db_url and settings.db_url.startswith("sqlite:///"):
        folders.append(Path(settings.db_url.removeprefix("sqlite:///")))
    found: list[str] = []
    for folder in folders:
        for form in (folder.expanduser().absolute(), folder.expanduser().resolve()):
            if str(form) not in found:
                found.append(str(form))
    return found


def login(accounts: Accounts) -> Callable[[str, str], Awaitable[bool]]:
    """Gradio's `auth` callable for STUDIO_AUTH: checks a login against the hashes, in a worker thread (a check
    is a deliberately slow scrypt hash, which would stall every page on the event loop)."""

    async def check(username: str, password: str) -> bool:
        return await asyncio.to_thread(accounts.verify, username, password)

    return check


def mount_settings(settings: Settings) -> dict[str, Any]:
    """Everything gr.mount_gradio_app is told (README, "Deploying safely", gives the reason for each)."""
    return {
        "path": "/",
        "max_file_size": MAX_FILE_SIZE,
        "show_error": False,  # only gr.Error reaches the page: our one-line messages and fault ids
        "enable_monitoring": False,  # Gradio's /monitoring would print its secret dashboard URL to the log
        "mcp_server": settings.mcp_server,  # off unless STUDIO_MCP_SERVER=1
        "allowed_paths": [],  # nothing outside Gradio's own upload and cache folders is served
        "blocked_paths": blocked_paths(settings),
        "ssr_mode": False,  # no Node server beside ours
        "run_history": False,  # no /gradio_api/run-history routes, which call the Hub with a user's token
        "css": PAGE_CSS,
        "auth": login(settings.accounts) if settings.accounts else None,  # STUDIO_AUTH: the whole app behind a login
        "auth_message": LOGIN_MESSAGE if settings.accounts else None,
    }


SESSION_CAPACITY = 1000  # sessions whose state is kept (the oldest are dropped): at most about 750 MB


def mount(demo: gr.Blocks, settings: Settings, app: Any, app_kwargs: dict[str, Any] | None = None) -> Any:
    """Mount the app on `app` (the service's FastAPI app) with the queue and the settings the README states."""
    log_user_errors_in_one_line()
    # the model events (/run, /compare, /video, /video_run) share one group of 4: a run waiting for a weights
    # download holds up no other run, and the engine's compute slot (engine/slot.py) runs one model at a time
    demo.queue(max_size=32, default_concurrency_limit=4)
    # Gradio keeps each session's state (0.5-0.75 MB once it has called an event: measured by the load test)
    # until 10,000 sessions by default, some 5-8 GB; launch() takes a lower capacity, mount_gradio_app does not.
    demo.state_session_capacity = SESSION_CAPACITY
    gr.mount_gradio_app(app, demo, app_kwargs=dict(app_kwargs or {}), **mount_settings(settings))
    # launch() sets this; mount_gradio_app does not, and without it Gradio skips its check that a file a
    # client names as an input was uploaded (processing_utils._check_allowed), and blocked_paths with it.
    demo.has_launched = True
    report_startup()  # on ZeroGPU: what spaces does on launch(), which a mounted app never calls
    return app


def clean_temp_folders() -> None:
    """Remove our run folders (downloads, videos) older than two hours; the server runs this every 30 minutes
    beside Gradio's own delete_cache, so an idle server does not keep them until the next run starts."""
    now = time.time()
    clean_old_downloads(now)
    clean_old_videos(now)


def queue_length(demo: gr.Blocks) -> int:
    """Events waiting in the app's queue (all concurrency groups), for /metrics."""
    return len(demo._queue)


def build_demo(services: Services) -> gr.Blocks:
    with gr.Blocks(title="Enhance Studio", delete_cache=(1800, 3600)) as demo:
        gr.Markdown(INTRO)
        build_status_line(services)  # on a Space: whether data persists; while models load at start, their progress
        login_button(services.settings)  # STUDIO_HF_LOGIN: Sign in with Hugging Face (and Gradio's OAuth routes)
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
    guard_events(demo)
    return demo
