"""The server's time limit on one web run (STUDIO_RUN_TIMEOUT_S), and the models it cannot stop part-way.

The limit counts compute time: only while the run holds the compute slot (slot.py). Waiting behind another
run costs no one anything, and a weights download has its own limits (STUDIO_FETCH_TIMEOUT_S, _MAX_S); what a
public server must bound is how long one run keeps every other user waiting. The engine asks `exceeded` at its
stop points (before each model, after each tile, before each video frame), so a run ends within one tile of its
limit, keeping the models that finished.

A model that runs in one piece (classical filters, untiled networks such as Real-CUGAN, or an input no larger
than one tile) has no stop point inside: Python cannot interrupt it in its thread. `check_stoppable` refuses such
a model before the run when the speed book predicts that it alone would take longer than the limit.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

from studio.core.config import Settings
from studio.core.errors import TimeLimitError
from studio.engine.footprint import tile_side
from studio.engine.request import CompareRequest
from studio.engine.speed import preview_that_fits
from studio.models.registry import Registry

IMAGE_ADVICE = "try a smaller preview or fewer models"
VIDEO_ADVICE = "try a smaller preview, fewer frames or fewer models"


class TimeLimit:
    """The compute time one run may use; `counting` blocks add to it (the engine wraps each hold of the slot)."""

    def __init__(
        self, limit_s: float | None, advice: str = IMAGE_ADVICE, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit_s = limit_s
        self.advice = advice
        self.clock = clock
        self._used = 0.0
        self._since: float | None = None

    @contextmanager
    def counting(self) -> Iterator[None]:
        """Count the block's time against the limit."""
        self._since = self.clock()
        try:
            yield
        finally:
            self._used += self.clock() - self._since
            self._since = None

    @property
    def used_s(self) -> float:
        since = self._since
        return self._used + (self.clock() - since if since is not None else 0.0)

    def exceeded(self) -> str | None:
        """The one-line reason to stop once the run has used its time, else None."""
        if self.limit_s is None or self.used_s < self.limit_s:
            return None
        limit = f"{self.limit_s:g}"
        return f"stopped after {limit} s: this server allows {limit} s per run (STUDIO_RUN_TIMEOUT_S); {self.advice}"


def runs_in_one_piece(spec_tile: int | None, width: int, height: int) -> bool:
    """Whether a model with this tile side (None: never tiled) runs on a width x height input in one call."""
    return spec_tile is None or (width <= spec_tile and height <= spec_tile)


def check_stoppable(
    request: CompareRequest,
    registry: Registry,
    settings: Settings,
    seconds: Mapping[str, float],
    size: tuple[int, int],
    long_side: int,
) -> None:
    """Refuse (TimeLimitError, one line) a run with a model that runs in one piece on its `size` input (the size
    the models see) and is predicted, by `seconds` (the speed book's, per model id), to take longer than
    STUDIO_RUN_TIMEOUT_S: the limit could only stop the run after it. `long_side`: the image's long side after
    the preview limit, which the offered preview scales."""
    limit = settings.run_timeout_s
    if limit is None:
        return
    width, height = size
    for model_id in dict.fromkeys(request.model_ids):
        predicted = seconds.get(model_id)
        if predicted is None or predicted <= limit:
            continue
        if not runs_in_one_piece(tile_side(registry.get(model_id), settings, request.tile), width, height):
            continue
        side = preview_that_fits(long_side, predicted, limit)
        offer = f"set the preview long side to {side} px or less" if side else "pick a faster model"
        raise TimeLimitError(
            f"{model_id} is predicted to take {predicted:.0f} s on a {width}x{height} input here and cannot stop "
            f"part-way (it runs in one piece), over the {limit:g} s this server allows per run "
            f"(STUDIO_RUN_TIMEOUT_S): {offer}"
        )
