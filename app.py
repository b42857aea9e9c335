"""Enhance Studio web app: `python app.py` (or a Hugging Face Space) serves it.

The Gradio app (studio/ui) is mounted on the service's FastAPI app (studio/service: /healthz,
/readyz, /metrics, request ids, strict CORS, body checks), which uvicorn serves.
"""

from __future__ import annotations

from studio.core.config import Settings, prepare_gradio_environment


def main() -> None:
    prepare_gradio_environment()  # before Gradio is imported
    from studio.service import http, server
    from studio.service.logs import configure_logging
    from studio.service.metrics import Metrics
    from studio.services import Services
    from studio.ui import build_demo, clean_temp_folders, mount, queue_length

    settings = Settings.from_env()
    configure_logging(settings.log_format)
    services = Services(settings)
    demo = build_demo(services)
    metrics = Metrics(services, queue_length=lambda: queue_length(demo))
    app = http.build_app(services, metrics, housekeeping=[clean_temp_folders])
    mount(demo, settings, app, app_kwargs=http.gradio_app_kwargs())
    server.serve(app, settings)


if __name__ == "__main__":
    main()
