"""The time limit on one run (engine/timelimit.py, STUDIO_RUN_TIMEOUT_S): counted while the run holds the compute
slot, checked at the engine's stop points (the run keeps what finished), and refused up front for a model that
cannot stop part-way; a run waiting for the slot is told how long the run in it expects to take."""

from __future__ import annotations

import dataclasses
import re
import threading
import time
from pathlib import Path

import pytest

from studio.core.errors import TimeLimitError
from studio.core.media import DecodedImage
from studio.engine.compare import WAITING, iterate, run
from studio.engine.request import CompareRequest
from studio.engine.slot import compute_slot, slot_busy, time_until_free
from studio.engine.timelimit import VIDEO_ADVICE, TimeLimit, check_stoppable
from studio.models.cache import EnhancerCache
from studio.models.loader import Loader
from studio.models.registry import load_registry
from studio.video.io import VideoLimits
from studio.video.pipeline import run_video
from tests.engine.test_slot import another_run_holds_the_slot
from tests.video.clips import make_clip

MESSAGE = (
    "stopped after 60 s: this server allows 60 s per run (STUDIO_RUN_TIMEOUT_S); try a smaller preview or fewer models"
)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def engine(settings):
    return load_registry(settings), Loader(settings, cache=EnhancerCache(512))


def test_only_time_in_the_counted_blocks_is_used_and_the_reason_names_the_limit():
    clock = Clock()
    limit = TimeLimit(60, clock=clock)
    clock.now = 500  # waiting (for the slot, a download): not counted
    with limit.counting():
        clock.now += 40
        assert limit.used_s == 40 and limit.exceeded() is None
    clock.now += 1000
    with limit.counting():
        clock.now += 20
    assert limit.used_s == 60 and limit.exceeded() == MESSAGE
    video = TimeLimit(7.5, VIDEO_ADVICE, clock=clock)
    with video.counting():
        clock.now += 8
    assert video.exceeded() == (
        "stopped after 7.5 s: this server allows 7.5 s per run (STUDIO_RUN_TIMEOUT_S); "
        "try a smaller preview, fewer frames or fewer models"
    )
    unlimited = TimeLimit(None, clock=clock)
    with unlimited.counting():
        clock.now += 10**6
    assert unlimited.exceeded() is None


def test_a_run_out_of_time_stops_at_the_next_stop_point_keeping_the_models_that_finished(engine, small_photo):
    registry, loader = engine
    request = CompareRequest.build(registry, ["lanczos-x2", "bicubic-x2", "clahe"], metrics=[])
    clock = Clock()
    limit = TimeLimit(60, clock=clock)

    def progress(_fraction: float, note: str) -> None:
        if note.startswith("bicubic-x2: tile"):  # bicubic-x2 is slow: its time runs out before its stop point
            clock.now += 100

    results = run(request, DecodedImage(rgb=small_photo), registry, loader, on_progress=progress, time_limit=limit)
    assert [row.model_id for row in results.rows] == ["lanczos-x2"] and results.rows[0].ok
    assert results.cancelled == MESSAGE and not slot_busy()


def test_time_spent_waiting_for_the_slot_does_not_count(engine, small_photo):
    registry, loader = engine
    request = CompareRequest.build(registry, ["lanczos-x2"], metrics=[])
    held, release = threading.Event(), threading.Event()
    other = another_run_holds_the_slot(held, release)
    threading.Timer(0.6, release.set).start()
    limit = TimeLimit(0.5)  # less than the wait; far more than lanczos on 128x128 takes
    results = run(request, DecodedImage(rgb=small_photo), registry, loader, time_limit=limit)
    other.join()
    assert results.cancelled is None and results.rows[0].ok and limit.used_s < 0.5


