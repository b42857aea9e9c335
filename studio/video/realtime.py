"""The real-time tier: which models keep up with a webcam on this machine, measured on the live path itself.

`studio tune` feeds camera-sized frames (640x480) through a LiveSession, exactly as the Webcam tab does
(networks at their live working size, filters at full frame), and records the frames per second in the
tuning book. A model at REALTIME_FPS or more is "real-time on this machine": the Models tab says so and
the Webcam tab starts on the fastest such network (else on the default filter).
"""

from __future__ import annotations

import time

import cv2
import numpy as np

from studio.models.loader import Loader
from studio.models.registry import Registry
from studio.models.schema import ModelSpec
from studio.video.live import DEFAULT_MODEL, LiveSession, live_models

REALTIME_FPS = 25.0  # PAL video's frame rate: below it a live stream visibly stutters
CAMERA_FRAME = (640, 480)  # what the Webcam tab asks the browser for
MEASURE_S = 2.0  # frames are timed for this long (after one warm-up frame), at most MAX_FRAMES
MAX_FRAMES = 60


def camera_frame() -> np.ndarray:
    """A 640x480 photo (scikit-image's astronaut, cropped to 4:3): a stand-in for a camera frame."""
    from skimage import data

    photo = data.astronaut()
    height = photo.shape[1] * CAMERA_FRAME[1] // CAMERA_FRAME[0]
    return cv2.resize(photo[:height], CAMERA_FRAME, interpolation=cv2.INTER_AREA)


def measure_fps(spec: ModelSpec, registry: Registry, loader: Loader) -> tuple[float, tuple[int, int]]:
    """Frames per second of `spec` on the live path (1000 / the median frame's ms, so one stalled frame on a
    busy machine does not decide it), and the size it ran at."""
    session = LiveSession(registry, loader)
    frame = camera_frame()
    result = session.offer(frame, spec.id)  # loads the model, warms it up
    frames, started = 0, time.perf_counter()
    while frames < MAX_FRAMES and time.perf_counter() - started < MEASURE_S:
        result = session.offer(frame, spec.id) or result
        frames += 1
    return 1000.0 / max(result.median_ms, 1e-3), result.size


def measure_realtime(
    registry: Registry, loader: Loader, model_ids: list[str] | None = None, force: bool = False
) -> dict[str, tuple[float, bool]]:
    """Measure and record the live frame rate of each model the Webcam tab offers (or of `model_ids`):
    {id: (fps, measured now)}. A model measured before on this machine keeps its figure unless `force`."""
    measured = {}
    for spec in live_models(registry, loader):
        if model_ids is not None and spec.id not in model_ids:
            continue
        known = loader.tuner.realtime_fps(spec)
        if known is not None and not force:
            measured[spec.id] = (known, False)
            continue
        fps, size = measure_fps(spec, registry, loader)
        loader.tuner.store_realtime(spec, fps, size)
        measured[spec.id] = (fps, True)
    return measured


def is_realtime(spec: ModelSpec, loader: Loader) -> bool:
    fps = loader.tuner.realtime_fps(spec)
    return fps is not None and fps >= REALTIME_FPS


def default_live_model(registry: Registry, loader: Loader) -> str:
    """The Webcam tab's first choice: the fastest network measured real-time here, else the default filter."""
    networks = [s for s in live_models(registry, loader) if s.backend != "classical" and is_realtime(s, loader)]
    if not networks:
        return DEFAULT_MODEL
    return max(networks, key=lambda s: loader.tuner.realtime_fps(s) or 0.0).id
