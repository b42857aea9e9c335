"""Folders the program writes into: checked (and created) before any work, with one-line errors."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from studio.core.errors import UsageError


def writable_folder(path: Path) -> Path:
    """`path` as a folder we can write into (created if needed), checked before any model runs."""
    if path.exists() and not path.is_dir():
        raise UsageError(f"output folder {path} is a file, not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create output folder {path}: {exc.strerror or exc}") from None
    if not os.access(path, os.W_OK):
        raise UsageError(f"cannot write into output folder {path}")
    return path


def write_text_atomically(path: Path, text: str) -> None:
    """Write `text` to a temporary file beside `path` and rename it over `path`: readers (another process
    included) see the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(partial, path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise


class VersionedJson:
    """A shared JSON file {"version": N, "machines": {...}} (the speed book, the tuning book): re-read only
    when its modification time changes (another process may have written it), and empty when it is missing,
    unreadable or of another version (both are caches of measurements: rebuilt by the next ones)."""

    def __init__(self, path: Path, version: int) -> None:
        self.path, self.version = Path(path), version
        self._cached: tuple[int, dict] | None = None

    def empty(self) -> dict:
        return {"version": self.version, "machines": {}}

    def read(self) -> dict:
        """The file's content (the cached object itself: copy it before changing it)."""
        try:
            stamp = self.path.stat().st_mtime_ns
            if self._cached is not None and self._cached[0] == stamp:
                return self._cached[1]
            book = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return self.empty()
        if (
            not isinstance(book, dict)
            or book.get("version") != self.version
            or not isinstance(book.get("machines"), dict)
        ):
            return self.empty()
        self._cached = (stamp, book)
        return book

    def update(self, change: Callable[[dict], None]) -> None:
        """Read, `change` in place, write: under a file lock beside the file, so processes sharing the data
        directory (replicas, a CLI beside the app) keep each other's records. A read-only data directory or a
        lock held too long loses the change, never the caller's work: both files are caches of measurements."""
        from filelock import FileLock, Timeout  # light, but only writers need it

        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with FileLock(str(self.path) + ".lock", timeout=30):
                book = json.loads(json.dumps(self.read()))  # a copy: the cached object stays as read
                change(book)
                write_text_atomically(self.path, json.dumps(book, indent=1, sort_keys=True))
        except (OSError, Timeout):
            pass
