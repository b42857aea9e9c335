"""The web app: tabs assembled from their modules; launch settings live in app.py."""

from __future__ import annotations

import gradio as gr

from studio.core.config import Settings
from studio.services import Services
from studio.ui.api import build_api
from studio.ui.compare import build_compare_tab
from studio.ui.models_tab import build_models_tab

INTRO = (
    "# Enhance Studio\n"
    "Upload an image, pick enhancers (classical filters and neural networks), run them side by side, "
    "drag the sliders to compare before and after, and read latency and quality in one table."
)


def launch(demo: gr.Blocks, settings: Settings) -> None:
    """Serve the app with the launch settings the README states (queue bound, upload cap, bind address)."""
    demo.queue(max_size=32, default_concurrency_limit=4).launch(
        server_name=settings.server_name,
        server_port=settings.server_port,
        max_file_size="50mb",
        show_error=True,
    )


def build_demo(services: Services) -> gr.Blocks:
    with gr.Blocks(title="Enhance Studio", delete_cache=(1800, 3600)) as demo:
        gr.Markdown(INTRO)
        with gr.Tabs():
            with gr.Tab("Compare", id="compare"):
                build_compare_tab(services)
            with gr.Tab("Models", id="models"):
                build_models_tab(services)
        build_api(services)
    return demo
