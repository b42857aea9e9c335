"""A run's progress line: the engine's messages with display names, and the time left from the speed book."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from studio.core.errors import StudioError
from studio.engine.compare import WAITING
from studio.engine.request import CompareRequest
from studio.engine.speed import model_input_size
from studio.models.registry import Registry
from studio.services import Services


class Eta:
    """'about 12 s left', from the speed book's prediction per model (measured on this machine).

    The model running now counts with what is left of its prediction (by its tiles, or by the time it has
    already taken); when a model still to run was never measured here, the time left is said to be unknown
    rather than extrapolated (a run's models differ too much in speed for the time so far to tell).
    """

    def __init__(self, predicted: list[float | None] | None = None):
        self.predicted = list(predicted or [])  # seconds per model in run order; None: never measured here
        self._index = -1
        self._model_started = time.monotonic()

    def text(self, fraction: float) -> str:
        total = len(self.predicted)
        if fraction >= 1 or not total:
            return ""
        index = min(int(fraction * total), total - 1)
        if index != self._index:
            self._index, self._model_started = index, time.monotonic()
        ahead = self.predicted[index:]
        if any(seconds is None for seconds in ahead):
            return " · time left unknown (a model not measured here yet)"
        within = fraction * total - index
        current = ahead[0] * (1 - within) if within > 0 else ahead[0] - (time.monotonic() - self._model_started)
        left = max(0.0, current) + sum(ahead[1:])
        return f" · about {left:.0f} s left" if left >= 1 else " · under 1 s left"


def named_progress(
    registry: Registry, model_ids: list[str], progress: Callable[..., Any], eta: Eta
) -> Callable[[float, str], None]:
    """The engine's progress messages ('running realesrgan-x4plus (2/3)') with display names and an ETA (while
    waiting for another run, the message carries that run's time instead: this run's own would mislead)."""
    names = sorted(((model_id, registry.get(model_id).name) for model_id in set(model_ids)), key=lambda n: -len(n[0]))

    def report(fraction: float, message: str) -> None:
        for model_id, name in names:
            if model_id in message:
                message = message.replace(model_id, name, 1)
                break
        progress(fraction, desc=message if WAITING in message else message + eta.text(fraction))

    return report


def predicted_seconds(services: Services, request: CompareRequest, width: int, height: int) -> list[float | None]:
    """Each model's predicted time from the speed book, in run order (None: never measured here)."""
    degrade_scale = request.recipe.scale if request.recipe else 1  # the models run on the degraded copy
    width, height = model_input_size(width, height, request.preview, degrade_scale)
    try:
        prediction = services.speed.predict_run(
            request.model_ids, width, height, request.backend, request.precision, request.device
        )
    except StudioError:
        return [None] * len(request.model_ids)
    return [prediction.seconds.get(model_id) for model_id in request.model_ids]
