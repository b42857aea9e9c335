"""THE orchestration step: a CompareRequest + an image (+ a reference) -> Results.

The web app, the CLI and the benchmarks all call `iterate` / `run`, so they report the same
numbers. Size rules (documented in the README):
- preview: the long side is limited before anything runs (marked in the results);
- reference mode: the sharp image is trimmed to a multiple of the scale, degraded
  with a seeded recipe, and the enhancers run on the degraded copy;
- a ground truth must have the input's aspect ratio (within 1%), else UsageError;
- full-reference metrics compare each output with the reference at the output's
  size; when they differ the reference is resized to the output, the row says so,
  and when the model's scale differs from the degradation's (or the ground truth's)
  the row is flagged as not comparable (Results.groups keeps it apart);
- no-reference deltas compare each output with the input upscaled (bicubic) to
  the output's size.

Cancel: `should_stop` is asked before each model and after each tile; when it says
yes the model in progress is dropped and the results so far are yielded once more
with `cancelled` set. A `time_limit` (timelimit.py: STUDIO_RUN_TIMEOUT_S for web runs)
is asked at the same points and ends the run the same way, its reason in `cancelled`.

Each model's weights are fetched first (the network), then it is loaded, run and scored
in the process's compute slot (slot.py): one model computes at a time, and a download
never holds up another run. A run waiting for the slot says so and can be cancelled.
"""

from __future__ import annotations

import statistics
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, nullcontext

from studio.core import telemetry
from studio.core.errors import StudioError, UsageError
from studio.core.media import DecodedImage
from studio.core.memory import PeakMemory
from studio.core.vocabulary import FORMS
from studio.engine.enhance import choose_tile, release_memory, run_enhancer, unexpected_failure
from studio.engine.footprint import check_memory
from studio.engine.form_notes import describe_form
from studio.engine.inputs import check_aspect, prepare
from studio.engine.provenance import machine_info
from studio.engine.replay import pixels_sha256
from studio.engine.request import CompareRequest
from studio.engine.results import ModelResult, Results
from studio.engine.scoring import comparability_flag, score_row
from studio.engine.slot import compute_slot, time_until_free
from studio.engine.timelimit import TimeLimit
from studio.models.loader import Loader
from studio.models.registry import Registry
from studio.models.schema import ModelSpec

Progress = Callable[[float, str], None]
StopCheck = Callable[[], bool]
WAITING = "waiting for another run to finish"  # progress text while another run holds the compute slot


class _Stopped(Exception):
    """Raised at a stop point when the run was cancelled (reason None) or ran out of time; never leaves this module."""

    def __init__(self, reason: str | None = None):
        super().__init__(reason)
        self.reason = reason


def waiting_text() -> str:
    """WAITING, with how long the run in the compute slot expects to keep it when it has said (slot.Hold)."""
    left = time_until_free()
    if left is None:
        return WAITING
    return f"{WAITING} (about {left:.0f} s)" if left >= 1 else f"{WAITING} (under 1 s)"


def _counting(time_limit: TimeLimit | None) -> AbstractContextManager[None]:
    return time_limit.counting() if time_limit is not None else nullcontext()


def _run_one(
    model_id: str,
    results: Results,
    registry: Registry,
    loader: Loader,
    request: CompareRequest,
    on_tile: Callable[[int, int], None],
    check_stop: Callable[[], None],
    on_wait: Callable[[], None] | None = None,
    time_limit: TimeLimit | None = None,
    expected_s: float | None = None,
) -> ModelResult:
    """One model's weights fetched, then (in the compute slot) loaded, run (and repeated), timed and scored;
    its failure becomes the row's error. The slot's time counts against `time_limit`; `expected_s` (the speed
    book's prediction) tells runs waiting for the slot how long this one will keep it."""
    row = ModelResult(model_id=model_id)
    try:
        spec = registry.get(model_id)
        row.name, row.scale = spec.name, spec.scale
        row.params = dict(request.params.get(model_id) or spec.resolve_params())
        backend = request.backend if request.backend in spec.forms else None
        neural = (backend or spec.backend) in FORMS
        precision = request.precision if neural else None
        device = request.device  # classical models too: one that cannot run on it says so in its row
        loader.fetch_weights(spec)  # outside the slot: a slow or silent host holds up this run only
        with compute_slot(check_stop, on_wait) as hold, _counting(time_limit):
            hold.expect(expected_s)

            def tile_done(done: int, tiles: int) -> None:
                if expected_s is not None:
                    hold.expect(expected_s * (1 - done / tiles))
                on_tile(done, tiles)

            _compute(row, spec, results, loader, request, (backend, precision, device), tile_done, check_stop)
    except _Stopped:
        raise
    except StudioError as exc:
        row.error = str(exc)
    except MemoryError:
        row.error = f"'{model_id}' ran out of memory on a {results.input.size[0]}x{results.input.size[1]} image"
    except Exception as exc:  # one model's bug or runtime failure must not sink the others
        width, height = results.input.size
        row.error = unexpected_failure(model_id, exc, f"on a {width}x{height} input")
    return row


