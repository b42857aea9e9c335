"""The compute slot: one model loads and runs at a time in a process, a waiting run says so, and a cancel ends
its wait without it ever running (engine/slot.py; downloads happen outside it: tests/models/test_fetch_deadline)."""

from __future__ import annotations

import threading
import time

import pytest

from studio.core.media import DecodedImage
from studio.engine.compare import WAITING, iterate
from studio.engine.request import CompareRequest
from studio.engine.slot import compute_slot, slot_busy
from studio.models.cache import EnhancerCache
from studio.models.loader import Loader
from studio.models.registry import load_registry


class Cancelled(Exception):
    pass


def test_two_runs_take_the_slot_one_after_the_other():
    inside: list[int] = []
    overlaps: list[int] = []

    def run() -> None:
        with compute_slot():
            inside.append(1)
            overlaps.append(len(inside))
            time.sleep(0.1)
            inside.pop()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert overlaps == [1, 1, 1] and not slot_busy()


def test_a_waiting_run_says_so_once_and_a_cancel_ends_the_wait():
    said: list[str] = []
    asked = 0

    def check() -> None:
        nonlocal asked
        asked += 1
        if asked == 3:
            raise Cancelled  # whatever the caller raises on a cancel

    # another run holds the slot; this one waits, says so once, and leaves on the cancel
    with compute_slot(), pytest.raises(Cancelled), compute_slot(check, lambda: said.append("waiting")):
        pytest.fail("the slot was taken twice")
    assert said == ["waiting"] and asked == 3 and not slot_busy()


def another_run_holds_the_slot(held: threading.Event, release: threading.Event) -> threading.Thread:
    """A thread that takes the compute slot, sets `held`, and keeps it until `release` (10 s at most)."""

    def other_run() -> None:
        with compute_slot():
            held.set()
            release.wait(10)

    other = threading.Thread(target=other_run)
    other.start()
    held.wait(5)
    return other


def test_a_comparison_waiting_for_the_slot_says_so_and_a_cancel_ends_it_without_running(settings, small_photo):
    registry = load_registry(settings)
    loader = Loader(settings, cache=EnhancerCache(512))
    request = CompareRequest.build(registry, ["lanczos-x2", "clahe"], metrics=[])
    stop, release, held = threading.Event(), threading.Event(), threading.Event()
    notes: list[str] = []
    steps = iterate(
        request, DecodedImage(rgb=small_photo), registry, loader, None, lambda _, note: notes.append(note), stop.is_set
    )
    next(steps)  # the prepared input: the slot was free for the memory check
    other = another_run_holds_the_slot(held, release)
    outcome: dict = {}
    waiting = threading.Thread(target=lambda: outcome.update(last=list(steps)[-1]))
    waiting.start()
    deadline = time.monotonic() + 5
    while f"lanczos-x2: {WAITING}" not in notes and time.monotonic() < deadline:
        time.sleep(0.02)
    stop.set()  # the Cancel button
    waiting.join(2)
    ended_while_held = not waiting.is_alive() and slot_busy()
    release.set()
    other.join()
    assert f"lanczos-x2: {WAITING}" in notes and ended_while_held
    assert outcome["last"].cancelled == "cancelled after 0 of 2 models" and not outcome["last"].rows
