"""Peak resident memory added by a piece of work (Linux /proc; resource.getrusage elsewhere)."""

from __future__ import annotations

import resource
from pathlib import Path

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def _status_kb(field: str) -> int | None:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


class PeakMemory:
    """`with PeakMemory() as probe: ...` then `probe.added_mb`.

    On Linux the high-water mark is reset first (writing 5 to clear_refs), so the
    peak is this block's, not the process's lifetime peak. Elsewhere it is a
    lower bound from getrusage.
    """

    def __enter__(self) -> PeakMemory:
        self._reset = False
        try:
            _CLEAR_REFS.write_text("5")
            self._reset = True
        except OSError:
            pass
        self._before_kb = _status_kb("VmRSS") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        self._maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return self

    def __exit__(self, *exc) -> None:
        peak = _status_kb("VmHWM") if self._reset else None
        if peak is None:
            peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, self._maxrss_before)
        self.added_mb = max(0.0, (peak - self._before_kb) / 1024)
