"""The Video tab: layout.py (components), runner.py (request, caps, output folder, the engine in a thread),
handlers.py (plain functions), wiring.py (events), api.py (the /video endpoint)."""

from studio.ui.video.wiring import build_video_tab

__all__ = ["build_video_tab"]
