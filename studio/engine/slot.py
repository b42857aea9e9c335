"""One model loading and running at a time in this process: the compute slot.

The web app lets several model events in at once, so that a run waiting for a weights download (minutes
on a slow host, STUDIO_FETCH_TIMEOUT_S on a silent one) never holds up another user's run; downloads
happen before the slot is taken (Loader.fetch_weights). The slot keeps what a single queue worker used
to guarantee: one model computing at a time, so a run's memory estimate (footprint.py) is made, and
holds, while no other model is running.

The run holding the slot may say when it expects to let it go (`Hold.expect`, from the speed book's
prediction or its measured rate), so a run waiting behind it can tell its user how long the wait is
(`time_until_free`); the waiting run's `on_wait` is called again every REPORT_EVERY_S with the fresh figure.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

WAIT_STEP_S = 0.1  # how often a waiting run asks whether it was cancelled
REPORT_EVERY_S = 2.0  # how often a waiting run's on_wait is called again (its estimate changes as the holder works)
_SLOT = threading.Lock()  # a Lock, not an RLock: a generator's steps may run on different threads


class Hold:
    """The slot as its holder has it: where it says when it expects to release it."""

    def __init__(self) -> None:
        self._until: float | None = None

    def expect(self, seconds: float | None) -> None:
        """This run expects to release the slot in about `seconds` from now (None: it cannot tell)."""
        self._until = None if seconds is None else time.monotonic() + max(0.0, seconds)

    def seconds_left(self) -> float | None:
        """What is left of the expected time; None when the holder cannot tell or has overrun its estimate."""
        until = self._until
        left = None if until is None else until - time.monotonic()
        return left if left is not None and left >= 0 else None


_holder: Hold | None = None  # the Hold of the run in the slot, while there is one


def slot_busy() -> bool:
    """Whether a run holds the slot now (for tests and progress text)."""
    return _SLOT.locked()


def time_until_free() -> float | None:
    """Seconds until the run in the slot expects to release it; None when the slot is free or it cannot tell."""
    holder = _holder
    return holder.seconds_left() if holder is not None and _SLOT.locked() else None


@contextmanager
def compute_slot(check: Callable[[], None] | None = None, on_wait: Callable[[], None] | None = None) -> Iterator[Hold]:
    """Hold the slot for the block. While another run holds it, `on_wait` is called (to say so, at once and then
    every REPORT_EVERY_S) and `check` every WAIT_STEP_S: a cancel raises from there, so a waiting run leaves
    without ever taking it. Yields the Hold on which the block may say when it expects to be done."""
    global _holder
    if not _SLOT.acquire(blocking=False):
        if on_wait is not None:
            on_wait()
        reported = time.monotonic()
        while not _SLOT.acquire(timeout=WAIT_STEP_S):
            if check is not None:
                check()
            if on_wait is not None and time.monotonic() - reported >= REPORT_EVERY_S:
                on_wait()
                reported = time.monotonic()
    hold = _holder = Hold()
    try:
        yield hold
    finally:
        _holder = None
        _SLOT.release()
