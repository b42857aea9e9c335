"""Enhance Studio web app: `python app.py` (or a Hugging Face Space) serves it."""

from __future__ import annotations

import os

# Before Gradio is imported: it reads this when it loads.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from studio.core.config import Settings
from studio.services import Services
from studio.ui import build_demo


def main() -> None:
    settings = Settings.from_env()
    demo = build_demo(Services(settings))
    on_space = bool(os.environ.get("SPACE_ID"))
    demo.queue(max_size=32, default_concurrency_limit=4).launch(
        server_name="0.0.0.0" if on_space else "127.0.0.1",
        server_port=int(os.environ.get("PORT") or os.environ.get("GRADIO_SERVER_PORT") or 7860),
        max_file_size="50mb",
        show_error=True,
    )


if __name__ == "__main__":
    main()
