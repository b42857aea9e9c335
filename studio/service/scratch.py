"""The server's own temporary folder, and the removal of those that killed servers left behind.

Gradio only deletes the files its own process made (it keeps their names in memory), so a server killed
with SIGKILL, or by the OOM killer, left its uploads, cached outputs and run folders in the shared temp
folder forever, and so did an upload dropped half-way (Gradio leaves its partial file in place). Each
server therefore keeps every temporary file in its own folder,

    $TMPDIR/enhance-studio-<uid>/server-<pid>-<random>/

(app.py points Python's tempfile, TMPDIR for child processes and GRADIO_TEMP_DIR there) and holds an
exclusive lock on `owner.lock` inside it for as long as it lives. The OS drops that lock however the
process ends, so at start a server removes each sibling folder whose lock it can take: a dead server's,
never a live one's, and nothing outside that parent folder. At a clean exit it removes its own.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import stat
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

FOLDER_PREFIX = "server-"  # a server's folder; while it is being set up it is named STARTING_PREFIX...
STARTING_PREFIX = ".starting-"  # ... and renamed once its lock is held, so no other server sees it unlocked
LOCK_NAME = "owner.lock"
GRADIO_FOLDER = "gradio"  # GRADIO_TEMP_DIR: uploads and Gradio's cache
PARTIAL_UPLOAD_KEEP_S = 3600.0  # a partial upload untouched this long was dropped by its client
STARTING_KEEP_S = 3600.0  # a folder still named .starting- after this long belongs to a server that died starting


def _lock(path: Path, create: bool) -> int | None:
    """An fd holding an exclusive lock on `path`, or None when another process holds it (or it is missing)."""
    import fcntl

    flags = os.O_RDWR | getattr(os, "O_NOFOLLOW", 0) | (os.O_CREAT if create else 0)
    try:
        fd = os.open(path, flags, 0o600)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def _private_parent(base: Path) -> Path | None:
    """base/enhance-studio-<uid>, a real folder of ours that no one else can write to, or None (then the
    server works in a fresh folder of its own and removes nothing)."""
    parent = base / f"enhance-studio-{os.getuid()}"
    try:
        parent.mkdir(mode=0o700, exist_ok=True)
        info = os.lstat(parent)
    except OSError:
        return None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o022:
        return None  # a link, someone else's folder or a writable one: its contents cannot be trusted
    return parent


def remove_dead_folders(parent: Path, now: float | None = None) -> list[Path]:
    """Remove the folders in `parent` of servers that are gone (their lock can be taken), and folders of
    servers that died while starting; returns what was removed."""
    now = time.time() if now is None else now
    removed = []
    for folder in sorted(parent.iterdir()):
        try:
            info = os.lstat(folder)
        except OSError:
            continue
        if not stat.S_ISDIR(info.st_mode):
            continue
        if folder.name.startswith(STARTING_PREFIX) and now - info.st_mtime > STARTING_KEEP_S:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
        elif folder.name.startswith(FOLDER_PREFIX):
            fd = _lock(folder / LOCK_NAME, create=False)
            if fd is None:
                continue  # its server is alive (or the lock file is gone: left alone)
            try:
                shutil.rmtree(folder, ignore_errors=True)
            finally:
                os.close(fd)
            removed.append(folder)
    return removed


@dataclass
class Scratch:
    """This server's temporary folder (locked while the process lives) and what was cleaned at start."""

    folder: Path
    removed: list[Path] = field(default_factory=list)  # dead servers' folders removed when this one started
    _fd: int | None = field(default=None, repr=False)

    @property
    def gradio_dir(self) -> Path:
        return self.folder / GRADIO_FOLDER

    def sweep_partial_uploads(self, now: float | None = None, keep_s: float = PARTIAL_UPLOAD_KEEP_S) -> list[Path]:
        """Remove uploads their clients dropped half-way: Gradio writes an upload to a `tmp*` file at the top of
        its folder and renames it into a subfolder when it is complete, but leaves it when the client goes away.
        One not written to for `keep_s` is removed (the server runs this every 30 minutes)."""
        now = time.time() if now is None else now
        removed = []
        try:
            entries = list(self.gradio_dir.iterdir())
        except OSError:
            return removed
        for path in entries:
            try:
                info = os.lstat(path)
            except OSError:
                continue
            if path.name.startswith("tmp") and stat.S_ISREG(info.st_mode) and now - info.st_mtime > keep_s:
                path.unlink(missing_ok=True)
                removed.append(path)
        return removed

    def close(self) -> None:
        """Remove the folder (a clean exit) and let the lock go."""
        shutil.rmtree(self.folder, ignore_errors=True)
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def claim_scratch(base: Path | None = None) -> Scratch:
    """A new, locked folder for this server under `base` (default: the system temp folder), after removing the
    folders of servers that are gone. Where locks are not available (no fcntl), a plain fresh folder."""
    base = Path(tempfile.gettempdir()) if base is None else base
    locks_work = hasattr(os, "getuid") and importlib.util.find_spec("fcntl") is not None
    parent = _private_parent(base) if locks_work else None
    if parent is None:
        return Scratch(Path(tempfile.mkdtemp(prefix="enhance-studio-", dir=base)))
    removed = remove_dead_folders(parent)
    starting = Path(tempfile.mkdtemp(prefix=STARTING_PREFIX, dir=parent))
    fd = _lock(starting / LOCK_NAME, create=True)
    if fd is None:  # cannot lock here: a fresh folder outside the parent, which no other server will consider
        shutil.rmtree(starting, ignore_errors=True)
        return Scratch(Path(tempfile.mkdtemp(prefix="enhance-studio-", dir=base)), removed)
    folder = parent / f"{FOLDER_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}"
    starting.rename(folder)  # the lock (on the open file) stays held: from now on others see a live server
    (folder / GRADIO_FOLDER).mkdir()
    return Scratch(folder, removed, fd)
