"""The line under the page's title about this server: on a Space, whether its data survives a restart; while the
start-up prefetch runs (engine/prefetch.py), which models are loaded so far. Off a Space with nothing prefetching,
there is no line.

The text is worked out on every page load, and a timer refreshes it while the prefetch runs, then stops itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

import gradio as gr

from studio.core.config import Settings
from studio.engine.prefetch import LOADED, LOADING, WAITING, Prefetch
from studio.services import Services

REFRESH_S = 2.0  # how often an open page asks for the prefetch's progress while it runs
NOT_AVAILABLE = "Not available on this server right now"  # the models the prefetch could not load


def storage_text(settings: Settings) -> str:
    """Where the data is kept and whether it lasts, when persistent storage is expected (on a Space, or with
    STUDIO_PERSISTENT_DIR); '' otherwise (the data dir is then the operator's own)."""
    if settings.data_persistent is None:
        return ""
    if settings.data_persistent:
        return f"Data is kept in `{settings.data_dir}` (persistent storage)."
    where = f"Data is kept in `{settings.data_dir}`"
    if not settings.on_space:
        return (
            f"{where}, not on persistent storage (STUDIO_PERSISTENT_DIR is not a writable folder, or not its parent)."
        )
    lost = "votes and downloads are lost when the Space restarts"
    if settings.db_url:
        lost = "downloads are lost when the Space restarts (ratings are in the STUDIO_DB_URL database)"
    if settings.persistent_dir is None:
        return f"Data is **not persistent**: {lost}; turn on persistent storage in the Space's settings."
    return f"{where}, outside the persistent storage (`{settings.persistent_dir}`): {lost}."


def prefetch_text(prefetch: Prefetch | None, names: Mapping[str, str] | None = None) -> str:
    """The prefetch's progress while it runs; once over, only the models that failed (nothing when every model
    loaded). Models by name (`names`: id -> name; an id without one, such as a typo in STUDIO_PREFETCH, as given).

    A failure's reason is not shown: it is for the operator (it may name paths, settings and commands), who finds
    it in the server log and in /readyz; a visitor only needs to know which models are not there.
    """
    if prefetch is None:
        return ""

    def named(model_ids) -> str:
        return ", ".join((names or {}).get(model_id, model_id) for model_id in model_ids)

    failed = list(prefetch.failed)
    if prefetch.done:
        return f"{NOT_AVAILABLE}: {named(failed)} (failed to load at start)." if failed else ""
    states = {model_id: prefetch.state(model_id) for model_id in prefetch.model_ids}
    loaded, loading, waiting = ([m for m, s in states.items() if s == state] for state in (LOADED, LOADING, WAITING))
    parts = [f"{len(loaded)} of {len(states)} models loaded" + (f": {named(loaded)}" if loaded else "")]
    parts += [f"loading {named(loading)}"] if loading else []
    parts += [f"{len(waiting)} waiting"] if waiting else []
    parts += [f"failed: {named(failed)}"] if failed else []
    return f"Loading models at start: {'; '.join(parts)}."


def status_text(services: Services) -> str:
    names = {spec.id: spec.name for spec in services.registry}
    parts = (storage_text(services.settings), prefetch_text(services.prefetch, names))
    return "  \n".join(text for text in parts if text)


def refresh(services: Services) -> tuple[str, Any]:
    """The line's new text, and the timer kept running only while the prefetch is."""
    prefetch = services.prefetch
    return status_text(services), gr.Timer(active=prefetch is not None and not prefetch.done)


def build_status_line(services: Services) -> gr.Markdown:
    """The line, worked out again on each page load, with a timer while the start-up prefetch runs (no progress
    shown for either: the line is news, not a task the visitor waits on). Built inside the page's Blocks."""
    line = gr.Markdown(status_text(services), elem_id="status-line")
    quiet = {"api_name": False, "queue": False, "show_progress": "hidden"}
    page = gr.context.Context.root_block
    if page is not None:
        page.load(partial(status_text, services), None, line, **quiet)
    prefetch = services.prefetch
    if prefetch is not None and not prefetch.done:
        timer = gr.Timer(REFRESH_S)
        timer.tick(partial(refresh, services), None, [line, timer], **quiet)
    return line
