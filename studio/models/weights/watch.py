"""A blocking download under a watchdog: it fails when the server has not answered in time, whatever the
library doing the download does meanwhile.

huggingface_hub bounds each request, but when a Hub endpoint accepts connections and never answers it
asks again with a 60 s timeout and retries with backoff: `studio fetch` was still waiting after 300 s and a
web run held its worker for 393 s. Its retry timeout is not a parameter, so the download runs in a daemon
thread and the caller stops waiting at the budget's limits; the thread ends when the library gives up (or
finishes, leaving a good file in its cache for the next run).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from studio.models.weights.download import Budget

T = TypeVar("T")


class NoAnswer(Exception):
    """The work did not finish in time; `reason` says which limit (Budget.no_answer or Budget.overdue)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def run_watched(work: Callable[[Callable[[], None]], T], budget: Budget, name: str = "weights-download") -> T:
    """`work(answered)` in a daemon thread; its value, or its exception re-raised here.

    `work` calls `answered()` once the server has answered (the download's bytes started to arrive). Raises
    NoAnswer when that has not happened within `budget.answer_s`, or the work has not finished by the
    budget's deadline; the thread is then left to end on its own.
    """
    answered = threading.Event()
    done = threading.Event()
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = work(answered.set)
        except BaseException as exc:  # handed to the waiting caller (or dropped once it stopped waiting)
            outcome["error"] = exc
        finally:
            done.set()

    threading.Thread(target=target, name=name, daemon=True).start()
    if not done.wait(min(budget.answer_s, max(budget.left(), 0.0))) and not answered.is_set():
        raise NoAnswer(budget.no_answer() if budget.left() > 0 else budget.overdue())
    if not done.wait(max(budget.left(), 0.0)):
        raise NoAnswer(budget.overdue())
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