def test_a_waiting_run_is_told_how_long_the_run_in_the_slot_expects_to_take(engine, small_photo):
    registry, loader = engine
    request = CompareRequest.build(registry, ["lanczos-x2"], metrics=[])
    held, release = threading.Event(), threading.Event()
    assert time_until_free() is None  # a free slot

    def other_run() -> None:
        with compute_slot() as hold:
            hold.expect(42)  # what the speed book predicts for its model
            held.set()
            release.wait(10)

    other = threading.Thread(target=other_run)
    other.start()
    held.wait(5)
    assert 41 <= time_until_free() <= 42
    notes: list[str] = []
    steps = iterate(request, DecodedImage(rgb=small_photo), registry, loader, None, lambda _, note: notes.append(note))
    waiting = threading.Thread(target=lambda: list(steps))
    waiting.start()
    deadline = time.monotonic() + 5
    while not any(WAITING in note for note in notes) and time.monotonic() < deadline:
        time.sleep(0.02)
    release.set()
    other.join()
    waiting.join(10)
    said = [note for note in notes if WAITING in note]
    assert said and re.fullmatch(rf"(lanczos-x2: )?{WAITING} \(about 4[12] s\)", said[0]), said


def test_the_slot_holders_estimate_follows_its_tiles_and_is_dropped_once_overrun():
    with compute_slot() as hold:
        hold.expect(None)
        assert time_until_free() is None  # the holder cannot tell
        hold.expect(0.05)
        time.sleep(0.1)
        assert time_until_free() is None  # overrun: no figure rather than "0 s" for ever
    assert time_until_free() is None


def test_a_model_that_cannot_stop_part_way_is_refused_when_it_alone_would_pass_the_limit(settings):
    registry = load_registry(settings)
    limited = dataclasses.replace(settings, run_timeout_s=300.0)
    request = CompareRequest.build(registry, ["clahe", "realesr-animevideov3-x4"], metrics=[])
    with pytest.raises(TimeLimitError) as refused:  # a classical filter runs in one call
        check_stoppable(request, registry, limited, {"clahe": 1200.0}, (4000, 3000), 4000)
    assert str(refused.value) == (
        "clahe is predicted to take 1200 s on a 4000x3000 input here and cannot stop part-way (it runs in one "
        "piece), over the 300 s this server allows per run (STUDIO_RUN_TIMEOUT_S): set the preview long side to "
        "1984 px or less"
    )
    # a tiled network stops between its tiles: the limit ends it in time, nothing to refuse
    check_stoppable(request, registry, limited, {"realesr-animevideov3-x4": 1200.0}, (4000, 3000), 4000)
    # ...unless the input is one tile: then it is one call too
    with pytest.raises(TimeLimitError, match="realesr-animevideov3-x4 is predicted to take 900 s"):
        check_stoppable(request, registry, limited, {"realesr-animevideov3-x4": 900.0}, (200, 200), 200)
    check_stoppable(request, registry, limited, {"clahe": 299.0}, (4000, 3000), 4000)  # within the limit
    check_stoppable(request, registry, limited, {}, (4000, 3000), 4000)  # never measured: nothing known
    unlimited = dataclasses.replace(settings, run_timeout_s=None)
    check_stoppable(request, registry, unlimited, {"clahe": 10**6}, (4000, 3000), 4000)


def test_a_video_out_of_time_stops_before_the_next_frame_and_removes_its_files(settings, tmp_path):
    registry, loader = load_registry(settings), Loader(settings, cache=EnhancerCache(512))
    clip = make_clip(tmp_path / "clip.mp4", frames=24)
    out = tmp_path / "out"
    clock = Clock()
    limit = TimeLimit(60, VIDEO_ADVICE, clock=clock)

    def progress(update) -> None:
        if update.done == 3:
            clock.now += 100

    request = CompareRequest.build(registry, ["lanczos-x2"], preview=None)
    results = run_video(
        request, clip, out / "run.mp4", registry, loader, VideoLimits(), on_progress=progress, time_limit=limit
    )
    assert results.cancelled == (
        "stopped after 60 s: this server allows 60 s per run (STUDIO_RUN_TIMEOUT_S); "
        "try a smaller preview, fewer frames or fewer models; partial files removed"
    )
    assert results.frames <= 3 + 4 and list(Path(out).iterdir()) == [] and not slot_busy()
