"""Per-session and per-address rate limits on the web app's costly events (model runs, votes, failed logins).

A sliding window: at most `limit` events of one kind from one key in any `window_s` seconds, the rule
people read ("5 runs a minute") and the one the ratings store already applies to arena votes. A refusal
names the wait until the oldest counted event leaves the window. Counts live in this process's memory:
they start empty when the server restarts, and servers that share a database do not share them (the
store's own check on arena votes does). The clock is injected, so tests need no sleeps.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from studio.core import telemetry
from studio.core.errors import RateLimitedError

RUNS, VOTES, LOGINS = "runs", "votes", "logins"
SESSION, ADDRESS = "session", "address"
WINDOW_S = 60.0
FAILED_LOGINS = 10  # failed logins a minute from one address (each costs a scrypt hash), then HTTP 429
NOUNS = {RUNS: "runs", VOTES: "votes", LOGINS: "failed logins"}  # "too many <noun> from this <scope>"


@dataclass(frozen=True)
class Rate:
    """Events a minute allowed from one session (or login) and from one client address; 0 turns a limit off."""

    per_session: int = 0
    per_address: int = 0

    def __bool__(self) -> bool:
        return bool(self.per_session or self.per_address)

    def __str__(self) -> str:
        return f"{self.per_session},{self.per_address}"


class SlidingWindow:
    """Timestamps of each key's events in the last `window_s` seconds; not thread-safe (RateLimiter locks)."""

    def __init__(self, limit: int, window_s: float = WINDOW_S):
        self.limit = limit
        self.window_s = window_s
        self._events: dict[str, deque[float]] = {}

    def wait(self, key: str, now: float) -> float:
        """Seconds until `key` may have one more event (0: now); drops the events that left the window."""
        events = self._events.get(key)
        if events is None:
            return 0.0
        while events and events[0] <= now - self.window_s:
            events.popleft()
        if not events:
            del self._events[key]
            return 0.0
        if len(events) < self.limit:
            return 0.0
        return max(0.0, events[len(events) - self.limit] + self.window_s - now)  # until one fewer than the limit

    def add(self, key: str, now: float) -> None:
        self._events.setdefault(key, deque()).append(now)

    def forget_idle(self, now: float) -> None:
        """Drop keys with no event in the window, so a crowd of one-off sessions does not stay in memory."""
        for key in [key for key, events in self._events.items() if not events or events[-1] <= now - self.window_s]:
            del self._events[key]

    def keys_held(self) -> int:
        return len(self._events)


class RateLimiter:
    """One sliding window per kind of event and scope (session, address), from the settings' Rates."""

    def __init__(
        self, rates: Mapping[str, Rate], window_s: float = WINDOW_S, clock: Callable[[], float] = time.monotonic
    ):
        self.rates = dict(rates)
        self.window_s = window_s
        self._clock = clock
        self._windows: dict[tuple[str, str], SlidingWindow] = {}
        for kind, rate in self.rates.items():
            for scope, limit in ((SESSION, rate.per_session), (ADDRESS, rate.per_address)):
                if limit > 0:
                    self._windows[kind, scope] = SlidingWindow(limit, window_s)
        self._lock = threading.Lock()
        self._swept = clock()

    def take(self, kind: str, session: str | None, address: str | None) -> None:
        """Count one `kind` event for `session` and `address` (None: not known, not limited), or raise
        RateLimitedError and count nothing when either is at its limit."""
        with self._lock:
            now = self._clock()
            keys = [(scope, key) for scope, key in ((SESSION, session), (ADDRESS, address)) if key]
            self._refuse_if_waiting(kind, keys, now)
            for scope, key in keys:
                if (window := self._windows.get((kind, scope))) is not None:
                    window.add(key, now)
            self._sweep(now)

    def check_address(self, kind: str, address: str | None) -> None:
        """Raise RateLimitedError when `address` is at its `kind` limit; counts nothing (the caller counts later)."""
        if address:
            with self._lock:
                self._refuse_if_waiting(kind, [(ADDRESS, address)], self._clock())

    def count_address(self, kind: str, address: str | None) -> None:
        """Count one `kind` event for `address` without checking (an event known only once it happened)."""
        if address and (window := self._windows.get((kind, ADDRESS))) is not None:
            with self._lock:
                now = self._clock()
                window.add(address, now)
                self._sweep(now)

    def _refuse_if_waiting(self, kind: str, keys: list[tuple[str, str]], now: float) -> None:
        for scope, key in keys:
            window = self._windows.get((kind, scope))
            wait = window.wait(key, now) if window is not None else 0.0
            if wait > 0:
                telemetry.emit("rate_limited", kind=kind, scope=scope)
                seconds = max(1, math.ceil(wait))
                raise RateLimitedError(
                    f"slow down: too many {NOUNS.get(kind, kind)} from this {scope} in the last minute "
                    f"(try again in {seconds} s)",
                    seconds,
                )

    def _sweep(self, now: float) -> None:
        if now - self._swept >= self.window_s:
            self._swept = now
            for window in self._windows.values():
                window.forget_idle(now)

    def tracked(self) -> int:
        """Keys held across every window (for tests: idle ones are forgotten)."""
        with self._lock:
            return sum(window.keys_held() for window in self._windows.values())
