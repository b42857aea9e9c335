"""Counts and timings the program reports while it works, for whoever listens (the web server's /metrics).

Code at any layer calls `emit`; only the service layer (studio/service/metrics.py) subscribes, so
imports keep pointing downward and nothing here knows about Prometheus. With no listener, `emit`
does nothing. Events and their labels (the service's metrics are named after them):

- "model_run": one model's run on one image, value = seconds; labels `model`, `backend`
- "event": one call of an app endpoint; labels `endpoint`, `outcome` (ok, user_error, fault)
- "vote": a vote or MOS score; labels `kind` (arena, mos), `outcome` (accepted, rejected)
- "rate_limited": a request refused by a rate limit; labels `kind` (runs, votes, logins), `scope` (session, address)
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

Listener = Callable[[str, float, dict[str, str]], None]

_listeners: list[Listener] = []
_lock = threading.Lock()


def subscribe(listener: Listener) -> Callable[[], None]:
    """Call `listener(event, value, labels)` on every `emit`; returns the function that stops it."""
    with _lock:
        _listeners.append(listener)

    def unsubscribe() -> None:
        with _lock:
            if listener in _listeners:
                _listeners.remove(listener)

    return unsubscribe


def emit(event: str, value: float = 1.0, **labels: str) -> None:
    """Report `event` (a count of 1 unless `value` says otherwise). A failing listener never fails the caller."""
    for listener in tuple(_listeners):
        try:
            listener(event, value, labels)
        except Exception:
            logging.getLogger(__name__).exception("telemetry listener failed on %s", event)
