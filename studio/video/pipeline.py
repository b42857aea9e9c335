"""Enhance a clip frame by frame with one or more models: reader thread -> models -> writer thread.

Decoding (reader) and scoring + encoding (writer) run in their own threads around bounded queues,
so the calling thread spends its time in the models and I/O overlaps with inference; the queues
hold at most QUEUE_FRAMES frames each, so memory stays bounded whatever the clip's length.

The same request as an image comparison drives it (CompareRequest: models, parameters, backend,
precision, preview, degradation recipe, metrics), and models come from the same loader and cache.
In reference mode each frame is degraded with the request's seeded recipe (the same seed for every
frame, so noise does not count as flicker) and the sharp frame is the reference.

Outputs are written to hidden partial files and renamed when the run ends; a cancelled or failed run
removes them (and a Ctrl-C in the CLI does too), and so does one past its time limit (a web run's
STUDIO_RUN_TIMEOUT_S, engine/timelimit.py), which is asked before each frame like a cancel.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from studio.core.errors import EnhanceError, StudioError
from studio.core.media import DecodedImage
from studio.engine.compare import waiting_text
from studio.engine.enhance import release_memory, run_enhancer, unexpected_failure
from studio.engine.footprint import check_memory
from studio.engine.request import CompareRequest
from studio.engine.slot import Hold, compute_slot
from studio.engine.timelimit import TimeLimit
from studio.metrics import MetricContext
from studio.models.loader import Loader
from studio.models.registry import Registry
from studio.video.frames import expected_frames, prepare_frame
from studio.video.io import ClipInfo, ClipWriter, ReadReport, VideoLimits, probe, read_frames
from studio.video.layout import Layout, compose, plan_layout
from studio.video.loading import LoadedModel, fetch_models, load_models
from studio.video.notes import run_notes
from studio.video.outputs import OutputPlan, plan_outputs
from studio.video.progress import Progress, ProgressMeter, VideoProgress
from studio.video.quality import Flicker, KeyframePicker, MetricMeans, scored_stride
from studio.video.results import VideoResults, VideoRow

QUEUE_FRAMES = 4
QUEUE_WAIT_S = 0.1  # how often a waiting thread looks at the stop flag
KEYFRAMES = 6
StopCheck = Callable[[], bool]
_END = object()


@dataclass
class _Item:
    index: int
    time: float
    model_input: np.ndarray
    reference: np.ndarray | None
    outputs: dict[str, np.ndarray] | None = None


class _Cancelled(Exception):
    """A cancel (reason None) or the time limit (its reason); never leaves this module."""

    def __init__(self, reason: str | None = None):
        super().__init__(reason)
        self.reason = reason


class _Pipeline:
    """One run's threads, queues and writers; `run()` returns the results or raises after cleaning up."""

    def __init__(
        self,
        request: CompareRequest,
        info: ClipInfo,
        limits: VideoLimits,
        plan: OutputPlan,
        layout_kind: str | None,
        models: list[LoadedModel],
        loader: Loader,
        on_progress: Progress | None,
        should_stop: StopCheck | None,
        time_limit: TimeLimit | None = None,
    ):
        self.request, self.info, self.limits, self.plan = request, info, limits, plan
        self.time_limit = time_limit
        self.layout_kind = layout_kind
        self.models: list[LoadedModel] = models
        self.stop = threading.Event()
        self.failure: BaseException | None = None
        self.inbox: queue.Queue = queue.Queue(QUEUE_FRAMES)
        self.outbox: queue.Queue = queue.Queue(QUEUE_FRAMES)
        self.report = ReadReport()
        self.expected = expected_frames(info, limits)
        self.keyframes = KeyframePicker(KEYFRAMES)
        self.meter = ProgressMeter(self.expected, on_progress)
        self.should_stop = should_stop
        self.writers: dict[str, ClipWriter] = {}
        self.flicker = {model.row.model_id: Flicker() for model in models}
        specs = [spec for spec in request.metrics if not spec.availability(loader.store)]
        self.metrics = {
            model.row.model_id: MetricMeans(specs, MetricContext(scale=model.row.scale, store=loader.store))
            for model in models
        }
        self.audio_packets = 0
        self.stride = scored_stride(self.expected)
        self.layout: Layout | None = None
        self.source_size = (0, 0)
        self.preview_size = (0, 0)  # the frames after the preview limit (the sharp frames in reference mode)
        self.input_size = (0, 0)

    # ---- the three stages ----
    def read(self) -> None:
        try:
            for frame in read_frames(self.info, self.limits, self.report):
                if self.stop.is_set():
                    return
                model_input, reference = prepare_frame(frame.rgb, self.request)
                if self.source_size == (0, 0):
                    self.source_size = (frame.rgb.shape[1], frame.rgb.shape[0])
                    previewed = reference if reference is not None else model_input  # before any degradation
                    self.preview_size = (previewed.shape[1], previewed.shape[0])
                self.keyframes.offer(frame.index, frame.time, frame.rgb)
                self._put(self.inbox, _Item(frame.index, frame.time, model_input, reference))
        except BaseException as exc:  # handed to the calling thread, which raises it
            self._fail(exc)
        finally:
            self._put(self.inbox, _END)

    def infer(self) -> None:
        while True:
            item = self._get(self.inbox)
            if item is _END:
                break
            if self.should_stop is not None and self.should_stop():
                raise _Cancelled
            reason = self.time_limit.exceeded() if self.time_limit is not None else None
            if reason:
                raise _Cancelled(reason)
            item.outputs = {}
            for model in self.models:
                if model.row.error:
                    continue
                started = time.perf_counter()
                try:
                    image = DecodedImage(rgb=item.model_input)
                    item.outputs[model.row.model_id] = run_enhancer(
                        model.enhancer, image, model.tile, model.overlap
                    ).rgb
                except StudioError as exc:
                    model.row.error = f"frame {item.index}: {exc}"
                    continue
                except Exception as exc:  # one model's failure must not sink the others
                    model.row.error = unexpected_failure(model.row.model_id, exc, f"on frame {item.index}")
                    continue
                model.row.latencies_ms.append((time.perf_counter() - started) * 1000)
            self._put(self.outbox, item)
            self.meter.frame_done(self._active_note())
        self._put(self.outbox, _END)

    def write(self) -> None:
        try:
            while True:
                item = self._get(self.outbox)
                if item is _END:
                    return
                self._write_item(item)
        except BaseException as exc:
            self._fail(exc)

    # ---- helpers ----
    def _write_item(self, item: _Item) -> None:
        if self.input_size == (0, 0):
            self.input_size = (item.model_input.shape[1], item.model_input.shape[0])
        for model_id, output in item.outputs.items():
            row = next(model.row for model in self.models if model.row.model_id == model_id)
            if row.error:
                continue
            if model_id not in self.writers:
                row.output_size = (output.shape[1], output.shape[0])
                self.writers[model_id] = self._writer(self.plan.partial(model_id), output.shape[1], output.shape[0])
            self.writers[model_id].write(output, item.time)
            self.flicker[model_id].add(output, item.model_input)
            if item.index % self.stride == 0:
                self.metrics[model_id].add(output, item.reference)
                row.scored_frames += 1
        if self.layout_kind:
            self._write_comparison(item)

    def _write_comparison(self, item: _Item) -> None:
        names = [model.row.model_id for model in self.models]
        if self.layout is None:
            sizes = [(item.model_input.shape[1], item.model_input.shape[0])]
            sizes += [(item.outputs[n].shape[1], item.outputs[n].shape[0]) for n in names if n in item.outputs]
            self.layout = plan_layout(self.layout_kind, sizes, ["input", *names])
            width, height = self.layout.frame_size
            self.writers[""] = self._writer(self.plan.partial(""), width, height)
        images = [item.model_input]
        for name in names:  # a model that failed mid-clip shows black from then on, so panels keep their places
            images.append(item.outputs.get(name, np.zeros_like(item.model_input)))
        self.writers[""].write(compose(self.layout, images), item.time)

    def _writer(self, path: Path, width: int, height: int) -> ClipWriter:
        return ClipWriter(path, width, height, self.info.fps, audio_from=self.info)

    def _active_note(self) -> str:
        return ", ".join(model.row.model_id for model in self.models if not model.row.error)

    def _fail(self, exc: BaseException) -> None:
        if self.failure is None:
            self.failure = exc
        self.stop.set()

    def _put(self, box: queue.Queue, item: object) -> None:
        while True:
            try:
                box.put(item, timeout=QUEUE_WAIT_S)
                return
            except queue.Full:
                if self.stop.is_set() and item is not _END:
                    return
                if self.stop.is_set():
                    self._drain(box)

    def _get(self, box: queue.Queue) -> object:
        """The next item; _END once the run is stopping and nothing is left; the other thread's failure raised."""
        while True:
            if self.failure is not None:
                raise self.failure
            try:
                return box.get(timeout=QUEUE_WAIT_S)
            except queue.Empty:
                if self.stop.is_set():
                    return _END

    @staticmethod
    def _drain(box: queue.Queue) -> None:
        try:
            while True:
                box.get_nowait()
        except queue.Empty:
            pass

    def finish(self) -> float:
        """Close every writer (copying the audio up to the video's end); returns the video's duration."""
        duration = self.report.last_time + (1.0 / self.info.fps if self.info.fps else 0.04)
        for key, writer in self.writers.items():
            packets = writer.close(until=duration, origin=self.report.origin)
            self.audio_packets = packets
            self.plan.commit(key)
        return duration

    def abort(self) -> None:
        for writer in self.writers.values():
            writer.abort()
        self.plan.discard()


