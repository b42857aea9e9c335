"""What ends a web run early: the session's Cancel, a caller that went away, and the server's time limit.

Every model event (/run, /compare, /video_run, /video) builds one RunGuard in its handler and hands the engine
its `should_stop` and `limit`; the engine asks them at its stop points (before each model, after each tile,
before each video frame), keeps what finished and frees the compute slot. STUDIO_RUN_TIMEOUT_S counts the
time the run holds the compute slot (engine/timelimit.py).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from studio.engine.timelimit import IMAGE_ADVICE, TimeLimit
from studio.services import Services
from studio.ui.caller import caller_gone

logger = logging.getLogger("studio.ui")


@dataclass
class RunGuard:
    cancel: threading.Event  # the session's Cancel button (an API call has none of its own: never set)
    gone: Callable[[], bool]  # whether the caller went away (caller.py)
    limit: TimeLimit

    @classmethod
    def start(cls, services: Services, cancel: threading.Event | None = None, advice: str = IMAGE_ADVICE) -> RunGuard:
        """The guard of the event running now: call it in the event's handler, where Gradio's context is set."""
        return cls(cancel or threading.Event(), caller_gone(), TimeLimit(services.settings.run_timeout_s, advice))

    def should_stop(self) -> bool:
        return self.cancel.is_set() or self.gone()

    def log_end(self, endpoint: str, cancelled: str | None) -> None:
        """One log line for a run that the server ended early: its caller gone, or its time used up."""
        if not cancelled:
            return
        if self.gone():
            logger.info("/%s stopped: its caller went away (%s)", endpoint, cancelled, extra={"endpoint": endpoint})
        elif self.limit.exceeded():
            used = self.limit.used_s
            logger.info("/%s %s (it computed %.1f s)", endpoint, cancelled, used, extra={"endpoint": endpoint})