def _compute(
    row: ModelResult,
    spec: ModelSpec,
    results: Results,
    loader: Loader,
    request: CompareRequest,
    form: tuple[str | None, str | None, str | None],
    on_tile: Callable[[int, int], None],
    check_stop: Callable[[], None],
) -> None:
    """Load, run (and repeat), time and score one model into `row` (the caller holds the compute slot)."""
    started = time.perf_counter()
    side = max(results.input.size)
    planned = loader.plan(spec, *form, side=side, tune=True)  # tunes a never-tuned model first (models/tuner.py)
    enhancer = loader.load(spec, row.params, *form, side=side)
    row.load_ms = (time.perf_counter() - started) * 1000
    info = enhancer.info
    row.backend, row.device, row.precision, row.scale = info.backend, info.device, info.precision, info.scale
    row.device_name = info.device_name
    describe_form(row, spec, loader, planned, info.fidelity_db)
    tile = choose_tile(enhancer, loader.settings, request.tile)
    overlap = spec.tile_overlap
    try:
        with PeakMemory() as probe:
            started = time.perf_counter()
            row.output = run_enhancer(enhancer, results.input, tile, overlap, on_tile)
            row.first_ms = (time.perf_counter() - started) * 1000
        row.peak_mb = probe.added_mb
        if request.repeat > 1:
            timings = []
            for _ in range(request.repeat - 1):
                started = time.perf_counter()
                run_enhancer(enhancer, results.input, tile, overlap, lambda done, tiles: check_stop())
                timings.append((time.perf_counter() - started) * 1000)
            row.warm_ms = statistics.median(timings)
    finally:
        release_memory(enhancer)  # a cached model keeps no activations between runs
    score_row(row, results, loader.store, info.scale)
    row.flag = comparability_flag(row, results)
    if row.ok and row.latency_ms > 0:  # /metrics' latency histogram, for every front end
        telemetry.emit("model_run", row.latency_ms / 1000, model=row.model_id, backend=row.backend)


def iterate(
    request: CompareRequest,
    image: DecodedImage,
    registry: Registry,
    loader: Loader,
    reference: DecodedImage | None = None,
    on_progress: Progress | None = None,
    should_stop: StopCheck | None = None,
    source: str | None = None,
    reference_source: str | None = None,
    time_limit: TimeLimit | None = None,
    predicted_s: Mapping[str, float | None] | None = None,
) -> Iterator[Results]:
    """Like `run`, but yields the Results first with no rows (the prepared input) and again after each model.

    A cancelled or timed-out run (see the module notes) yields its last Results with `cancelled` set and returns
    normally. `predicted_s`: each model's predicted seconds (the speed book's), shown to runs waiting behind it.
    """
    if request.with_reference and reference is None:
        raise UsageError("this request expects a ground-truth image")
    if reference is not None and request.recipe is None:
        check_aspect(image, reference)
    # refused here, not killed halfway; free memory is measured while no model runs (one model's wait at most)
    with compute_slot(on_wait=(lambda: on_progress(0.0, waiting_text())) if on_progress else None):
        check_memory(request, registry, loader.settings, image.size)
    model_input, ref, note = prepare(image, reference, request.recipe, request.preview)
    results = Results(
        input=model_input,
        reference=ref,
        metrics=request.metrics,
        recipe=request.recipe,
        original_size=image.size,
        preview_note=note,
        request=request,
        source=source,
        source_sha256=pixels_sha256(image.rgb),
        reference_source=reference_source if reference is not None else None,
        machine=machine_info(loader.settings),
    )
    for spec in results.metrics:
        reason = spec.availability(loader.store)
        if reason:
            results.unavailable[spec.id] = reason
    yield results
    total = len(request.model_ids)

    def check_stop() -> None:
        if should_stop is not None and should_stop():
            raise _Stopped
        reason = time_limit.exceeded() if time_limit is not None else None
        if reason:
            raise _Stopped(reason)

    for index, model_id in enumerate(request.model_ids):

        def on_tile(done: int, tiles: int, index: int = index, model_id: str = model_id) -> None:
            if on_progress:
                on_progress((index + done / tiles) / total, f"{model_id}: tile {done}/{tiles}")
            check_stop()

        def on_wait(index: int = index, model_id: str = model_id) -> None:
            if on_progress:
                on_progress(index / total, f"{model_id}: {waiting_text()}")

        try:
            check_stop()
            if on_progress:
                on_progress(index / total, f"running {model_id} ({index + 1}/{total})")
            expected = (predicted_s or {}).get(model_id)
            row = _run_one(
                model_id, results, registry, loader, request, on_tile, check_stop, on_wait, time_limit, expected
            )
        except _Stopped as stopped:
            results.cancelled = stopped.reason or f"cancelled after {index} of {total} models"
            break
        results.rows.append(row)
        results.machine = machine_info(loader.settings)  # a neural model may have loaded torch: ask again
        yield results
    if results.cancelled:
        if on_progress:
            on_progress(len(results.rows) / total, results.cancelled)
        yield results
        return
    if on_progress:
        on_progress(1.0, "done")


def run(
    request: CompareRequest,
    image: DecodedImage,
    registry: Registry,
    loader: Loader,
    reference: DecodedImage | None = None,
    on_progress: Progress | None = None,
    should_stop: StopCheck | None = None,
    source: str | None = None,
    reference_source: str | None = None,
    time_limit: TimeLimit | None = None,
    predicted_s: Mapping[str, float | None] | None = None,
) -> Results:
    """Run every model on the (prepared) image and score it; failures become rows with `error`."""
    steps = iterate(
        request,
        image,
        registry,
        loader,
        reference,
        on_progress,
        should_stop,
        source,
        reference_source,
        time_limit=time_limit,
        predicted_s=predicted_s,
    )
    return deque(steps, maxlen=1)[0]
