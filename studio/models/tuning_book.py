"""The tuning book: auto-tuning decisions per machine fingerprint and model, kept in the data directory.

One JSON file (tuning.json) shared by every process on the machine: written under a file lock and
atomically, read fresh on each lookup that misses the in-memory copy. A decision is reused only for the
same fingerprint (CPU, flags, class, threads, library versions) and the same registry entry (its hash),
so a new CPU, a library upgrade or an edited entry is tuned again instead of trusting stale timings. A
missing or unreadable file is an empty book: it is a cache of measurements.
"""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path
from typing import Any

from studio.core.files import VersionedJson

VERSION = 1
FILE_NAME = "tuning.json"


def entry_hash(entry: dict[str, Any]) -> str:
    """A registry entry's identity for the book: any change to it (weights, options) means tuning again."""
    return hashlib.sha256(json.dumps(entry, sort_keys=True, default=str).encode()).hexdigest()[:16]


class TuningBook:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._file = VersionedJson(self.path, VERSION)

    def read(self) -> dict[str, Any]:
        """The whole book as on disk now ({"version", "machines": {fingerprint id: {...}}})."""
        return self._file.read()

    def record(self, machine_id: str, model_id: str, spec_hash: str) -> dict[str, Any] | None:
        """The model's tuning on this machine, or None (never tuned, or tuned for another entry)."""
        found = self.read()["machines"].get(machine_id, {}).get("models", {}).get(model_id)
        return found if isinstance(found, dict) and found.get("entry") == spec_hash else None

    def store(
        self,
        machine_id: str,
        fingerprint: dict[str, Any],
        model_id: str,
        record: dict[str, Any],
        section: str = "models",
    ) -> None:
        """Add or replace one model's record in `section` (models: tuning; realtime: live frame rates); other
        processes' records are kept (read, change, write, under a file lock).

        A read-only data directory loses the record, not the run: the next process tunes again.
        """

        def change(book: dict[str, Any]) -> None:
            machine = book["machines"].setdefault(machine_id, {"fingerprint": fingerprint})
            machine.setdefault(section, {})[model_id] = record

        with self._lock:
            self._file.update(change)

    def machine(self, machine_id: str) -> dict[str, Any]:
        """Everything known about one machine ({"fingerprint", "models"}), empty when never tuned."""
        return self.read()["machines"].get(machine_id, {})
