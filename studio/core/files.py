"""Folders the program writes into: checked (and created) before any work, with one-line errors."""

from __future__ import annotations

import os
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
