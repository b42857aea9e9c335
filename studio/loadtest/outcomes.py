"""What one request of the load test did, and how its failure is judged.

A refusal is clean when it is one line telling the caller the server is busy and to come back: Gradio's
full queue (HTTP 503; gradio_client says "Queue is full! Please try again.") or a rate limit ("slow down: ...
(try again in N s)", HTTP 429). Any other one-line refusal is a user error the load test should never cause.
A server error is a fault ("Something went wrong on the server (error id ...)"), another HTTP 5xx, an
exception Gradio did not turn into a message, a dropped connection, a timeout or an answer of the wrong shape.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

OK, BUSY, REFUSED, ERROR = "ok", "busy", "refused", "error"
OUTCOMES = (OK, BUSY, REFUSED, ERROR)

CLEAN_BUSY = (
    re.compile(r"Queue is full\b.*"),  # gradio_client's QueueError, and the 503's own detail
    re.compile(r"slow down: .+ \(try again in \d+ s\)"),  # studio/core/ratelimit.py and the ratings store
    re.compile(r"HTTP (429|503)\b.*"),  # an HTTP refusal before anything was queued (Retry-After)
)
FAULT = "Something went wrong on the server"
UNREPORTED = "has raised an exception but has not enabled verbose error reporting"  # gradio_client: a raw exception


@dataclass(frozen=True)
class Record:
    """One request: its kind (compare, pair, vote, healthz), the client that sent it (-1: the health probe),
    when it started (seconds after the run began), how long it took and how it ended."""

    kind: str
    client: int
    start_s: float
    latency_s: float
    outcome: str
    text: str = ""  # the refusal or error in one line; empty when it succeeded


class UnexpectedAnswer(Exception):
    """The server answered, but not with what the endpoint returns: a server error for the load test."""


def judge_message(message: str, refusal: bool) -> tuple[str, str]:
    """(outcome, one line) for an error message; `refusal` when the server sent it as a one-line refusal."""
    first = message.strip().splitlines()[0] if message.strip() else "(empty message)"
    if any(pattern.fullmatch(first) for pattern in CLEAN_BUSY) and "\n" not in message.strip():
        return BUSY, first
    if FAULT in message or UNREPORTED in message or not refusal:
        return ERROR, first
    if "\n" in message.strip():
        return REFUSED, first + " (and more lines)"
    return REFUSED, first


def judge(exc: BaseException) -> tuple[str, str]:
    """(outcome, one line) for what a request raised."""
    import httpx
    from gradio_client.exceptions import AppError
    from gradio_client.utils import QueueError

    if isinstance(exc, httpx.HTTPStatusError):
        status = exc.response.status_code
        return judge_message(f"HTTP {status} {exc.response.reason_phrase}", refusal=status < 500 or status == 503)
    if isinstance(exc, httpx.TimeoutException):
        return ERROR, f"timeout: {type(exc).__name__}"
    if isinstance(exc, httpx.TransportError):
        return ERROR, f"connection: {type(exc).__name__}: {exc}".splitlines()[0]
    if isinstance(exc, UnexpectedAnswer):
        return ERROR, f"unexpected answer: {exc}".splitlines()[0]
    if isinstance(exc, (QueueError, AppError)):
        return judge_message(str(exc), refusal=True)
    return ERROR, f"{type(exc).__name__}: {exc}".splitlines()[0]


def timed_call(kind: str, client: int, origin: float, action: Callable[[], Any]) -> Record:
    """Run `action` and record how it went; `origin` is the run's start on time.monotonic()."""
    started = time.monotonic()
    try:
        action()
    except Exception as exc:
        outcome, text = judge(exc)
        return Record(kind, client, started - origin, time.monotonic() - started, outcome, text)
    return Record(kind, client, started - origin, time.monotonic() - started, OK)
