"""The process-wide, thread-safe, load-once LRU of loaded enhancers.

When several threads ask for the same key at once, exactly one loads it and
the others wait for that result. A failed load is not remembered, so the next
request tries again. Entries are evicted least-recently-used first once their
summed `memory_mb` exceeds the budget (STUDIO_CACHE_MB).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CacheKey:
    """What makes two loaded enhancers different."""

    model_id: str
    backend: str
    device: str = "cpu"
    precision: str = "fp32"
    params: tuple[tuple[str, Any], ...] = ()


class EnhancerCache:
    """Load-once LRU keyed by CacheKey (or any hashable)."""

    def __init__(self, budget_mb: float):
        self.budget_mb = budget_mb
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()
        self._loading: dict[Hashable, Future] = {}
        self.loads = 0  # how many times a loader actually ran (for tests and `studio models`)
        self.hits = 0  # asks answered from the cache (the web server's /metrics reads these two)
        self.misses = 0  # asks that loaded the enhancer or waited for another thread's load

    def get(self, key: Hashable, load: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._entries:
                self.hits += 1
                self._entries.move_to_end(key)
                return self._entries[key]
            self.misses += 1
            future = self._loading.get(key)
            owner = future is None
            if owner:
                future = Future()
                self._loading[key] = future
        if not owner:
            return future.result()
        try:
            value = load()
        except BaseException as exc:
            with self._lock:
                del self._loading[key]
            future.set_exception(exc)
            raise
        with self._lock:
            self.loads += 1
            self._entries[key] = value
            del self._loading[key]
            self._evict_over_budget(keep=key)
        future.set_result(value)
        return value

    def _evict_over_budget(self, keep: Hashable) -> None:
        while self.used_mb() > self.budget_mb and len(self._entries) > 1:
            oldest = next(iter(self._entries))
            if oldest == keep:
                break
            del self._entries[oldest]

    def used_mb(self) -> float:
        return sum(float(getattr(v, "memory_mb", 0.0)) for v in self._entries.values())

    def loaded_keys(self) -> list[Hashable]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def discard(self, keys: list[Hashable]) -> None:
        """Unload these entries (the forms auto-tuning tried and did not keep), if loaded."""
        with self._lock:
            for key in keys:
                self._entries.pop(key, None)


_GLOBAL: EnhancerCache | None = None
_GLOBAL_LOCK = threading.Lock()


def global_cache(budget_mb: float) -> EnhancerCache:
    """The one cache per process (created on first use, not at import)."""
    global _GLOBAL
    with _GLOBAL_LOCK:
        if _GLOBAL is None:
            _GLOBAL = EnhancerCache(budget_mb)
        return _GLOBAL
