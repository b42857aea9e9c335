"""The Video tab's progress box: the wait for another run (with its time, when known), then the frames."""

from __future__ import annotations

from studio.engine.compare import WAITING
from studio.ui.video.handlers import progress_text
from studio.video.progress import VideoProgress


def test_the_progress_box_says_the_wait_for_another_run_then_counts_the_frames():
    waiting = VideoProgress(0, 0, None, None, f"{WAITING} (about 12 s)")
    assert progress_text(waiting) == "Waiting for another run to finish (about 12 s)"  # no empty bar, no "frame 0/0"
    running = VideoProgress(18, 30, 85.0, 0.1, "lanczos-x2")
    assert progress_text(running) == (
        "`████████████░░░░░░░░` 60% · frame 18/30 · 85.0 fps · about 0 s left · lanczos-x2"
    )
