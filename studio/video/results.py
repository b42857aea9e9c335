"""What a video run produced: one row per model, the clip's facts, the keyframes; and its table and JSON.

Kept apart from the pipeline so the CLI, the Video tab and the API read the same data the same way.
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from studio.engine.request import CompareRequest
from studio.models.backends.devices import device_label


def percentile(values: list[float], share: float) -> float | None:
    """The nearest-rank percentile (p95: share=0.95) of `values`, or None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


@dataclass
class VideoRow:
    """One model over the whole clip."""

    model_id: str
    name: str = ""
    scale: int = 1
    backend: str = ""
    device: str = ""
    device_name: str = ""  # the Vulkan GPU's name when it ran on one
    precision: str = ""
    output_size: tuple[int, int] | None = None
    latencies_ms: list[float] = field(default_factory=list)  # per frame, inference only
    flicker: float | None = None  # consecutive-frame change of the output / that of the input (bicubic to size)
    metrics: dict[str, float | None] = field(default_factory=dict)  # means over the scored frames
    scored_frames: int = 0
    path: Path | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def latency_ms_median(self) -> float | None:
        return statistics.median(self.latencies_ms) if self.latencies_ms else None

    @property
    def latency_ms_p95(self) -> float | None:
        return percentile(self.latencies_ms, 0.95)

    @property
    def fps(self) -> float | None:
        """Frames per second of this model's inference alone (frames / time spent in the model)."""
        total = sum(self.latencies_ms)
        return len(self.latencies_ms) / (total / 1000) if total > 0 else None


@dataclass(frozen=True)
class Keyframe:
    """A sharp frame (variance of the Laplacian) from one part of the clip, kept at full size."""

    index: int
    time: float
    sharpness: float
    rgb: np.ndarray


@dataclass
class VideoResults:
    request: CompareRequest
    source: str  # the input's file name
    source_size: tuple[int, int] = (0, 0)  # frames as decoded (upright)
    input_size: tuple[int, int] = (0, 0)  # what the models saw (preview, reference mode)
    fps: float = 0.0  # the source's nominal rate
    frames: int = 0
    duration_s: float = 0.0
    notes: list[str] = field(default_factory=list)  # preview, caps, corrupt packets, audio
    rows: list[VideoRow] = field(default_factory=list)
    comparison_path: Path | None = None
    layout: str | None = None
    keyframes: list[Keyframe] = field(default_factory=list)
    audio_packets: int = 0
    wall_s: float = 0.0
    cancelled: str | None = None

    @property
    def wall_fps(self) -> float | None:
        """Frames per second of the whole run (decode, every model, scoring, encoding)."""
        return self.frames / self.wall_s if self.wall_s > 0 else None


def _rounded(value: float | None, digits: int = 3) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(value, digits)


def row_record(row: VideoRow, metric_ids: tuple[str, ...] = ()) -> dict[str, Any]:
    """A row as the table and JSON show it (the CLI's --json, the API, the Video tab).

    Every row has every column (`metric_ids` empty where not scored), so a failed model's row lines up.
    """
    record: dict[str, Any] = {
        "model": row.model_id,
        "name": row.name,
        "output_size": f"{row.output_size[0]}x{row.output_size[1]}" if row.output_size else None,
        "frames": len(row.latencies_ms),
        "fps": _rounded(row.fps, 2),
        "latency_ms_median": _rounded(row.latency_ms_median, 1),
        "latency_ms_p95": _rounded(row.latency_ms_p95, 1),
        "flicker": _rounded(row.flicker, 3),
    }
    for metric_id in dict.fromkeys((*metric_ids, *row.metrics)):
        record[metric_id] = _rounded(row.metrics.get(metric_id), 4)
    record.update(
        backend=row.backend,
        precision=row.precision,
        device=device_label(row.device, row.device_name),
        file=str(row.path) if row.path else None,  # not "path": gradio_client would take the row for a file
        error=row.error,
    )
    return record


def video_table(results: VideoResults) -> list[dict[str, Any]]:
    return [row_record(row, results.request.metric_ids) for row in results.rows]


def video_json(results: VideoResults) -> str:
    """Strict JSON (no NaN): the table, the outputs and the run's facts."""
    document = {
        "source": results.source,
        "source_size": list(results.source_size),
        "input_size": list(results.input_size),
        "fps": _rounded(results.fps, 3),
        "frames": results.frames,
        "duration_s": _rounded(results.duration_s, 3),
        "wall_s": _rounded(results.wall_s, 2),
        "wall_fps": _rounded(results.wall_fps, 2),
        "notes": results.notes,
        "cancelled": results.cancelled,
        "request": results.request.to_dict(),
        "comparison": str(results.comparison_path) if results.comparison_path else None,
        "layout": results.layout,
        "outputs": {row.model_id: str(row.path) for row in results.rows if row.path},
        "keyframes": [
            {"index": k.index, "time": round(k.time, 3), "sharpness": round(k.sharpness, 1)} for k in results.keyframes
        ],
        "rows": video_table(results),
    }
    return json.dumps(document, indent=2, allow_nan=False)


def summary_line(results: VideoResults) -> str:
    """One line about the run: frames, sizes, speed, and every note (caps, preview, audio)."""
    width, height = results.input_size
    parts = [f"{results.frames} frames at {width}x{height}"]
    if not results.cancelled:
        parts.append(f"{results.duration_s:.2f} s of video")
    if results.wall_fps:
        parts.append(f"{results.wall_fps:.1f} fps overall")
    if results.cancelled:
        parts.append(results.cancelled)
    return "; ".join(parts + results.notes)
