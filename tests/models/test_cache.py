from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import pytest

from studio.models.cache import EnhancerCache
from studio.models.loader import Loader
from studio.models.registry import load_registry


@dataclass
class Loaded:
    name: str
    memory_mb: float = 100.0


def test_eight_threads_asking_at_once_load_exactly_once():
    cache = EnhancerCache(budget_mb=1000)
    calls = []
    barrier = threading.Barrier(8)
    results = []

    def slow_load():
        calls.append(threading.get_ident())
        time.sleep(0.2)
        return Loaded("a")

    def worker():
        barrier.wait()
        results.append(cache.get("a", slow_load))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert len(results) == 8 and all(r is results[0] for r in results)


def test_a_failed_load_is_not_remembered():
    cache = EnhancerCache(budget_mb=1000)

    def broken():
        raise RuntimeError("corrupt")

    with pytest.raises(RuntimeError):
        cache.get("a", broken)
    assert cache.get("a", lambda: Loaded("ok")).name == "ok"


def test_waiters_see_the_loaders_error():
    """Four threads, one load: the three waiters get the loader's error instead of loading again.

    The loader holds on until every thread has entered `get` (and a little longer, so they are
    waiting on its result), so the test does not depend on how fast threads start.
    """
    cache = EnhancerCache(budget_mb=1000)
    barrier = threading.Barrier(4)
    errors = []
    calls = []
    entered = []

    def broken():
        calls.append(threading.get_ident())
        deadline = time.monotonic() + 10
        while len(entered) < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)
        raise ValueError("bad weights")

    def worker():
        barrier.wait()
        entered.append(threading.get_ident())
        try:
            cache.get("a", broken)
        except ValueError as exc:
            errors.append(str(exc))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == ["bad weights"] * 4
    assert len(calls) == 1  # a cache without the load-once lock also gives 4 errors, from 4 loads


def test_least_recently_used_is_evicted_over_budget():
    cache = EnhancerCache(budget_mb=250)
    cache.get("a", lambda: Loaded("a"))
    cache.get("b", lambda: Loaded("b"))
    cache.get("a", lambda: Loaded("a-again"))  # touch a: b is now the oldest
    cache.get("c", lambda: Loaded("c"))
    assert cache.loaded_keys() == ["a", "c"]
    assert cache.used_mb() == 200


def test_loader_loads_a_model_once_per_parameter_set(settings):
    registry = load_registry(settings)
    loader = Loader(settings, cache=EnhancerCache(1000))
    spec = registry.get("unsharp-mask")
    first = loader.load(spec)
    assert loader.load(spec) is first
    assert loader.load(spec, {"amount": 2}) is not first
    assert loader.cache.loads == 2
