"""Live webcam frames through one fast enhancer, latest-wins: the picture shown stays within a frame of the camera.

A frame that arrives while this viewer's previous frame is still being enhanced is dropped at once and
counted, never queued: a queue in front of a model slower than the camera only grows, and every frame in
it is older than the one behind it. So the newest frame always goes next, and the shown output is behind
the camera by no more than the frames that arrive during one enhancement (at most one while the model is
faster than two frame intervals). A frame known to be older than one frame interval on arrival is dropped
too: a newer one is already on its way. (Gradio's stream is latest-wins on its own: it keeps only each
viewer's newest frame, see studio/ui/webcam_tab.py; `sent_every` counts the frames it replaced.)

Frames are HxWx3 uint8 RGB. Classical filters run at the frame's own size (an upscaler at 1/scale of it,
so its output is the frame's size); networks run on the frame scaled to NETWORK_SIDE px on its long side.
`simulate_camera` is the benchmark's camera: it feeds frames at a fixed rate the way Gradio's stream hands
them to a handler and reports how far behind the shown output fell.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from studio.core.errors import EnhanceError, StudioError, UsageError, described
from studio.core.media import DecodedImage
from studio.core.resize import limit_long_side
from studio.engine.enhance import run_enhancer
from studio.models.backends.base import Enhancer
from studio.models.loader import Loader, run_state
from studio.models.registry import Registry
from studio.models.schema import ModelSpec
from studio.models.weights.store import CACHED, READY

DEFAULT_MODEL = "unsharp-mask"  # classical: runs with no weights at all
NETWORK_SIDE = 320  # long side a network runs at, live
# Small networks fast enough for live frames at NETWORK_SIDE on a CPU (offered when their weights are here).
SMALL_NETWORKS = ("realesr-animevideov3-x2", "espcn-x2", "fsrcnn-small-x2", "fsrcnn-x2")
FPS_WINDOW_S = 2.0  # achieved fps: frames finished over the last two seconds
LATENCY_WINDOW = 30  # median latency over the last 30 frames
RESTART_GAP_S = 5.0  # a longer pause between frames is a stopped and restarted camera, not dropped frames
DROP_REASONS = ("busy", "late", "replaced")


def is_live_model(spec: ModelSpec, loader: Loader) -> bool:
    """Classical filters, and the small networks whose weights are on this machine (no download mid-stream)."""
    if spec.backend == "classical":
        return True
    return spec.id in SMALL_NETWORKS and run_state(spec, loader.store).label in (READY, CACHED)


def live_models(registry: Registry, loader: Loader) -> list[ModelSpec]:
    """What the Webcam tab offers: the default filter first, then the other filters, then the small networks."""
    specs = [spec for spec in registry if is_live_model(spec, loader)]
    return sorted(specs, key=lambda s: (s.id != DEFAULT_MODEL, s.backend != "classical"))


def working_size(spec: ModelSpec, frame_shape: tuple[int, ...]) -> int:
    """The long side `spec` runs at on a frame of this shape (see the module docstring for why)."""
    long_side = max(frame_shape[:2])
    if spec.backend != "classical":
        return min(NETWORK_SIDE, long_side)
    return max(1, long_side // spec.scale)


@dataclass(frozen=True)
class LiveResult:
    """One enhanced frame and where the session stands."""

    output: np.ndarray
    model_id: str
    size: tuple[int, int]  # (width, height) the model ran at
    latency_ms: float  # this frame: scaling and enhancing
    median_ms: float  # over the last LATENCY_WINDOW frames
    fps: float  # frames finished per second over the last FPS_WINDOW_S (0 until two have finished)
    processed: int
    dropped: dict[str, int]  # reason -> count: busy, late, replaced (by the transport, estimated)

    @property
    def status(self) -> str:
        """One line: '12.4 fps · 38 ms per frame · 320x240 · 3 dropped (busy 3)'."""
        fps = f"{self.fps:.1f} fps" if self.fps > 0 else "measuring fps"
        total = sum(self.dropped.values())
        reasons = ", ".join(f"{reason} {count}" for reason, count in self.dropped.items() if count)
        dropped = f"{total} dropped ({reasons})" if total else "0 dropped"
        width, height = self.size
        return (
            f"{fps} · {self.latency_ms:.0f} ms per frame (median {self.median_ms:.0f}) · "
            f"{self.model_id} at {width}x{height} · {self.processed} processed · {dropped}"
        )


class LiveSession:
    """One viewer's live stream: the enhancer chosen, the busy flag, and the counters the status shows."""

    def __init__(self, registry: Registry, loader: Loader, clock: Callable[[], float] = time.perf_counter):
        self.registry, self.loader, self.clock = registry, loader, clock
        self._busy = threading.Lock()  # held while a frame is enhanced; a frame that cannot take it is dropped
        self._counts = threading.Lock()  # guards the counters (a dropping thread and the working one both count)
        self._model: tuple[ModelSpec, Enhancer] | None = None
        self._last_arrival: float | None = None
        self.reset()

    def reset(self, received: int = 0) -> None:
        """Start the figures afresh (a new model: its speed is not the last one's); `received` frames are in."""
        with self._counts:
            self.received, self.processed = received, 0
            self.dropped = dict.fromkeys(DROP_REASONS, 0)
            self._finished: deque[float] = deque()
            self._latencies: deque[float] = deque(maxlen=LATENCY_WINDOW)

    def offer(
        self,
        frame: np.ndarray,
        model_id: str,
        *,
        captured_at: float | None = None,
        interval: float | None = None,
        sent_every: float | None = None,
    ) -> LiveResult | None:
        """Enhance `frame` now, or drop it (None) when this session is busy or the frame is already stale.

        `captured_at` (on `clock`) and `interval` (seconds between camera frames), when known, drop a frame
        older than one interval on arrival. `sent_every`: the transport sends a frame that often and keeps
        only the newest (Gradio's stream): frames missing between two arrivals are counted as 'replaced'.
        """
        now = self.clock()
        with self._counts:
            self.received += 1
            if sent_every and self._last_arrival is not None and now - self._last_arrival < RESTART_GAP_S:
                self.dropped["replaced"] += max(0, round((now - self._last_arrival) / sent_every) - 1)
            self._last_arrival = now
        if captured_at is not None and interval is not None and now - captured_at > interval:
            return self._drop("late")
        if not self._busy.acquire(blocking=False):
            return self._drop("busy")
        try:
            spec, enhancer = self._enhancer(model_id)
            started = self.clock()
            small = limit_long_side(frame, working_size(spec, frame.shape))
            output = _enhance(enhancer, small)
            latency_ms = (self.clock() - started) * 1000
            return self._finish(spec.id, output, (small.shape[1], small.shape[0]), latency_ms)
        finally:
            self._busy.release()

    def _drop(self, reason: str) -> None:
        with self._counts:
            self.dropped[reason] += 1
        return None

    def _enhancer(self, model_id: str) -> tuple[ModelSpec, Enhancer]:
        """The loaded enhancer for `model_id`, through the process's shared loader (held while it stays chosen)."""
        if self._model is not None and self._model[0].id == model_id:
            return self._model
        spec = self.registry.get(model_id)
        if not is_live_model(spec, self.loader):
            raise UsageError(f"'{model_id}' is not offered live: pick a classical filter or a small network")
        if self._model is not None:  # another model: its figures start afresh, from this frame
            self.reset(received=1)
        try:
            enhancer = self.loader.load(spec, spec.resolve_params(), tune=False)  # no tuning mid-stream
        except StudioError:
            raise
        except Exception as exc:  # a backend's own failure: one line for the status, never a traceback
            raise EnhanceError(f"'{model_id}' failed to load: {described(exc)}") from None
        self._model = (spec, enhancer)
        return self._model

    def _finish(self, model_id: str, output: np.ndarray, size: tuple[int, int], latency_ms: float) -> LiveResult:
        with self._counts:
            now = self.clock()
            self.processed += 1
            self._latencies.append(latency_ms)
            self._finished.append(now)
            while now - self._finished[0] > FPS_WINDOW_S:
                self._finished.popleft()
            span = self._finished[-1] - self._finished[0]
            fps = (len(self._finished) - 1) / span if span > 0 else 0.0
            return LiveResult(
                output=output,
                model_id=model_id,
                size=size,
                latency_ms=latency_ms,
                median_ms=statistics.median(self._latencies),
                fps=fps,
                processed=self.processed,
                dropped=dict(self.dropped),
            )


