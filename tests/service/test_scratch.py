"""The server's own temp folder (service/scratch.py): a killed server's folder goes at the next start, a live
server's never does, nothing outside the parent folder is touched, and dropped partial uploads are swept."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from studio.service.scratch import LOCK_NAME, STARTING_PREFIX, claim_scratch
from tests.paths import REPO_ROOT

HOLD = """
import sys, time
from pathlib import Path
from studio.service.scratch import claim_scratch
scratch = claim_scratch(Path(sys.argv[1]))
(scratch.gradio_dir / "tmpupload").write_bytes(b"half an upload")
print(scratch.folder, flush=True)
time.sleep(60)
"""


def server_like(base: Path) -> tuple[subprocess.Popen, Path]:
    """A process that claims a scratch folder under `base`, writes into it and stays alive."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(base)], cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True
    )
    return process, Path(process.stdout.readline().strip())


def test_a_killed_servers_folder_goes_at_the_next_start_and_a_live_ones_stays(tmp_path):
    outside = tmp_path / "someone-elses.txt"
    outside.write_text("not ours")
    killed, killed_folder = server_like(tmp_path)
    live, live_folder = server_like(tmp_path)
    try:
        killed.send_signal(signal.SIGKILL)
        killed.wait()
        parent = killed_folder.parent
        unlocked = parent / "server-1-nolock"  # no lock file: not known to be dead, left alone
        unlocked.mkdir()
        stale = parent / f"{STARTING_PREFIX}old"  # a server that died while starting, long ago
        stale.mkdir()
        os.utime(stale, (time.time() - 7200, time.time() - 7200))
        scratch = claim_scratch(tmp_path)
        try:
            assert scratch.removed == sorted([killed_folder, stale])
            assert not killed_folder.exists() and not stale.exists()
            assert (live_folder / "gradio" / "tmpupload").is_file() and unlocked.is_dir()
            assert outside.read_text() == "not ours"
            assert scratch.folder.parent == parent and scratch.folder.name.startswith(f"server-{os.getpid()}-")
            assert (scratch.folder / LOCK_NAME).is_file() and scratch.gradio_dir.is_dir()
            assert oct(parent.stat().st_mode & 0o777) == "0o700"
            again = claim_scratch(tmp_path)  # a second server: ours is alive, so it stays
            assert again.removed == [] and scratch.folder.is_dir()
            again.close()
        finally:
            scratch.close()
        assert not scratch.folder.exists()  # a clean exit removes its own folder
    finally:
        live.kill()
        live.wait()


def test_a_parent_folder_others_can_write_to_is_not_trusted(tmp_path):
    parent = tmp_path / f"enhance-studio-{os.getuid()}"
    parent.mkdir(mode=0o777)
    parent.chmod(0o777)
    planted = parent / "server-1-planted"
    planted.mkdir()
    scratch = claim_scratch(tmp_path)
    try:
        assert scratch.removed == [] and planted.is_dir()
        assert scratch.folder.parent == tmp_path and scratch.folder.name.startswith("enhance-studio-")
    finally:
        scratch.close()


@pytest.mark.parametrize("age_s", [0, 7200])
def test_dropped_partial_uploads_are_swept_after_an_hour(tmp_path, age_s):
    scratch = claim_scratch(tmp_path)
    try:
        gradio = scratch.gradio_dir
        partial, kept = gradio / "tmpa1b2c3", gradio / "notes.txt"
        finished = gradio / ("0" * 64) / "photo.png"  # a complete upload: Gradio's own to clean
        finished.parent.mkdir()
        for path in (partial, kept, finished):
            path.write_bytes(b"x")
            os.utime(path, (time.time() - age_s, time.time() - age_s))
        removed = scratch.sweep_partial_uploads()
        assert removed == ([partial] if age_s else [])
        assert partial.exists() == (not age_s) and kept.exists() and finished.exists()
    finally:
        scratch.close()
