"""A frame on its way to the models: the image compare's preview and reference-mode rules (inputs.prepare),
and how many frames a run should expect when the header's claims cannot be trusted."""

from __future__ import annotations

import numpy as np

from studio.core.degrade import crop_to_multiple, degrade
from studio.core.resize import limit_long_side
from studio.engine.request import CompareRequest
from studio.video.io import ClipInfo, VideoLimits


def prepare_frame(rgb: np.ndarray, request: CompareRequest) -> tuple[np.ndarray, np.ndarray | None]:
    """The models' input for this frame and its reference (reference mode), by the image compare's rules."""
    limited = limit_long_side(rgb, request.preview)
    if request.recipe is None:
        return limited, None
    sharp = crop_to_multiple(limited, request.recipe.scale)
    return degrade(sharp, request.recipe), sharp


def expected_frames(info: ClipInfo, limits: VideoLimits) -> int:
    """How many frames the run will probably see: the header's claim, bounded by the caps (never trusted alone)."""
    cap = min(limits.max_frames, max(1, round(limits.max_seconds * (info.fps or 25.0))))
    claim = info.claimed_frames or (round(info.claimed_seconds * info.fps) if info.claimed_seconds and info.fps else 0)
    return min(cap, claim) if claim > 0 else cap
