"""The Video tab's event handlers: plain functions from values to values (wiring.py binds them).

`run` is a generator: the engine runs in a worker thread (runner.BackgroundRun) and the page's thread reports
its progress (frames done, fps, time left, or the wait for another run) until it ends, then yields the results.
Cancel sets the session's stop flag (compare/runs.py), which the engine polls before each frame, as it does the
page's presence and the server's time limit (run_guard.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd

from studio.core.errors import StudioError
from studio.engine.timelimit import VIDEO_ADVICE
from studio.services import Services
from studio.ui.compare.runs import StopFlags
from studio.ui.run_guard import RunGuard
from studio.ui.video import runner
from studio.video.io import VideoLimits, probe
from studio.video.progress import VideoProgress
from studio.video.results import VideoResults, summary_line, video_json, video_table

POLL_SECONDS = 0.25  # how often the page's thread looks at the run's progress
BAR_CELLS = 20
TABLE_HIDDEN = ("file",)  # the page offers the files as downloads instead of server paths
# the page's headers: Gradio wraps headers anywhere ("latency_ms_media/n"), so these wrap at spaces
TABLE_HEADERS = {"output_size": "output", "latency_ms_median": "median ms", "latency_ms_p95": "p95 ms"}
QUEUED = "Waiting for the models' worker (one run at a time, image or video)…"
STARTING = "Loading the models and reading the clip…"


def clip_info(services: Services, path: str | None) -> str:
    """What the uploaded clip's header says (size, rate, claimed length, audio), or why it cannot be read."""
    if not path:
        return ""
    try:
        info = probe(path, VideoLimits.from_settings(services.settings))
    except StudioError as exc:  # said where it stays (a toast fades): Run would be refused with the same words
        return f"⚠️ **{Path(path).name}** cannot be used: {exc}"
    parts = [f"**{Path(path).name}**", f"{info.width}x{info.height}", info.codec]
    if info.fps:
        parts.append(f"{info.fps:.3g} fps")
    if info.claimed_seconds:
        parts.append(f"about {info.claimed_seconds:.1f} s")
    parts.append(f"audio: {info.audio_codec}" if info.audio_codec else "no audio")
    return " · ".join(parts)


def start_run(flags: StopFlags, session: str | None) -> tuple[Any, Any, str]:
    """Run pressed: a fresh stop flag for the session; Run disabled and Cancel enabled until finish_run."""
    flags.arm(session or "")
    return gr.update(interactive=False), gr.update(value="Cancel", interactive=True), QUEUED


def cancel_run(flags: StopFlags, session: str | None) -> Any:
    stopping = flags.stop(session or "")
    return gr.update(value="Cancelling… (after this frame)" if stopping else "Cancel", interactive=False)


def finish_run(flags: StopFlags, session: str | None, failed: bool = False) -> tuple[Any, ...]:
    """The run ended: Run enabled again; when it was refused or failed, the progress box keeps why (a toast fades)."""
    flags.forget(session or "")
    buttons = (gr.update(interactive=True), gr.update(value="Cancel", interactive=False))
    if not failed:
        return buttons
    reason = flags.take_reason(session or "")
    return (*buttons, f"⚠️ Not run: {reason}" if reason else "⚠️ The run failed: see the message.")


def progress_text(progress: VideoProgress) -> str:
    """'`██████░░░░` 60 % · frame 18/30 · 85.0 fps · about 0 s left · models' for the progress box, or the
    engine's note alone before any frame (waiting for another run)."""
    if not progress.done and not progress.expected and progress.note:
        return progress.note[0].upper() + progress.note[1:]
    filled = round(progress.fraction * BAR_CELLS)
    return f"`{'█' * filled}{'░' * (BAR_CELLS - filled)}` {progress.fraction:.0%} · {progress.text()}"


