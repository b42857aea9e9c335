"""`studio bench --video`: the video path against the same model run on the same frames as single images.

The target (issue #12): the pipeline's wall time per frame within 10% of the model's own inference time
per frame, because decoding and encoding overlap with inference. Both are measured in one run on the
same clip: a pan over a real photo (scikit-image's astronaut, public domain) at 854x480, made here.
The webcam path is measured by feeding frames at a camera's rate into the live session (live.py).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from studio.core.markdown import markdown_table
from studio.core.media import DecodedImage
from studio.engine.enhance import choose_tile, run_enhancer
from studio.engine.request import CompareRequest
from studio.models.loader import Loader
from studio.models.registry import Registry
from studio.video.io import ClipWriter, VideoLimits
from studio.video.pipeline import run_video

CLIP_SIZE = (854, 480)
NETWORK_FRAMES = 20


def pan_frames(count: int, size: tuple[int, int] = CLIP_SIZE) -> list[np.ndarray]:
    """`count` frames of a slow pan over the astronaut photo, enlarged so the window has room to move."""
    from skimage import data

    width, height = size
    photo = cv2.resize(data.astronaut(), (width + 2 * count, width + 2 * count), interpolation=cv2.INTER_CUBIC)
    return [np.ascontiguousarray(photo[i : i + height, 2 * i : 2 * i + width]) for i in range(count)]


def write_clip(path: Path, frames: list[np.ndarray], fps: float = 30.0) -> Path:
    writer = ClipWriter(path, frames[0].shape[1], frames[0].shape[0], fps)
    for index, frame in enumerate(frames):
        writer.write(frame, index / fps)
    writer.close()
    return path


def single_image_ms(model_id: str, frames: list[np.ndarray], registry: Registry, loader: Loader) -> tuple[float, str]:
    """Median inference time per frame when each frame is enhanced as a single image (no decode, no encode)."""
    spec = registry.get(model_id)
    enhancer = loader.load(spec, spec.resolve_params())
    tile = choose_tile(enhancer, loader.settings)
    run_enhancer(enhancer, DecodedImage(rgb=frames[0]), tile, spec.tile_overlap)  # warm-up
    for _ in range(1 if spec.backend != "classical" else 2):  # a fast filter gets a whole warm pass first
        timings = []
        for frame in frames:
            started = time.perf_counter()
            run_enhancer(enhancer, DecodedImage(rgb=frame), tile, spec.tile_overlap)
            timings.append((time.perf_counter() - started) * 1000)
    info = enhancer.info
    return statistics.median(timings), f"{info.backend} {info.precision}"


def video_row(
    model_id: str, clip: Path, frames: list[np.ndarray], workdir: Path, registry: Registry, loader: Loader
) -> dict[str, Any]:
    """One model: the pipeline's wall ms per frame (after a warm-up load) vs the single-image ms per frame.

    A network takes seconds per 480p frame on two cores, so it runs on the clip's first NETWORK_FRAMES frames.
    """
    if registry.get(model_id).backend != "classical":
        frames = frames[:NETWORK_FRAMES]
    single, form = single_image_ms(model_id, frames, registry, loader)
    request = CompareRequest.build(registry, [model_id], metrics=[], preview=None)
    results = run_video(
        request, clip, workdir / f"{model_id}.mp4", registry, loader, VideoLimits(len(frames), 4096, 3600)
    )
    load_ms = 0.0  # the model is already in the cache from the single-image pass
    per_frame = (results.wall_s * 1000 - load_ms) / results.frames
    row = results.rows[0]
    return {
        "model": model_id,
        "form": form,
        "frames": results.frames,
        "single-image ms/frame": round(single, 1),
        "video inference ms/frame": round(row.latency_ms_median or 0, 1),
        "video wall ms/frame": round(per_frame, 1),
        "video fps": round(results.frames / results.wall_s, 2),
        "overhead": f"{(per_frame / single - 1) * 100:+.1f}%",
        "target (≤ +10%)": "met" if per_frame <= 1.1 * single else "missed",
    }


def measure_webcam(
    registry: Registry, loader: Loader, model_id: str, size: tuple[int, int], camera_fps: float = 30.0
) -> dict[str, Any]:
    """A 30 fps camera of `size` for 3 s into a live session (live.simulate_camera): what a viewer gets."""
    from studio.video.live import LiveSession, simulate_camera

    frames = pan_frames(30, size)
    stats = simulate_camera(LiveSession(registry, loader), frames, model_id, camera_fps, seconds=3.0)
    return {
        "camera fps": camera_fps,
        "achieved fps": round(stats["achieved_fps"], 1),
        "latency ms (median)": round(stats["median_ms"], 1),
        "latency ms (p95)": round(stats["p95_ms"], 1),
        "dropped": f"{stats['dropped']} of {stats['offered']}",
        "behind (frames, max)": stats["max_behind"],
        "target (≤ 1 behind)": "met" if stats["max_behind"] <= 1 else "missed",
    }


def webcam_rows(
    measure: Callable[[str, tuple[int, int]], dict[str, Any]], models: list[str], sizes: list[tuple[int, int]]
) -> list[dict[str, Any]]:
    rows = []
    for model_id in models:
        for size in sizes:
            rows.append({"model": model_id, "camera": f"{size[0]}x{size[1]}", **measure(model_id, size)})
    return rows


VIDEO_MODELS = ("unsharp-mask", "realesr-animevideov3-x2")  # a classical filter and a compact network
WEBCAM_MODELS = ("unsharp-mask", "clahe")
WEBCAM_SIZES = ((320, 240), (640, 480))


def markdown(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "(nothing measured)\n"
    headers = list(rows[0])
    return markdown_table(headers, [[row.get(h, "") for h in headers] for row in rows]) + "\n"


def run_video_benchmark(
    registry: Registry,
    loader: Loader,
    machine: dict[str, Any],
    out_dir: Path,
    frames: int = 120,
    models: tuple[str, ...] = VIDEO_MODELS,
    size: tuple[int, int] = CLIP_SIZE,
    webcam: Callable[[str, tuple[int, int]], dict[str, Any]] | None = None,
) -> str:
    """Measure the video path and the webcam path; write out_dir/video-cpu.md; return its text."""
    import tempfile

    clip_frames = pan_frames(frames, size)
    with tempfile.TemporaryDirectory(prefix="studio-video-bench-") as work:
        workdir = Path(work)
        clip = write_clip(workdir / "pan.mp4", clip_frames)
        video = [video_row(model_id, clip, clip_frames, workdir, registry, loader) for model_id in models]
    live = webcam_rows(webcam, list(WEBCAM_MODELS), list(WEBCAM_SIZES)) if webcam else []
    text = "\n".join(
        [
            "# Video and webcam on the CPU",
            "",
            f"Machine class **{machine['class']}** ({machine['class_from']}); {machine['cpu']}; "
            f"{machine['threads']} threads of {machine['cpu_count']} CPUs; Python {machine['python']}.",
            "Written by `studio bench --video`. Every number below comes from this one run.",
            "",
            f"## Video path vs single images ({size[0]}x{size[1]}, {frames} frames, full size)",
            "",
            "single-image ms/frame: the model on each frame as a single image (no decode, no encode), median. "
            "video wall ms/frame: `run_video` from the file to the encoded H.264 MP4 (reader and writer threads, "
            "flicker and keyframes included), wall time / frames. video inference ms/frame: the time inside the "
            "model during that run (it grows when decoding and encoding share the two cores).",
            "",
            markdown(video),
            "## Webcam path (live.py: frames offered at the camera's rate, stale frames dropped)",
            "",
            "behind: the most frames by which the shown output trailed the newest camera frame.",
            "",
            markdown(live),
        ]
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "video-cpu.md").write_text(text, encoding="utf-8")
    return text
