"""caller_gone (ui/caller.py) on stand-ins for Gradio's queue: an event whose stream closed (Event.alive False) or
that was cancelled (out of the queue's active jobs) is gone; outside an event, never. The real server's behaviour
is in tests/service/test_run_limits.py."""

from __future__ import annotations

import contextvars
import threading
from types import SimpleNamespace

from gradio.context import LocalContext

from studio.ui.caller import caller_gone


def in_event(queue: SimpleNamespace, event_id: str):
    """caller_gone() as a handler of event `event_id` would call it (Gradio sets these in the handler's thread)."""

    def call():
        LocalContext.blocks.set(SimpleNamespace(_queue=queue))
        LocalContext.event_id.set(event_id)
        return caller_gone()

    return contextvars.Context().run(call)


def test_an_event_whose_stream_closed_is_gone_from_any_thread():
    event, other = SimpleNamespace(_id="e1", alive=True), SimpleNamespace(_id="e2", alive=True)
    queue = SimpleNamespace(active_jobs=[None, [other], [event]])
    gone = in_event(queue, "e1")
    assert gone() is False
    other.alive = False  # another session's stream: nothing to do with this run
    assert gone() is False
    event.alive = False  # Queue.clean_events, when this session's event stream closes
    seen = []
    worker = threading.Thread(target=lambda: seen.append(gone()))  # the engine asks from its own thread
    worker.start()
    worker.join()
    assert seen == [True]


def test_a_cancelled_event_leaves_the_active_jobs_and_is_gone():
    event = SimpleNamespace(_id="e1", alive=True)
    queue = SimpleNamespace(active_jobs=[[event], None])
    gone = in_event(queue, "e1")
    assert gone() is False
    queue.active_jobs[0] = None  # process_events' finally, when /cancel cancels its task
    assert gone() is True


def test_outside_an_event_or_on_an_unexpected_queue_it_never_says_gone():
    assert contextvars.Context().run(caller_gone)() is False
    assert in_event(SimpleNamespace(active_jobs=[None]), "missing")() is False
    assert in_event(SimpleNamespace(), "e1")() is False
    assert in_event(SimpleNamespace(active_jobs=[[SimpleNamespace(_id="e1")]]), "e1")() is False  # no `alive`