def _enhance(enhancer: Enhancer, image: np.ndarray) -> np.ndarray:
    """The enhancer's output through the engine's own step (its output checks); one line on failure."""
    try:
        return run_enhancer(enhancer, DecodedImage(rgb=np.ascontiguousarray(image))).rgb
    except StudioError:
        raise
    except Exception as exc:
        raise EnhanceError(f"'{enhancer.info.model_id}' failed on a live frame: {described(exc)}") from None


def simulate_camera(
    session: LiveSession,
    frames: Sequence[np.ndarray],
    model_id: str = DEFAULT_MODEL,
    camera_fps: float = 30.0,
    seconds: float = 3.0,
) -> dict[str, float | int]:
    """Feed `frames` (cycled) into `session` at `camera_fps` for `seconds`, each frame in its own worker thread
    as it arrives (so a busy session drops it), and report what a viewer would have seen.

    `max_behind`: the most camera frames that had arrived after the frame being shown, at the moment it was
    shown (0: the newest). It is the frames that arrive during one enhancement, floor(latency / interval):
    at most 1 while the model is faster than two camera intervals, and for a slower one still bounded, never
    growing as a queue would. The model is loaded and run once before the camera starts, so the figures are
    the steady state. Bounded: at most 60 s of camera, and workers still running 10 s after the camera stops
    are left behind (counted in `unfinished`).
    """
    if not frames or camera_fps <= 0 or not 0 < seconds <= 60:
        raise UsageError("simulate_camera needs frames, a positive camera_fps and 0 < seconds <= 60")
    session.offer(frames[0], model_id)  # warm-up: load the model (errors surface here, as they are)
    session.reset()
    interval, count = 1.0 / camera_fps, max(1, round(seconds * camera_fps))
    shown: list[tuple[float, int, float]] = []  # (shown at, frame index, latency ms)
    errors: list[str] = []
    record = threading.Lock()
    clock = session.clock

    def handle(index: int, captured_at: float) -> None:
        try:
            result = session.offer(frames[index % len(frames)], model_id, captured_at=captured_at, interval=interval)
        except StudioError as exc:
            with record:
                errors.append(str(exc))
            return
        if result is not None:
            with record:
                shown.append((clock(), index, result.latency_ms))

    workers = []
    start = clock()
    for index in range(count):
        due = start + index * interval
        time.sleep(max(0.0, due - clock()))
        worker = threading.Thread(target=handle, args=(index, due), daemon=True)
        worker.start()
        workers.append(worker)
    deadline = start + count * interval + 10.0
    for worker in workers:
        worker.join(max(0.0, deadline - clock()))
    if errors:
        raise EnhanceError(errors[0])
    with record:
        done = list(shown)
    latencies = sorted(ms for _, _, ms in done)
    newest = [min(count - 1, int((at - start) / interval)) for at, _, _ in done]
    return {
        "camera_fps": camera_fps,
        "offered": count,
        "processed": len(done),
        "dropped": count - len(done),
        "dropped_busy": session.dropped["busy"],
        "dropped_late": session.dropped["late"],
        "achieved_fps": len(done) / (count * interval),
        "median_ms": statistics.median(latencies) if latencies else 0.0,
        "p95_ms": latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))] if latencies else 0.0,
        "max_behind": max((ahead - index for ahead, (_, index, _) in zip(newest, done, strict=True)), default=0),
        "unfinished": sum(worker.is_alive() for worker in workers),
    }
