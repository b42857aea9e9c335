"""Rate limits on the events that run models or store ratings (STUDIO_RATE_RUNS, STUDIO_RATE_VOTES).

Each limited handler calls `check` first thing, so an event over its limit runs nothing and the page shows
one line naming the wait ("slow down: too many runs from this session in the last minute (try again in
12 s)"), in the toast and, for Compare and Video runs, in the run bar's progress box. A session is the
login when STUDIO_AUTH is on (one person's tabs share a budget), else Gradio's per-page-load session; the
address is the client's (X-Forwarded-For only from STUDIO_TRUSTED_PROXIES: studio/service/server.py).
The webcam stream is not limited here: it has its own budget (two viewers, five minutes each).
"""

from __future__ import annotations

import gradio as gr

from studio.core.errors import RateLimitedError
from studio.core.ratelimit import RUNS, VOTES
from studio.services import Services
from studio.ui.hf_login import hf_user, require_hf_user

# Events by api_name -> the limit they count under; app.py hands this to the service, which answers a POST to
# /gradio_api/call/<name> with 429 and Retry-After while the caller's address is over that limit.
LIMITED_EVENTS = {
    "compare": RUNS,
    "run": RUNS,
    "video": RUNS,
    "video_run": RUNS,
    "vote_a": VOTES,
    "vote_b": VOTES,
    "vote_tie": VOTES,
    "vote_both_bad": VOTES,
    "submit_score": VOTES,
}


def visitor(request: gr.Request | None) -> tuple[str | None, str | None]:
    """(session key, client address) of the event's caller; None where unknown (not limited under it). A
    signed-in Hugging Face user or STUDIO_AUTH login is one key however many pages it opens."""
    username = getattr(request, "username", None)
    session = getattr(request, "session_hash", None)
    client = getattr(request, "client", None)
    hf = hf_user(request)
    key = f"hf:{hf}" if hf else f"login:{username}" if username else (str(session) if session else None)
    return key, getattr(client, "host", None)


def check(services: Services, kind: str, session: str | None, address: str | None) -> None:
    """Count one `kind` event (runs, votes) for the caller, or refuse it with one gr.Error line naming the wait."""
    try:
        services.limits.take(kind, session, address)
    except RateLimitedError as exc:
        raise gr.Error(str(exc)) from None


def check_request(services: Services, kind: str, request: gr.Request | None) -> None:
    if kind == RUNS:  # STUDIO_HF_LOGIN=all: model runs need a Hugging Face sign-in too
        require_hf_user(services.settings, request, "run models", scope="all")
    check(services, kind, *visitor(request))
