"""Flicker, metric means over frames and the keyframe picker, on arrays made here."""

from __future__ import annotations

import numpy as np

from studio.metrics import METRICS, MetricContext
from studio.video.quality import Flicker, KeyframePicker, MetricMeans, mean_abs_difference


def frames(count: int, noise: float = 0.0, seed: int = 0) -> list[np.ndarray]:
    """A slowly brightening gradient, with per-frame noise of `noise` levels when asked."""
    rng = np.random.default_rng(seed)
    base = np.tile(np.linspace(30, 200, 64, dtype=np.float32), (48, 1))[..., None].repeat(3, axis=2)
    return [
        np.clip(base + index * 2 + rng.normal(0, noise, base.shape), 0, 255).astype(np.uint8) for index in range(count)
    ]


def test_flicker_is_one_for_a_copy_and_above_one_when_a_model_adds_noise():
    clean, noisy = frames(10), frames(10, noise=6.0)
    copy, jitter = Flicker(), Flicker()
    for source, output in zip(clean, noisy, strict=True):
        copy.add(source, source)
        jitter.add(output, source)
    assert copy.score == 1.0
    assert jitter.score > 2.0


def test_flicker_has_no_score_for_a_still_input():
    still = Flicker()
    for _ in range(3):
        still.add(frames(1)[0], frames(1)[0])
    assert still.score is None


def test_mean_abs_difference_is_exact():
    a = np.zeros((2, 2, 3), np.uint8)
    b = np.full((2, 2, 3), 7, np.uint8)
    assert mean_abs_difference(a, b) == mean_abs_difference(b, a) == 7.0


def test_an_infinite_frame_score_is_left_out_of_the_mean_and_counted():
    means = MetricMeans([METRICS["psnr"]], MetricContext(scale=1))
    reference = frames(3)
    means.add(reference[0], reference[0])  # identical: infinite PSNR
    means.add(frames(3, noise=4.0)[1], reference[1])
    means.add(frames(3, noise=4.0, seed=1)[2], reference[2])
    assert means.non_finite == {"psnr": 1} and means.counts == {"psnr": 2}
    assert 30 < means.means()["psnr"] < 50


def test_keyframes_are_spread_whatever_the_clip_length():
    for length in (5, 37, 200):
        picker = KeyframePicker(6)
        for index in range(length):
            picker.offer(index, index / 25, frames(1)[0], score=float(index % 7))
        chosen = picker.keyframes()
        assert len(chosen) == min(6, length) and len(picker.buckets) <= 12
        indices = [k.index for k in chosen]
        assert indices == sorted(indices)
        if length >= 37:
            assert indices[0] < length / 3 and indices[-1] > 2 * length / 3
