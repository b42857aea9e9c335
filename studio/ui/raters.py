"""Who is rating, and what the rating tabs share: the rater's id and address, refusals, filter choices."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import gradio as gr

from studio.core import telemetry
from studio.core.config import Settings
from studio.core.errors import ServerFaultError, StudioError, first_line
from studio.core.vocabulary import TASKS
from studio.ratings.store import Database
from studio.ratings.store_items import round_names
from studio.ui.hf_login import require_hf_user
from studio.ui.limits import visitor
from studio.ui.ratings_views import ALL

T = TypeVar("T")

# Rating events are short database transactions: they run without a concurrency limit, so a
# crowd of raters never fills the bounded queue; the database serialises the writes.
RATING_EVENT = {"concurrency_limit": None, "show_progress": "minimal"}


@dataclass(frozen=True)
class Rater:
    id: str  # "hf:<user>" signed in with Hugging Face, "login:<name>" under STUDIO_AUTH, else the browser session
    ip: str | None


def rater_of(request: gr.Request | None, settings: Settings) -> Rater:
    """The caller as the limits know them (ui/limits.visitor): the Hugging Face user when signed in (required
    under STUDIO_HF_LOGIN), the logged-in name when STUDIO_AUTH is on, otherwise Gradio's per-page-load session."""
    require_hf_user(settings, request, "rate")
    key, address = visitor(request)
    if key is None:
        raise gr.Error("No session: rate from the page, or from a gradio_client Client (one session each).")
    return Rater(id=key, ip=address)


def refusing(action: Callable[[], T]) -> T:
    """Run `action`; a refusal from the store (or any StudioError) becomes one line on the page. A database that
    cannot be opened is the server's fault, not the rater's: it goes on to the fault handler (an error id)."""
    try:
        return action()
    except ServerFaultError:
        raise
    except StudioError as exc:
        raise gr.Error(first_line(exc)) from None


def counts_votes(kind: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Report each call of a vote handler as an accepted or rejected vote of `kind` (arena, mos) for /metrics:
    accepted when it returns (the store kept the vote), rejected when it raises (nothing was stored)."""

    def decorate(handler: Callable[..., T]) -> Callable[..., T]:
        @functools.wraps(handler)
        def counted(*args: Any, **kwargs: Any) -> T:
            try:
                result = handler(*args, **kwargs)
            except Exception:
                telemetry.emit("vote", kind=kind, outcome="rejected")
                raise
            telemetry.emit("vote", kind=kind, outcome="accepted")
            return result

        return counted

    return decorate


def round_choices(db: Database) -> list[tuple[str, str]]:
    return [("all rounds", ALL), *((name, name) for name in round_names(db))]


def task_choices() -> list[tuple[str, str]]:
    return [("all tasks", ALL), *((task, task) for task in TASKS)]


def rounds_update(db: Database, current: str | None) -> dict:
    """The round dropdown's fresh choices, keeping the current pick when it still exists."""
    choices = round_choices(db)
    keep = current if current in {value for _, value in choices} else ALL
    return gr.update(choices=choices, value=keep)
