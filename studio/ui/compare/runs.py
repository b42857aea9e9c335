"""Cancelling a run: one stop flag per browser session, set by the Cancel button, read by the engine.

The engine asks `should_stop` before each model and after each tile, so a cancel takes
effect within one tile and keeps what finished. Gradio's own `cancels=` would kill the
generator between yields and lose the files of the finished models; a flag lets the run
end normally and write them.
"""

from __future__ import annotations

import threading


class StopFlags:
    """Session hash -> threading.Event; thread-safe (the run and the Cancel click run on different threads)."""

    def __init__(self) -> None:
        self._flags: dict[str, threading.Event] = {}
        self._reasons: dict[str, str] = {}  # session -> why its last run did not run (see refused)
        self._lock = threading.Lock()

    def arm(self, session: str) -> threading.Event:
        """A fresh, unset flag for the session's next run (a Cancel from an earlier run is forgotten)."""
        with self._lock:
            flag = self._flags[session] = threading.Event()
            return flag

    def flag(self, session: str) -> threading.Event:
        """The session's flag, armed now if the run started without the page's first step (an API client)."""
        with self._lock:
            return self._flags.setdefault(session, threading.Event())

    def stop(self, session: str) -> bool:
        """Ask the session's run to stop; False when it has none going."""
        with self._lock:
            flag = self._flags.get(session)
        if flag is None:
            return False
        flag.set()
        return True

    def forget(self, session: str) -> None:
        with self._lock:
            self._flags.pop(session, None)

    def refused(self, session: str, message: str) -> None:
        """Keep why the session's run was refused or failed, for the progress box (the toast fades)."""
        with self._lock:
            self._reasons[session] = message

    def take_reason(self, session: str) -> str | None:
        with self._lock:
            return self._reasons.pop(session, None)

    def __len__(self) -> int:
        return len(self._flags)
