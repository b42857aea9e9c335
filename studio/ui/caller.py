"""Whether the caller of the running event is still there, so a run nobody waits for stops and frees the slot.

When the page or a client's event stream (`/gradio_api/queue/data`, the SSE stream gradio_client and the page
read) closes, Gradio 6 marks that session's running events as no longer alive (`Queue.clean_events`); a
`/cancel` takes the event out of the queue's active jobs. Neither stops the handler: a plain function runs on
in its worker thread, and a generator is only not asked for its next value (its current step, one whole model,
runs to the end). An API `/compare` whose client had gone held the compute slot until it finished (measured:
the next request waited 30 s). The engine's stop check now asks `caller_gone`, so such a run ends at its next
stop point (a tile) instead.

This reads Gradio's queue (`LocalContext`, `Queue.active_jobs`, `Event.alive`): private names, so it is kept to
this module, answers "still there" whenever they are missing, and tests/service/test_run_limits.py checks it
against the real server.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _never() -> bool:
    return False


def _find_event(queue: Any, event_id: str) -> Any | None:
    for job in list(getattr(queue, "active_jobs", None) or ()):
        for event in job or ():
            if getattr(event, "_id", None) == event_id:
                return event
    return None


def caller_gone() -> Callable[[], bool]:
    """A check, callable from any thread, that says whether the caller of the event now running went away.

    Call it in the event's handler (where Gradio has set its context). Outside an event, or where Gradio's
    queue looks other than expected, the check always answers False.
    """
    try:
        from gradio.context import LocalContext

        blocks = LocalContext.blocks.get(None)
        event_id = LocalContext.event_id.get(None)
    except (ImportError, AttributeError):
        return _never
    queue = getattr(blocks, "_queue", None)
    if queue is None or not event_id:
        return _never
    event = _find_event(queue, event_id)
    if event is None or not hasattr(event, "alive"):
        return _never

    def gone() -> bool:
        if not event.alive:  # its event stream closed
            return True
        jobs = list(getattr(queue, "active_jobs", None) or ())
        return not any(job is not None and any(e is event for e in job) for job in jobs)  # cancelled: out of the jobs

    return gone
