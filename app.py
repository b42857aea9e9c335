"""Enhance Studio web app: `python app.py` (or a Hugging Face Space) serves it.

The Gradio app (studio/ui) is mounted on the service's FastAPI app (studio/service: /healthz,
/readyz, /metrics, request ids, strict CORS, body checks), which uvicorn serves.
"""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING

from studio.core.config import Settings, prepare_gradio_environment, use_persistent_storage, use_temp_folder

if TYPE_CHECKING:
    from studio.service.scratch import Scratch


def main() -> None:
    """Serve the app from a temporary folder of this server's own (removed at exit, or by the next server to
    start if this one is killed: studio/service/scratch.py). A setting it cannot start with (a bad
    environment variable) is one line and the error's exit status (2 for a bad setting), as the CLI's."""
    from studio.core.errors import StudioError, first_line

    try:
        serve_in_scratch()
    except StudioError as exc:
        print(f"error: {first_line(exc)}", file=sys.stderr)
        raise SystemExit(exc.exit_code) from None


def serve_in_scratch() -> None:
    from studio.service.scratch import claim_scratch

    scratch = claim_scratch()
    undo = use_temp_folder(scratch.folder)  # before Gradio is imported: its uploads and cache go there too
    undo_storage = use_persistent_storage()  # on a Space with persistent storage: HF_HOME there, before huggingface_hub
    try:
        serve_app(scratch)
    finally:
        undo_storage()
        undo()
        scratch.close()


def serve_app(scratch: Scratch) -> None:
    prepare_gradio_environment()  # before Gradio is imported
    from studio.service import http, server
    from studio.service.logs import configure_logging
    from studio.service.loops import AppLoop
    from studio.service.metrics import Metrics
    from studio.services import Services
    from studio.ui import LIMITED_EVENTS, build_demo, clean_temp_folders, mount, queue_length

    settings = Settings.from_env()
    configure_logging(settings.log_format)
    if scratch.removed:
        logging.getLogger("studio.server").info(
            "removed the temporary folders of %d server(s) stopped without cleaning up", len(scratch.removed)
        )
    if settings.persistent_unusable:  # the page says the data is not kept; the operator also learns why
        logging.getLogger("studio.server").warning(
            "STUDIO_PERSISTENT_DIR=%s is not a writable folder: the data is not kept across restarts",
            settings.persistent_unusable,
        )
    services = Services(settings)
    if settings.autotune and settings.tune_at_start:
        from studio.engine.warmup import tune_in_background

        tune_in_background(services.registry, services.loader)
    from studio.engine.prefetch import start_prefetch
    from studio.ui.choices import DEFAULT_MODELS

    services.prefetch = start_prefetch(settings.prefetch, DEFAULT_MODELS, services.registry, services.loader)
    demo = build_demo(services)
    from studio.demo.build import build_in_background

    build_in_background(services)  # STUDIO_DEMO_CACHE: the examples' precomputed results, rebuilt when stale
    metrics = Metrics(services, queue_length=lambda: queue_length(demo))
    housekeeping = [clean_temp_folders, scratch.sweep_partial_uploads]
    app_loop = AppLoop(server.loop_factory()).start()
    app = http.build_app(
        services,
        metrics,
        housekeeping=housekeeping,
        limited_events=LIMITED_EVENTS,
        at_exit=[scratch.close],
        app_loop=app_loop,
    )
    mount(demo, settings, app, app_kwargs=http.gradio_app_kwargs())
    server.serve(app, settings, app_loop)


if __name__ == "__main__":
    main()