def run(
    services: Services,
    flags: StopFlags,
    session: str | None,
    path: str | None,
    model_ids: list[str] | None,
    metric_ids: list[str] | None,
    recipe: str | None,
    preview: Any,
    max_frames: Any,
    layout: str | None,
    backend: str | None,
    precision: str | None,
    device: str | None = None,
) -> Iterator[str | list[Any]]:
    """Check the form and run the clip: yields the progress box's text while it runs, then results_view's list."""
    if not path:
        raise gr.Error("Upload a video first.")
    try:
        # none ticked: none, except in reference mode, which gets its defaults (PSNR, SSIM...) as the CLI does
        metrics = list(metric_ids) if metric_ids else (None if (recipe or "").strip() else [])
        request = runner.build_request(
            services, model_ids, metrics, recipe, preview, backend, precision, None, device=device
        )
        limits = runner.video_limits(services, max_frames)
        kind = runner.layout_choice(layout)
    except StudioError as exc:
        raise gr.Error(str(exc)) from None
    folder = runner.run_folder()
    guard = RunGuard.start(services, flags.flag(session or ""), VIDEO_ADVICE)
    job = runner.BackgroundRun(services, request, path, runner.output_path(folder, path, kind), limits, kind, guard)
    shown = STARTING
    yield STARTING
    try:
        while not job.wait(POLL_SECONDS):
            text = progress_text(job.latest) if job.latest is not None else shown
            if text != shown:  # a new frame, or a new estimate of the wait for another run
                shown = text
                yield text
    finally:
        if job.results is None and job.error is None:  # the page closed the generator mid-run
            job.cancel_and_wait()
    if isinstance(job.error, StudioError):
        raise gr.Error(str(job.error)) from None
    if job.error is not None:
        raise job.error
    assert job.results is not None
    guard.log_end("video_run", job.results.cancelled)
    yield results_view(job.results, folder)


def ended_text(results: VideoResults) -> str:
    if results.cancelled:
        return f"**{results.cancelled[0].upper()}{results.cancelled[1:]}.**"
    done = sum(row.ok for row in results.rows)
    failed = len(results.rows) - done
    speed = f" ({results.wall_fps:.1f} fps overall)" if results.wall_fps else ""
    failures = f"; {failed} failed (see the table)" if failed else ""
    ran = f"{done} of {len(results.rows)} model(s) over {results.frames} frames"
    return f"Done: {ran} in {results.wall_s:.1f} s{speed}{failures}."


def page_table(results: VideoResults) -> pd.DataFrame:
    records = [
        {TABLE_HEADERS.get(k, k): v for k, v in record.items() if k not in TABLE_HIDDEN}
        for record in video_table(results)
    ]
    return pd.DataFrame(records)


def summary_text(results: VideoResults) -> str:
    # a cancelled run wrote nothing: its frame count and duration would describe files that are gone
    lines = ["; ".join(results.notes)] if results.cancelled else [summary_line(results)]
    lines += [f"⚠️ **{row.name or row.model_id}**: {row.error}" for row in results.rows if row.error]
    return "  \n".join(lines)


def results_view(results: VideoResults, folder: Path) -> list[Any]:
    """Values for VideoArea.run_outputs() once the run has ended (done or cancelled)."""
    clips = {row.model_id: str(row.path) for row in results.rows if row.path}
    names = [(row.name or row.model_id, row.model_id) for row in results.rows if row.path]
    first = names[0][1] if names else None
    main = str(results.comparison_path) if results.comparison_path else (clips[first] if first else None)
    keyframes = runner.keyframe_files(results, folder)
    report = folder / "results.json"
    report.write_text(video_json(results), encoding="utf-8")
    downloads = ([str(results.comparison_path)] if results.comparison_path else []) + list(clips.values())
    return [
        ended_text(results),
        main,
        gr.update(choices=names, value=first),
        clips.get(first) if first else None,
        page_table(results),
        summary_text(results),
        keyframes,
        [*downloads, str(report)],
        clips,
        keyframes,
        None,
        "",
    ]


def show_clip(clips: dict[str, str], model_id: str | None) -> str | None:
    return clips.get(model_id) if model_id else None


def select_keyframe(frames: list[tuple[str, str]], event: gr.SelectData) -> tuple[int | None, str]:
    """A keyframe clicked: remember which, and say so in full (the thumbnail's caption is cut short)."""
    index = int(event.index)
    if not 0 <= index < len(frames):
        return None, ""
    return index, f"Selected: **{frames[index][1]}**"


def open_in_compare(frames: list[tuple[str, str]], selected: int | None) -> tuple[str, Any]:
    """The clicked keyframe (a lossless PNG) becomes the Compare tab's upload, and the page switches there."""
    if not frames:
        raise gr.Error("Run a video first: its keyframes appear here.")
    if selected is None or not 0 <= selected < len(frames):
        raise gr.Error("Click a keyframe first, then Open in Compare.")
    return frames[selected][0], gr.Tabs(selected="compare")


def details(results: VideoResults) -> dict[str, Any]:
    """The run as `studio video --json` has it (rows name their file under "file", never "path": gradio_client
    takes any object with a "path" string for a file and fetches it, which the server refuses)."""
    return json.loads(video_json(results))
