"""THE orchestration step: image + model ids + metric ids -> Results.

The web app, the CLI and the benchmarks all call `run`, so they report the same
numbers. Size rules (documented in the README):
- preview: the long side is limited before anything runs (marked in the results);
- reference mode: the sharp image is trimmed to a multiple of the scale, degraded
  with a seeded recipe, and the enhancers run on the degraded copy;
- full-reference metrics compare each output with the reference at the output's
  size; when they differ the reference is resized to the output and the row says so;
- no-reference deltas compare each output with the input upscaled (bicubic) to
  the output's size.
"""

from __future__ import annotations

import statistics
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from studio.core.degrade import Recipe, crop_to_multiple, degrade
from studio.core.errors import StudioError
from studio.core.media import DecodedImage
from studio.core.memory import PeakMemory
from studio.engine.enhance import choose_tile, run_enhancer
from studio.metrics import FULL_REFERENCE, MetricContext, MetricSpec
from studio.models.loader import Loader
from studio.models.registry import Registry

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class CompareOptions:
    repeat: int = 1  # warm runs after the first; latency is their median
    preview: int | None = 512  # long-side limit in px; None or 0 keeps full size
    tile: int | None = None  # None: automatic; 0: never tile
    backend: str | None = None  # a form (ncnn, torch, onnx) for the models that offer it; None: each default
    precision: str | None = None  # auto, fp32, bf16, fp16, for models whose form takes one


@dataclass
class ModelResult:
    model_id: str
    name: str = ""
    output: DecodedImage | None = None
    backend: str = ""
    device: str = ""
    precision: str = ""
    load_ms: float = 0.0
    first_ms: float = 0.0
    warm_ms: float | None = None
    peak_mb: float = 0.0
    metrics: dict[str, float | None] = field(default_factory=dict)
    deltas: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def latency_ms(self) -> float:
        return self.warm_ms if self.warm_ms is not None else self.first_ms

    @property
    def megapixels_per_s(self) -> float | None:
        if not self.ok or self.latency_ms <= 0:
            return None
        height, width = self.output.rgb.shape[:2]
        return width * height / 1e6 / (self.latency_ms / 1000)


@dataclass
class Results:
    input: DecodedImage
    reference: np.ndarray | None
    metrics: list[MetricSpec]
    rows: list[ModelResult] = field(default_factory=list)
    recipe: Recipe | None = None
    original_size: tuple[int, int] = (0, 0)
    preview_note: str | None = None
    unavailable: dict[str, str] = field(default_factory=dict)

    def to_frame(self):
        from studio.engine.export import results_frame

        return results_frame(self)


