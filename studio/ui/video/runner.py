"""One video run for the page and the API: its checked request and caps, a fresh output folder, the engine.

Shared by the Video tab (handlers.py) and the /video endpoint (api.py) so both refuse the same inputs with the
same words and write the same files. Outputs go to a per-run folder under the system temp dir (never the
repository): Gradio serves files from there, and folders older than KEEP_SECONDS are removed on the next run.
"""

from __future__ import annotations

import math
import re
import tempfile
import threading
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

from PIL import Image

from studio.core.errors import UsageError
from studio.engine.request import MAX_MODELS, CompareRequest
from studio.services import Services
from studio.ui.downloads import remove_old_folders
from studio.ui.run_guard import RunGuard
from studio.video.io import VideoLimits
from studio.video.layout import LAYOUTS
from studio.video.pipeline import run_video
from studio.video.progress import VideoProgress
from studio.video.results import VideoResults

RUNS_DIR = Path(tempfile.gettempdir()) / "enhance-studio-videos"
KEEP_SECONDS = 2 * 3600
NO_LAYOUT = "none"  # the page's word for "no comparison video" (the API takes "")
PNG_LEVEL = 1  # keyframes are full-size frames: lossless at any level, level 1 is the fast one


def build_request(
    services: Services,
    model_ids: list[str] | None,
    metric_ids: list[str] | None,
    recipe: str | None,
    preview: Any,
    backend: str | None,
    precision: str | None,
    params: Any,
    device: str | None = None,
) -> CompareRequest:
    """The request an image comparison would build from the same values (StudioError with the one-line reason)."""
    return CompareRequest.build(  # refuses an empty model list itself ("pick at least one model")
        services.registry,
        list(model_ids),
        metrics=metric_ids,
        degrade=(recipe or "").strip() or None,
        preview=preview,
        backend=backend,
        precision=precision,
        device=device,
        params=params,
        max_models=MAX_MODELS,
    )


def video_limits(services: Services, max_frames: Any) -> VideoLimits:
    """The server's caps, with the frame cap lowered to `max_frames` (never raised past STUDIO_MAX_FRAMES)."""
    limits = VideoLimits.from_settings(services.settings)
    if max_frames is None or (isinstance(max_frames, str) and not max_frames.strip()):
        return limits
    try:
        frames = float(max_frames)
    except (TypeError, ValueError):
        raise UsageError(f"max frames must be a whole number, got {max_frames!r}") from None
    if not math.isfinite(frames) or frames != int(frames):
        raise UsageError(f"max frames must be a whole number, got {frames:g}")
    if not 1 <= frames <= limits.max_frames:
        raise UsageError(f"max frames must be between 1 and {limits.max_frames} (STUDIO_MAX_FRAMES), got {frames:g}")
    return replace(limits, max_frames=int(frames), frames_from="Max frames")


def layout_choice(value: str | None) -> str | None:
    """'side-by-side' / 'split', or None for no comparison video ('', None or the page's 'none')."""
    if value in (None, "", NO_LAYOUT):
        return None
    if value not in LAYOUTS:
        raise UsageError(f"unknown comparison layout '{value}' (use {', '.join(LAYOUTS)}, or none)")
    return value


def clip_stem(source: str | Path) -> str:
    """The upload's name, safe as a file name, for the outputs (a download keeps telling which clip it was)."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(source).stem).strip("._-")
    return stem[:60] or "clip"


def clean_old_runs(now: float) -> None:
    """Remove run folders older than KEEP_SECONDS (on each new run, and every 30 minutes from the server)."""
    remove_old_folders(RUNS_DIR, KEEP_SECONDS, now)


def run_folder() -> Path:
    """A fresh folder for one run's files; folders of runs older than KEEP_SECONDS are removed first."""
    clean_old_runs(time.time())
    folder = RUNS_DIR / f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}"
    folder.mkdir(parents=True)
    return folder


def output_path(folder: Path, source: str | Path, layout: str | None) -> Path:
    """OUT.mp4 for run_video: `<clip>-comparison.mp4` with a layout (models: `<clip>-comparison-<id>.mp4`),
    else `<clip>-enhanced.mp4` (one model) or `<clip>-enhanced-<id>.mp4` per model."""
    return folder / f"{clip_stem(source)}-{'comparison' if layout else 'enhanced'}.mp4"


def keyframe_files(results: VideoResults, folder: Path) -> list[tuple[str, str]]:
    """Each keyframe as a lossless PNG in the run's folder, with its caption: (path, 'frame N · t s · sharpness S')."""
    stem = clip_stem(results.source)
    files = []
    for keyframe in results.keyframes:
        path = folder / f"{stem}-frame-{keyframe.index:05d}.png"
        Image.fromarray(keyframe.rgb, "RGB").save(path, format="PNG", compress_level=PNG_LEVEL)
        caption = f"frame {keyframe.index} · {keyframe.time:.2f} s · sharpness {keyframe.sharpness:.0f}"
        files.append((str(path), caption))
    return files


class BackgroundRun:
    """run_video in a worker thread, so the page's generator can report progress (and notice a closed page).

    `latest` is the newest VideoProgress; `results` or `error` is set when the thread ends. The run stops early
    as `guard` says (the session's Cancel, the page gone, the server's time limit).
    """

    def __init__(
        self,
        services: Services,
        request: CompareRequest,
        source: str,
        output: Path,
        limits: VideoLimits,
        layout: str | None,
        guard: RunGuard,
    ):
        self.latest: VideoProgress | None = None
        self.results: VideoResults | None = None
        self.error: BaseException | None = None
        self.guard = guard
        args = (request, source, output, services.registry, services.loader, limits)
        self._thread = threading.Thread(target=self._work, args=(args, layout), name="video-run", daemon=True)
        self._thread.start()

    def _work(self, args: tuple, layout: str | None) -> None:
        guard = self.guard
        try:
            self.results = run_video(
                *args, layout=layout, on_progress=self._report, should_stop=guard.should_stop, time_limit=guard.limit
            )
        except BaseException as exc:  # handed to the page's thread, which raises it there
            self.error = exc

    def _report(self, progress: VideoProgress) -> None:
        self.latest = progress

    def wait(self, seconds: float) -> bool:
        """Wait up to `seconds`; True once the run has ended."""
        self._thread.join(seconds)
        return not self._thread.is_alive()

    def cancel_and_wait(self) -> None:
        """The page went away mid-run: stop after the current frame (the engine removes the partial files)."""
        self.guard.cancel.set()
        self._thread.join()
