"""Enhance Studio web app: `python app.py` (or a Hugging Face Space) serves it."""

from __future__ import annotations

from studio.core.config import Settings, prepare_gradio_environment


def main() -> None:
    prepare_gradio_environment()  # before Gradio is imported
    from studio.services import Services
    from studio.ui import build_demo, launch

    settings = Settings.from_env()
    launch(build_demo(Services(settings)), settings)


if __name__ == "__main__":
    main()