def resize_to(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Area averaging when shrinking, bicubic when enlarging; the image itself when the size already fits."""
    if image.shape[1] == width and image.shape[0] == height:
        return image
    shrinking = width < image.shape[1]
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC)


def limit_long_side(image: np.ndarray, preview: int | None) -> np.ndarray:
    height, width = image.shape[:2]
    if not preview or max(height, width) <= preview:
        return image
    factor = preview / max(height, width)
    return resize_to(image, max(1, round(width * factor)), max(1, round(height * factor)))


def prepare(
    image: DecodedImage, reference: DecodedImage | None, recipe: Recipe | None, preview: int | None
) -> tuple[DecodedImage, np.ndarray | None, str | None]:
    """The enhancers' input, the reference (or None), and a note when a preview size applied."""
    original = image.rgb
    limited = limit_long_side(original, preview)
    note = None
    if limited.shape != original.shape:
        note = f"preview: {original.shape[1]}x{original.shape[0]} reduced to {limited.shape[1]}x{limited.shape[0]}"
    if recipe is not None:
        sharp = crop_to_multiple(limited, recipe.scale)
        return DecodedImage(rgb=degrade(sharp, recipe)), sharp, note
    ref = None
    if reference is not None:
        factor = limited.shape[1] / original.shape[1]
        ref_rgb = reference.rgb
        if factor != 1.0:
            ref_rgb = resize_to(
                ref_rgb, max(1, round(ref_rgb.shape[1] * factor)), max(1, round(ref_rgb.shape[0] * factor))
            )
        ref = ref_rgb
    return image.with_rgb(limited), ref, note


def _score(row: ModelResult, results: Results, loader: Loader, scale: int) -> None:
    output = row.output.rgb
    height, width = output.shape[:2]
    context = MetricContext(scale=scale, store=loader.store)
    baseline = None
    reference = results.reference
    if reference is not None and reference.shape[:2] != (height, width):
        row.notes.append(f"reference resized {reference.shape[1]}x{reference.shape[0]} -> {width}x{height}")
        reference = resize_to(reference, width, height)
    for spec in results.metrics:
        if spec.id in results.unavailable or (spec.kind == FULL_REFERENCE and reference is None):
            row.metrics[spec.id] = None
            continue
        try:
            row.metrics[spec.id] = spec(output, reference, context)
            if spec.kind != FULL_REFERENCE:
                if baseline is None:
                    baseline = resize_to(results.input.rgb, width, height)
                row.deltas[spec.id] = row.metrics[spec.id] - spec(baseline, None, context)
        except StudioError as exc:
            row.metrics[spec.id] = None
            results.unavailable.setdefault(spec.id, str(exc))


def _run_one(
    model_id: str,
    results: Results,
    registry: Registry,
    loader: Loader,
    options: CompareOptions,
    params: dict[str, Any] | None,
    on_tile: Callable[[int, int], None],
) -> ModelResult:
    row = ModelResult(model_id=model_id)
    try:
        spec = registry.get(model_id)
        row.name = spec.name
        row.params = spec.resolve_params(params)
        started = time.perf_counter()
        backend = options.backend if options.backend in spec.forms else None
        precision = options.precision if (backend or spec.backend) in ("torch", "ncnn", "onnx") else None
        enhancer = loader.load(spec, row.params, backend, precision)
        row.load_ms = (time.perf_counter() - started) * 1000
        info = enhancer.info
        row.backend, row.device, row.precision = info.backend, info.device, info.precision
        tile = choose_tile(enhancer, loader.settings, options.tile)
        overlap = int(spec.options.get("tile_overlap", 16))
        with PeakMemory() as probe:
            started = time.perf_counter()
            row.output = run_enhancer(enhancer, results.input, tile, overlap, on_tile)
            row.first_ms = (time.perf_counter() - started) * 1000
        row.peak_mb = probe.added_mb
        if options.repeat > 1:
            timings = []
            for _ in range(options.repeat - 1):
                started = time.perf_counter()
                run_enhancer(enhancer, results.input, tile, overlap)
                timings.append((time.perf_counter() - started) * 1000)
            row.warm_ms = statistics.median(timings)
        _score(row, results, loader, info.scale)
    except StudioError as exc:
        row.error = str(exc)
    except MemoryError:
        row.error = f"'{model_id}' ran out of memory on a {results.input.size[0]}x{results.input.size[1]} image"
    except Exception as exc:  # one model's bug or runtime failure must not sink the others
        detail = str(exc).splitlines()[0] if str(exc) else ""
        row.error = f"'{model_id}' failed: {type(exc).__name__}: {detail}"
    return row


def iterate(
    image: DecodedImage,
    model_ids: Sequence[str],
    registry: Registry,
    loader: Loader,
    metrics: Sequence[MetricSpec] = (),
    reference: DecodedImage | None = None,
    recipe: Recipe | None = None,
    options: CompareOptions = CompareOptions(),
    params: dict[str, dict[str, Any]] | None = None,
    on_progress: Progress | None = None,
) -> Iterator[Results]:
    """Like `run`, but yields the Results first with no rows (the prepared input) and again after each model."""
    model_input, ref, note = prepare(image, reference, recipe, options.preview)
    results = Results(
        input=model_input,
        reference=ref,
        metrics=list(metrics),
        recipe=recipe,
        original_size=image.size,
        preview_note=note,
    )
    for spec in results.metrics:
        reason = spec.availability(loader.store)
        if reason:
            results.unavailable[spec.id] = reason
    yield results
    total = max(1, len(model_ids))
    for index, model_id in enumerate(model_ids):

        def on_tile(done: int, tiles: int, index: int = index, model_id: str = model_id) -> None:
            if on_progress:
                on_progress((index + done / tiles) / total, f"{model_id}: tile {done}/{tiles}")

        if on_progress:
            on_progress(index / total, f"running {model_id} ({index + 1}/{total})")
        row = _run_one(model_id, results, registry, loader, options, (params or {}).get(model_id), on_tile)
        results.rows.append(row)
        yield results
    if on_progress:
        on_progress(1.0, "done")


def run(
    image: DecodedImage,
    model_ids: Sequence[str],
    registry: Registry,
    loader: Loader,
    metrics: Sequence[MetricSpec] = (),
    reference: DecodedImage | None = None,
    recipe: Recipe | None = None,
    options: CompareOptions = CompareOptions(),
    params: dict[str, dict[str, Any]] | None = None,
    on_progress: Progress | None = None,
) -> Results:
    """Run every model on the (prepared) image and score it; failures become rows with `error`."""
    return deque(
        iterate(image, model_ids, registry, loader, metrics, reference, recipe, options, params, on_progress), maxlen=1
    )[0]
