"""Peak resident memory added by a piece of work, and the memory still free (Linux /proc; getrusage elsewhere)."""

from __future__ import annotations

import resource
from pathlib import Path

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")
_MEMINFO = Path("/proc/meminfo")
_CGROUP = Path("/sys/fs/cgroup")
_CGROUP_FILES = (
    (_CGROUP / "memory.max", _CGROUP / "memory.current"),
    (_CGROUP / "memory" / "memory.limit_in_bytes", _CGROUP / "memory" / "memory.usage_in_bytes"),
)


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


def available_mb() -> float | None:
    """Memory new allocations can take now, in MB: MemAvailable from /proc/meminfo, or less when the process's
    cgroup (a container, a Space) caps it lower. None where neither can be read (not Linux)."""
    found = [mb for mb in (_meminfo_available_mb(), _cgroup_headroom_mb()) if mb is not None]
    return min(found) if found else None


def _meminfo_available_mb() -> float | None:
    try:
        for line in _MEMINFO.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _cgroup_headroom_mb() -> float | None:
    """The cgroup's limit less its usage (v2 memory.max / memory.current, else v1's pair); None: no limit."""
    for limit_file, usage_file in _CGROUP_FILES:
        try:
            limit, usage = limit_file.read_text().strip(), usage_file.read_text().strip()
        except OSError:
            continue
        if not limit.isdigit() or not usage.isdigit() or int(limit) >= 2**60:  # "max", or v1's "unlimited"
            return None
        return max(0, int(limit) - int(usage)) / 2**20
    return None
