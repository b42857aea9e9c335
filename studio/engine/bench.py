"""`studio bench`: time each model's forms and precisions on square inputs; write benchmarks/.

Not a test: timings vary with the machine. Each cell is the minimum and median
of repeated runs after one warm-up run, untiled, at the configured thread count.
A tiled 2048x2048 run records the peak memory target.
"""

from __future__ import annotations

import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from studio.core.config import Settings
from studio.core.errors import StudioError
from studio.core.media import DecodedImage
from studio.core.memory import PeakMemory
from studio.engine.compare import run
from studio.engine.request import CompareRequest
from studio.engine.speed import SpeedBook
from studio.models.backends.devices import cpu_has_fast_bf16, machine_class
from studio.models.loader import Loader
from studio.models.registry import Registry

PRECISIONS = {"ncnn": ("fp32", "bf16"), "torch": ("fp32", "bf16"), "onnx": ("fp32",)}


def _photo(side: int) -> np.ndarray:
    from skimage import data

    return cv2.resize(data.astronaut(), (side, side), interpolation=cv2.INTER_AREA)


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


BASELINE = "spandrel eager"  # the reference every target is measured against


def _timings(enhance: Callable[[np.ndarray], np.ndarray], image: np.ndarray, repeat: int) -> dict:
    enhance(image)  # warm-up: first-call allocations, lazy kernels
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        enhance(image)
        timings.append((time.perf_counter() - started) * 1000)
    return {"min ms": round(min(timings), 1), "median ms": round(statistics.median(timings), 1)}


def time_form(loader: Loader, spec, backend: str, precision: str, image: np.ndarray, repeat: int) -> dict:
    enhancer = loader.load(spec, backend=backend, precision=precision)
    return _timings(enhancer.enhance, image, repeat) | {"used precision": enhancer.info.precision}


def spandrel_eager(loader: Loader, spec) -> Callable[[np.ndarray], np.ndarray]:
    """The baseline: the model as spandrel-based tools run it (see backends.torch.eager_baseline)."""
    from studio.models.backends.torch import eager_baseline

    return eager_baseline(loader.weights_for(spec, "torch"), loader.settings.threads)


def _summary(frame: pd.DataFrame, defaults: dict[str, tuple[str, str]]) -> str:
    """Default path against the spandrel-eager baseline, per model and input size."""
    rows = []
    for model_id, (backend, precision) in defaults.items():
        cells = frame[frame["model"] == model_id]
        for size in cells["input"].unique():
            at_size = cells[cells["input"] == size]
            chosen = at_size[(at_size["backend"] == backend) & (at_size["precision"] == precision)]["min ms"]
            baseline = at_size[at_size["backend"] == BASELINE]["min ms"]
            default_ms = pd.to_numeric(chosen, errors="coerce").min()
            baseline_ms = pd.to_numeric(baseline, errors="coerce").min()
            speedup = baseline_ms / default_ms if default_ms and baseline_ms else float("nan")
            rows.append(
                {
                    "model": model_id,
                    "input": size,
                    "default form": f"{backend} {precision}",
                    "default min ms": default_ms,
                    f"{BASELINE} fp32 min ms": baseline_ms,
                    "speed-up": "" if np.isnan(speedup) else f"{speedup:.2f}x",
                    "2x target": "" if np.isnan(speedup) else ("met" if speedup >= 2 else "not met"),
                }
            )
    return _markdown(pd.DataFrame(rows))


def tiled_memory(loader: Loader, registry: Registry, model_id: str, side: int = 2048) -> dict:
    image = DecodedImage(rgb=_photo(512))
    image = image.with_rgb(cv2.resize(image.rgb, (side, side), interpolation=cv2.INTER_CUBIC))
    with PeakMemory() as probe:
        started = time.perf_counter()
        request = CompareRequest.build(registry, [model_id], metrics=[], preview=None)
        (row,) = run(request, image, registry, loader).rows
        seconds = time.perf_counter() - started
    if not row.ok:
        raise StudioError(row.error)
    return {
        "model": model_id,
        "input": f"{side}x{side}",
        "output": "x".join(map(str, row.output.size)),
        "seconds": round(seconds, 1),
        "peak RSS added MB": round(probe.added_mb),
    }


# Cells that cannot run on a 24 GB machine, with what was measured when they were tried.
KNOWN_LIMITS = {
    (
        "realesrgan-x4plus",
        "onnx",
        512,
    ): "not run: untiled it reached 24 GB RSS and was OOM-killed on this 24 GB machine",
}


def _cell_key(row: dict) -> tuple[str, str, str, str]:
    return row["model"], row["backend"], row["precision"], row["input"]