def run_video(
    request: CompareRequest,
    source: str | Path,
    output: str | Path,
    registry: Registry,
    loader: Loader,
    limits: VideoLimits,
    layout: str | None = None,
    on_progress: Progress | None = None,
    should_stop: StopCheck | None = None,
    time_limit: TimeLimit | None = None,
) -> VideoResults:
    """Run every model of `request` over the clip; write each model's MP4 (and the comparison) next to `output`.

    See outputs.plan_outputs for the file names. A model that fails is reported in its row and the others go
    on; a cancel (should_stop) or the `time_limit` removes the partial files and returns results with `cancelled`
    set. The time in the compute slot counts against the limit.
    """
    source = Path(source)
    started = time.perf_counter()
    info = probe(source, limits)
    if layout is not None:
        plan_layout(layout, [(info.width, info.height)], ["input"])  # an unknown layout fails before any work
    failed = fetch_models(request, registry, loader)  # the network, before the compute slot (engine/slot.py)

    def check() -> None:
        if should_stop is not None and should_stop():
            raise _Cancelled

    def waiting() -> None:
        if on_progress is not None:
            on_progress(VideoProgress(0, 0, None, None, waiting_text()))

    try:
        # the whole clip: one run's models compute at a time, as in compare
        with compute_slot(check, waiting) as hold, time_limit.counting() if time_limit else nullcontext():
            return _run(
                request,
                source,
                output,
                registry,
                loader,
                limits,
                layout,
                on_progress,
                should_stop,
                info,
                started,
                failed,
                hold,
                time_limit,
            )
    except _Cancelled:  # while waiting for the slot: nothing was loaded or written
        results = VideoResults(request=request, source=source.name, fps=info.fps, layout=layout)
        results.rows = [VideoRow(model_id=model_id) for model_id in request.model_ids]
        results.cancelled = "cancelled before it started (another run was going)"
        results.wall_s = time.perf_counter() - started
        return results


