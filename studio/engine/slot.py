"""One model loading and running at a time in this process: the compute slot.

The web app lets several model events in at once, so that a run waiting for a weights download (minutes
on a slow host, STUDIO_FETCH_TIMEOUT_S on a silent one) never holds up another user's run; downloads
happen before the slot is taken (Loader.fetch_weights). The slot keeps what a single queue worker used
to guarantee: one model computing at a time, so a run's memory estimate (footprint.py) is made, and
holds, while no other model is running.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

WAIT_STEP_S = 0.1  # how often a waiting run asks whether it was cancelled
_SLOT = threading.Lock()  # a Lock, not an RLock: a generator's steps may run on different threads


def slot_busy() -> bool:
    """Whether a run holds the slot now (for tests and progress text)."""
    return _SLOT.locked()


@contextmanager
def compute_slot(check: Callable[[], None] | None = None, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold the slot for the block. While another run holds it, `on_wait` is called once (to say so) and
    `check` every WAIT_STEP_S: a cancel raises from there, so a waiting run leaves without ever taking it."""
    if not _SLOT.acquire(blocking=False):
        if on_wait is not None:
            on_wait()
        while not _SLOT.acquire(timeout=WAIT_STEP_S):
            if check is not None:
                check()
    try:
        yield
    finally:
        _SLOT.release()
