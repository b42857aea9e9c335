"""Live webcam frames (studio/video/live.py): latest-wins dropping, the figures shown, the simulated camera."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from studio.core.errors import EnhanceError, StudioError, UnknownModelError, UsageError
from studio.services import Services
from studio.video.live import DEFAULT_MODEL, LiveSession, live_models, simulate_camera


@pytest.fixture
def services(settings) -> Services:
    return Services(settings)


@pytest.fixture(scope="module")
def frame() -> np.ndarray:
    """A 320x240 camera frame with some detail for a filter to work on."""
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)


class Gate:
    """An enhancer that waits inside `enhance` until released: a frame 'still being processed', no sleeps."""

    def __init__(self, inner):
        self.inner, self.info, self.memory_mb = inner, inner.info, inner.memory_mb
        self.entered, self.release = threading.Event(), threading.Event()

    def enhance(self, image: np.ndarray) -> np.ndarray:
        self.entered.set()
        assert self.release.wait(30), "the test never released the gate"
        return self.inner.enhance(image)


def test_a_classical_filter_returns_a_frame_of_the_same_size_and_the_figures(services, frame):
    session = LiveSession(services.registry, services.loader)
    results = [session.offer(frame, DEFAULT_MODEL) for _ in range(3)]
    last = results[-1]
    assert all(r is not None and r.output.shape == frame.shape and r.output.dtype == np.uint8 for r in results)
    assert not np.array_equal(last.output, frame)  # it was sharpened, not passed through
    assert last.processed == 3 and last.size == (320, 240) and sum(last.dropped.values()) == 0
    assert last.fps > 0 and last.latency_ms > 0 and last.median_ms > 0
    assert results[0].fps == 0 and "measuring fps" in results[0].status  # one frame is no rate yet
    assert " fps · " in last.status and "ms per frame" in last.status and "unsharp-mask at 320x240" in last.status
    assert "0 dropped" in last.status and "\n" not in last.status
    switched = session.offer(frame, "bilateral")  # another model: its own figures, from this frame
    assert switched.processed == 1 and session.received == 1 and "bilateral at 320x240" in switched.status


def test_a_frame_arriving_while_one_is_processed_is_dropped_not_queued(services, frame, monkeypatch):
    real_load = services.loader.load
    gates: list[Gate] = []

    def gated_load(*args, **kwargs):
        gates.append(Gate(real_load(*args, **kwargs)))
        return gates[-1]

    monkeypatch.setattr(services.loader, "load", gated_load)
    session = LiveSession(services.registry, services.loader)
    first: list = []
    worker = threading.Thread(target=lambda: first.append(session.offer(frame, DEFAULT_MODEL)))
    worker.start()
    try:
        assert _entered(gates), "the first frame never reached the enhancer"
        assert session.offer(frame, DEFAULT_MODEL) is None  # busy: dropped at once, not waiting
        assert session.offer(frame, DEFAULT_MODEL) is None
        assert session.dropped["busy"] == 2
    finally:
        for gate in gates:
            gate.release.set()
        worker.join(30)
    (result,) = first
    assert result is not None and result.processed == 1 and result.dropped["busy"] == 2
    assert "2 dropped (busy 2)" in result.status
    assert session.received == 3
    assert session.offer(frame, DEFAULT_MODEL) is not None  # free again: the next frame runs


def _entered(gates: list[Gate], timeout: float = 30) -> bool:
    """Wait until the worker has loaded its (gated) enhancer and is inside `enhance`."""
    ready = threading.Event()
    for _ in range(int(timeout / 0.05)):
        if gates and gates[0].entered.is_set():
            return True
        ready.wait(0.05)
    return False


def test_a_stale_frame_is_dropped_as_late(services, frame):
    session = LiveSession(services.registry, services.loader)
    stale = session.clock() - 1.0
    assert session.offer(frame, DEFAULT_MODEL, captured_at=stale, interval=1 / 30) is None
    assert session.dropped["late"] == 1
    result = session.offer(frame, DEFAULT_MODEL, captured_at=session.clock(), interval=10.0)
    assert result is not None and "1 dropped (late 1)" in result.status


def test_frames_the_transport_replaced_are_counted_from_the_gaps(services, frame):
    now = [0.0]
    session = LiveSession(services.registry, services.loader, clock=lambda: now[0])
    for now[0] in (0.0, 0.1, 0.4, 20.0):  # on time, two frames replaced, a restarted camera (not drops)
        session.offer(frame, DEFAULT_MODEL, sent_every=0.1)
    assert session.dropped == {"busy": 0, "late": 0, "replaced": 2}


def test_simulated_camera_keeps_the_output_within_one_frame(services, frame):
    report = simulate_camera(LiveSession(services.registry, services.loader), [frame], DEFAULT_MODEL, 15, 1.0)
    assert report["offered"] == 15 and report["unfinished"] == 0
    assert report["processed"] >= 1 and report["processed"] + report["dropped"] == 15
    assert report["dropped"] == report["dropped_busy"] + report["dropped_late"]
    assert report["max_behind"] <= 1
    assert report["achieved_fps"] > 0 and 0 < report["median_ms"] <= report["p95_ms"]


def test_offered_models_and_one_line_errors(services, frame, monkeypatch):
    offered = [spec.id for spec in live_models(services.registry, services.loader)]
    assert offered[0] == DEFAULT_MODEL and "bilateral" in offered
    assert "realesrgan-x4plus" not in offered  # a large network, and no weights here
    session = LiveSession(services.registry, services.loader)
    with pytest.raises(UnknownModelError) as unknown:
        session.offer(frame, "unsharp-mas")
    assert "unknown model 'unsharp-mas'" in str(unknown.value) and "\n" not in str(unknown.value)
    with pytest.raises(UsageError, match="not offered live"):
        session.offer(frame, "realesrgan-x4plus")

    def broken_load(*args, **kwargs):
        raise RuntimeError("backend exploded\n  File 'x.py', line 1")

    monkeypatch.setattr(services.loader, "load", broken_load)
    with pytest.raises(EnhanceError) as failed:
        session.offer(frame, "bilateral")
    assert isinstance(failed.value, StudioError)
    assert str(failed.value) == "'bilateral' failed to load: RuntimeError: backend exploded"


@pytest.mark.parametrize("model_id", ["espcn-x2", "realesr-animevideov3-x2"])
def test_a_small_network_runs_at_320_px_once_its_weights_are_here(model_settings, model_id):
    services = Services(model_settings)
    spec = services.registry.get(model_id)
    try:
        services.loader.store.resolve(spec)  # from the test mirror: a live frame never waits for a download
    except StudioError as exc:
        pytest.skip(f"no weights for {model_id} here: {exc}")
    assert model_id in [s.id for s in live_models(services.registry, services.loader)]
    camera = np.random.default_rng(1).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    result = LiveSession(services.registry, services.loader).offer(camera, model_id)
    assert result.size == (320, 240) and result.output.shape == (480, 640, 3)  # x2 of the 320 px frame
    assert f"{model_id} at 320x240" in result.status