def _run(
    request: CompareRequest,
    source: Path,
    output: str | Path,
    registry: Registry,
    loader: Loader,
    limits: VideoLimits,
    layout: str | None,
    on_progress: Progress | None,
    should_stop: StopCheck | None,
    info: ClipInfo,
    started: float,
    failed: dict[str, str],
    hold: Hold,
    time_limit: TimeLimit | None,
) -> VideoResults:
    """run_video's work once it holds the compute slot (`hold`: where it says, from the measured frame rate, how
    long it will keep it)."""
    # every model's output of up to QUEUE_FRAMES frames in each queue, plus the frame in each thread's hands
    check_memory(request, registry, loader.settings, (info.width, info.height), QUEUE_FRAMES + 3, "this video run")
    loaded = load_models(request, registry, loader, failed)
    models = [entry for entry in loaded if isinstance(entry, LoadedModel)]
    if not models:  # nothing would run: say why before a single frame is decoded
        reasons = "; ".join(f"{entry.model_id}: {entry.error}" for entry in loaded if isinstance(entry, VideoRow))
        raise EnhanceError(f"none of the chosen models can run: {reasons}")
    plan = plan_outputs(Path(output), list(request.model_ids), layout, source)  # names follow the command

    def report(progress: VideoProgress) -> None:
        hold.expect(progress.seconds_left)
        if on_progress is not None:
            on_progress(progress)

    pipe = _Pipeline(request, info, limits, plan, layout, models, loader, report, should_stop, time_limit)
    results = VideoResults(request=request, source=source.name, fps=info.fps, layout=layout)
    reader = threading.Thread(target=pipe.read, name="video-reader", daemon=True)
    writer = threading.Thread(target=pipe.write, name="video-writer", daemon=True)
    reader.start()
    writer.start()
    finished = False
    try:
        pipe.infer()
        writer.join()
        if pipe.failure is not None:
            raise pipe.failure
        results.duration_s = pipe.finish()
        finished = True
    except _Cancelled as stopped:
        results.cancelled = f"{stopped.reason or f'cancelled after {pipe.meter.done} frames'}; partial files removed"
    finally:
        pipe.stop.set()  # the threads see it within QUEUE_WAIT_S and end; only then are the files closed
        reader.join()
        writer.join()
        for model in models:
            release_memory(model.enhancer)
        if not finished:
            pipe.abort()
    _fill(results, pipe, loaded, info, started)
    return results


def _fill(results: VideoResults, pipe: _Pipeline, loaded: list, info: ClipInfo, started: float) -> None:
    results.frames = pipe.meter.done if results.cancelled else pipe.report.frames  # decoded may run ahead
    results.source_size = pipe.source_size
    results.input_size = pipe.input_size or pipe.source_size
    results.keyframes = [k for k in pipe.keyframes.keyframes() if k.index < results.frames]  # the reader runs ahead
    results.wall_s = time.perf_counter() - started
    results.audio_packets = pipe.audio_packets
    for entry in loaded:
        row = entry.row if isinstance(entry, LoadedModel) else entry
        if isinstance(entry, LoadedModel) and not results.cancelled:
            row.flicker = pipe.flicker[row.model_id].score
            row.metrics = pipe.metrics[row.model_id].means()
            row.path = pipe.plan.final(row.model_id) if row.error is None else None
        results.rows.append(row)
    if pipe.layout is not None and not results.cancelled:
        results.comparison_path = pipe.plan.final("")
    results.notes.extend(run_notes(results, info, pipe.report, pipe.preview_size, pipe.layout, pipe.metrics))
