"""Per-clip quality: flicker (temporal consistency), image metrics on spread-out frames, and keyframes.

Flicker = mean absolute difference between consecutive output frames divided by the same for the
input upscaled (bicubic) to the output's size: 1 means the model changes from frame to frame exactly
as much as the input does, above 1 it adds flicker, below 1 it steadies the picture. The input is
compared at the output's size, as the image table's "Δ vs input" columns compare it.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from studio.core.errors import StudioError
from studio.core.resize import resize_to
from studio.metrics import FULL_REFERENCE, MetricContext, MetricSpec
from studio.video.results import Keyframe

SCORED_FRAMES = 8  # image metrics run on this many frames spread over the clip (BRISQUE is not free)


@dataclass
class Flicker:
    """Running sums of consecutive-frame change for one model's output and for the input at that size."""

    output_sum: float = 0.0
    input_sum: float = 0.0
    pairs: int = 0
    _last_output: np.ndarray | None = None
    _last_input: np.ndarray | None = None

    def add(self, output: np.ndarray, model_input: np.ndarray) -> None:
        height, width = output.shape[:2]
        baseline = resize_to(model_input, width, height)
        if self._last_output is not None and self._last_input is not None:
            self.output_sum += mean_abs_difference(output, self._last_output)
            self.input_sum += mean_abs_difference(baseline, self._last_input)
            self.pairs += 1
        self._last_output, self._last_input = output, baseline

    @property
    def score(self) -> float | None:
        """None for a single frame or a still input (nothing to compare against)."""
        if self.pairs == 0 or self.input_sum <= 1e-9:
            return None
        return self.output_sum / self.input_sum


def mean_abs_difference(first: np.ndarray, second: np.ndarray) -> float:
    """Mean |first - second| over every pixel and channel (OpenCV's saturating absdiff is exact for uint8)."""
    channels = cv2.mean(cv2.absdiff(first, second))[: first.shape[2] if first.ndim == 3 else 1]
    return float(sum(channels) / len(channels))


def scored_stride(expected_frames: int) -> int:
    """Score every n-th frame so about SCORED_FRAMES frames are scored over the expected length."""
    return max(1, expected_frames // SCORED_FRAMES)


@dataclass
class MetricMeans:
    """Image metrics averaged over the scored frames; a metric that fails is dropped with its reason."""

    specs: list[MetricSpec]
    context: MetricContext
    sums: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)
    non_finite: dict[str, int] = field(default_factory=dict)  # frames left out of a mean: inf or NaN there

    def add(self, output: np.ndarray, reference: np.ndarray | None) -> None:
        height, width = output.shape[:2]
        if reference is not None and reference.shape[:2] != (height, width):
            reference = resize_to(reference, width, height)
        for spec in self.specs:
            if spec.id in self.unavailable or (spec.kind == FULL_REFERENCE and reference is None):
                continue
            try:
                value = float(spec(output, reference, self.context))
            except StudioError as exc:
                self.unavailable[spec.id] = str(exc)
                continue
            if not math.isfinite(value):  # a black frame's infinite PSNR must not blank the whole clip's mean
                self.non_finite[spec.id] = self.non_finite.get(spec.id, 0) + 1
                continue
            self.sums[spec.id] = self.sums.get(spec.id, 0.0) + value
            self.counts[spec.id] = self.counts.get(spec.id, 0) + 1

    def means(self) -> dict[str, float | None]:
        return {
            spec.id: self.sums[spec.id] / self.counts[spec.id] if self.counts.get(spec.id) else None
            for spec in self.specs
        }


def sharpness(rgb: np.ndarray) -> float:
    """Variance of the Laplacian of the grey frame: how much fine detail (and how little motion blur) it has."""
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


@dataclass
class KeyframePicker:
    """The sharpest frame in each of `count` equal parts of the clip, without knowing its length in advance.

    Headers lie about length, so the picker keeps the best frame of each bucket of `bucket` frames and,
    when there are more than twice `count` buckets, merges neighbours and doubles the bucket: at most
    2 x count frames are held at any time, spread over the whole clip whatever its length.
    """

    count: int
    bucket: int = 1
    buckets: list[Keyframe] = field(default_factory=list)

    def offer(self, index: int, time: float, rgb: np.ndarray, score: float | None = None) -> None:
        candidate = Keyframe(index=index, time=time, sharpness=sharpness(rgb) if score is None else score, rgb=rgb)
        slot = index // self.bucket
        if slot < len(self.buckets):
            if candidate.sharpness > self.buckets[slot].sharpness:
                self.buckets[slot] = candidate
            return
        self.buckets.append(candidate)
        if len(self.buckets) > 2 * self.count:
            self.buckets = _sharpest_of_groups(self.buckets, 2)
            self.bucket *= 2

    def keyframes(self) -> list[Keyframe]:
        """At most `count` frames, one per equal part of what was seen, in clip order."""
        if len(self.buckets) <= self.count:
            return list(self.buckets)
        bounds = [round(i * len(self.buckets) / self.count) for i in range(self.count + 1)]
        return [max(self.buckets[a:b], key=lambda k: k.sharpness) for a, b in itertools.pairwise(bounds)]


def _sharpest_of_groups(frames: list[Keyframe], size: int) -> list[Keyframe]:
    return [max(frames[i : i + size], key=lambda k: k.sharpness) for i in range(0, len(frames), size)]
