"""Folders the program writes into: checked (and created) before any work, with one-line errors."""

from __future__ import annotations

import os
import tempfile
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