def run_benchmark(
    model_ids: list[str],
    sizes: list[int],
    repeat: int,
    registry: Registry,
    settings: Settings,
    out: Path,
    resume: bool = False,
    tiled_side: int = 2048,
    speed: SpeedBook | None = None,
) -> str:
    """Measure every cell (writing neural-cpu.csv as it goes), then the tiled memory run; returns the markdown.

    With `resume`, cells already in neural-cpu.csv are kept and not measured again. With `speed`, each
    measured cell also feeds the speed book, so the web app's predictions use bench's numbers.
    """
    out.mkdir(parents=True, exist_ok=True)
    csv_path = out / "neural-cpu.csv"
    done = {}
    if resume and csv_path.exists():
        done = {_cell_key(row): row for row in pd.read_csv(csv_path).fillna("").to_dict("records")}
    loader = Loader(settings)
    rows = []
    defaults = {}
    for model_id in model_ids:
        spec = registry.get(model_id)
        default = loader.load(spec)
        defaults[model_id] = (default.info.backend, default.info.precision)
        if "torch" in spec.forms:
            loader.cache.clear()
            for side in sizes:
                row = {"model": model_id, "backend": BASELINE, "precision": "fp32", "input": f"{side}x{side}"}
                if _cell_key(row) not in done:
                    row.update(
                        _timings(spandrel_eager(loader, spec), _photo(side), repeat) | {"used precision": "fp32"}
                    )
                    print(row, flush=True)
                rows.append(done.get(_cell_key(row), row))
                pd.DataFrame(rows).to_csv(csv_path, index=False)
        for backend in spec.forms:
            for precision in PRECISIONS.get(backend, ("fp32",)):
                loader.cache.clear()  # one loaded form at a time keeps peak memory honest
                for side in sizes:
                    row = {"model": model_id, "backend": backend, "precision": precision, "input": f"{side}x{side}"}
                    if _cell_key(row) in done:
                        rows.append(done[_cell_key(row)])
                        continue
                    slow_bf16 = backend == "torch" and precision == "bf16" and not cpu_has_fast_bf16()
                    if (model_id, backend, side) in KNOWN_LIMITS:
                        row["note"] = KNOWN_LIMITS[(model_id, backend, side)]
                    elif slow_bf16 and side > 128:
                        row["note"] = "skipped: this CPU has no AVX-512 BF16 / AMX (bf16 is emulated)"
                    else:
                        try:
                            row.update(time_form(loader, spec, backend, precision, _photo(side), repeat))
                            if speed is not None:
                                output_pixels = (side * spec.scale) ** 2
                                seconds = row["median ms"] / 1000
                                speed.record_timing(model_id, backend, row["used precision"], output_pixels, seconds)
                        except StudioError as exc:
                            row["note"] = str(exc)
                    rows.append(row)
                    pd.DataFrame(rows).to_csv(csv_path, index=False)
                    print(row, flush=True)
    loader.cache.clear()
    frame = pd.DataFrame(rows)
    memory = pd.DataFrame([tiled_memory(loader, registry, model_ids[0], tiled_side)])
    frame.to_csv(csv_path, index=False)
    header = (
        f"# Neural backends on CPU\n\nMachine: {_cpu_name()}, {settings.threads} threads; "
        f"fast bf16: {'yes' if cpu_has_fast_bf16() else 'no'}. Measured {time.strftime('%Y-%m-%d')} with "
        f"`studio bench` (min and median of {repeat} runs after a warm-up; untiled).\n\n"
    )
    machine = machine_class(settings.machine_class)
    text = (
        header
        + _markdown(frame)
        + f"\n\n## Default path against spandrel + torch fp32 eager\n\nMachine class: {machine}. The default form "
        + "is what runs when no `--backend` / `--precision` is given; the baseline is spandrel's model in fp32, "
        + "NCHW, eager, under `torch.inference_mode` (what spandrel-based tools run).\n\n"
        + _summary(frame, defaults)
        + "\n\nAgainst ncnn as the packages ship it (their own Python wrapper): see `packaged-wrapper.md`."
        + f"\n\n## Tiled {tiled_side}x{tiled_side} through x{registry.get(model_ids[0]).scale}\n\n"
        + _markdown(memory)
        + "\n"
    )
    (out / "neural-cpu.md").write_text(text, encoding="utf-8")
    return text


def _markdown(frame: pd.DataFrame) -> str:
    cells = frame.astype(object).fillna("").astype(str)
    lines = ["| " + " | ".join(cells.columns) + " |", "|" + "|".join("---" for _ in cells.columns) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in cells.itertuples(index=False)]
    return "\n".join(lines)
