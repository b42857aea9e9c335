"""A batch's progress: cells done of all, the rate (cells/s) and the time left at that rate."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from studio.batch.plan import Cell


@dataclass(frozen=True)
class BatchProgress:
    done: int  # cells finished by this process
    total: int  # cells this process set out to run
    before: int  # cells an earlier, resumed run had finished
    rate: float | None  # cells per second, measured since this process started running cells
    seconds_left: float | None
    cell: Cell | None = None  # the cell just finished

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0

    def text(self) -> str:
        parts = [f"cells {self.before + self.done}/{self.before + self.total}"]
        if self.before:
            parts[0] += f" ({self.before} from before)"
        if self.rate:
            parts.append(f"{self.rate:.1f} cells/s")
        if self.seconds_left is not None:
            parts.append(f"about {self.seconds_left:.0f} s left")
        if self.cell is not None:
            parts.append(f"{self.cell.image} × {self.cell.model}")
        return " · ".join(parts)


Progress = Callable[[BatchProgress], None]


class ProgressMeter:
    """Counts finished cells and reports each; the rate includes model loading, so early ETAs run long."""

    def __init__(self, total: int, before: int, report: Progress | None, clock: Callable[[], float] = time.monotonic):
        self.total, self.before, self.report, self.clock = total, before, report, clock
        self.done = 0
        self._start = clock()

    def cell_done(self, cell: Cell) -> BatchProgress:
        self.done += 1
        elapsed = self.clock() - self._start
        rate = self.done / elapsed if elapsed > 0 else None
        left = max(0, self.total - self.done)
        progress = BatchProgress(self.done, self.total, self.before, rate, left / rate if rate else None, cell)
        if self.report is not None:
            self.report(progress)
        return progress
