"""A video run's progress: frames done, frames per second, time left (from the measured rate)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class VideoProgress:
    done: int
    expected: int  # an estimate: the header's claim bounded by the caps
    fps: float | None
    seconds_left: float | None
    note: str = ""  # the models running

    @property
    def fraction(self) -> float:
        return min(1.0, self.done / self.expected) if self.expected else 0.0

    def text(self) -> str:
        parts = [f"frame {self.done}/{max(self.done, self.expected)}"]
        if self.fps:
            parts.append(f"{self.fps:.1f} fps")
        if self.seconds_left is not None:
            parts.append(f"about {self.seconds_left:.0f} s left")
        if self.note:
            parts.append(self.note)
        return " · ".join(parts)


Progress = Callable[[VideoProgress], None]


class ProgressMeter:
    """Counts finished frames and reports them; the rate is measured from the first finished frame on."""

    def __init__(self, expected: int, report: Progress | None):
        self.expected, self.report = expected, report
        self.done = 0
        self._first: float | None = None

    def frame_done(self, note: str = "") -> VideoProgress:
        now = time.perf_counter()
        self.done += 1
        if self._first is None:
            self._first = now
        fps = (self.done - 1) / (now - self._first) if self.done > 1 and now > self._first else None
        left = max(0, self.expected - self.done)
        progress = VideoProgress(self.done, self.expected, fps, left / fps if fps else None, note)
        if self.report is not None:
            self.report(progress)
        return progress
