"""`studio bench`: time each model's forms and precisions on square inputs; write benchmarks/.

Not a test: timings vary with the machine. Each cell is the minimum and median of repeated runs after one
warm-up run, untiled, at the configured thread count; each non-fp32 cell also has its fidelity (PSNR of its
output against the model's fp32 output on the same input). The default path is what a run without
--backend/--precision picks at that size (auto-tuned when STUDIO_AUTOTUNE is on), so every ratio in the
summary comes from this one run. Files are named by machine class (neural-cpu.md, neural-cpu-bf16.md), so a
run on one class of CPU never overwrites the other's.
"""

from __future__ import annotations

import math
import statistics
import sys
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
from studio.core.psnr import psnr
from studio.core.vocabulary import PRECISIONS as KNOWN_PRECISIONS
from studio.engine.bench_tables import BASELINE, markdown, opencv_summary, summary, wrapper_summary
from studio.engine.compare import run
from studio.engine.request import CompareRequest
from studio.engine.speed import SpeedBook
from studio.engine.wrapper_baseline import wrapper_cells
from studio.models.autotune import probe_image
from studio.models.backends.devices import cpu_has_fast_bf16
from studio.models.fingerprint import fingerprint_id
from studio.models.loader import Loader
from studio.models.registry import Registry

# The precisions timed per form (int8 where this version has it: the ONNX form quantized).
PRECISIONS = {"ncnn": ("fp32", "bf16"), "torch": ("fp32", "bf16"), "onnx": ("fp32", "int8")}

# Cells that cannot run on a 24 GB machine, with what was measured when they were tried.
KNOWN_LIMITS = {
    (
        "realesrgan-x4plus",
        "onnx",
        512,
    ): "not run: untiled it reached 24 GB RSS and was OOM-killed on this 24 GB machine",
}


def _timings(enhance: Callable[[np.ndarray], np.ndarray], image: np.ndarray, repeat: int) -> tuple[dict, np.ndarray]:
    output = enhance(image)  # warm-up: first-call allocations, lazy kernels
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        enhance(image)
        timings.append((time.perf_counter() - started) * 1000)
    return {"min ms": round(min(timings), 1), "median ms": round(statistics.median(timings), 1)}, output


def time_form(loader: Loader, spec, backend: str, precision: str, image: np.ndarray, repeat: int):
    enhancer = loader.load(spec, backend=backend, precision=precision)
    cell, output = _timings(enhancer.enhance, image, repeat)
    return cell | {"used precision": enhancer.info.precision, "device": enhancer.info.device}, output


def spandrel_eager(loader: Loader, spec) -> Callable[[np.ndarray], np.ndarray]:
    """The baseline: the model as spandrel-based tools run it (see backends.torch.eager_baseline)."""
    from studio.models.backends.torch import eager_baseline

    return eager_baseline(loader.weights_for(spec, "torch"), loader.settings.threads)


def _progress(row: dict) -> None:
    """One line per measured cell on stderr (stdout gets the markdown)."""
    timing = f"{row['min ms']} ms" if "min ms" in row else row.get("note", "")
    print(f"{row['model']} {row['backend']} {row['precision']} {row['input']}: {timing}", file=sys.stderr, flush=True)


def _cell_key(row: dict) -> tuple[str, str, str, str]:
    return row["model"], row["backend"], row["precision"], row["input"]


def _fidelity(output: np.ndarray | None, reference: np.ndarray | None) -> float | str:
    if output is None or reference is None or output.shape != reference.shape:
        return ""
    value = psnr(output, reference)
    return "identical" if math.isinf(value) else round(value, 1)


def _default_forms(loader: Loader, spec, sizes: list[int]) -> dict[int, tuple[str, str, str]]:
    """What a run with every choice on auto picks at each size: (backend, precision, why)."""
    forms = {}
    for side in sizes:
        form = loader.plan(spec, side=side, tune=True)
        forms[side] = (form.backend, form.precision, form.why)
    return forms


def measure_model(loader: Loader, spec, sizes: list[int], repeat: int, done: dict, speed: SpeedBook | None):
    """Every cell of one model: the baseline, then each form x precision x size, with fidelity."""
    rows, outputs = [], {}
    if "torch" in spec.forms and spec.backend != "opencv-dnn":  # OpenCV DNN models: OpenCV DNN is the baseline
        loader.cache.clear()
        for side in sizes:
            row = {"model": spec.id, "backend": BASELINE, "precision": "fp32", "input": f"{side}x{side}"}
            if _cell_key(row) not in done:
                cell, _ = _timings(spandrel_eager(loader, spec), probe_image(side), repeat)
                row.update(cell | {"used precision": "fp32"})
                _progress(row)
            rows.append(done.get(_cell_key(row), row))
    reference = "torch" if "torch" in spec.forms else spec.backend  # whose fp32 output fidelity is measured against
    for backend in spec.forms:
        for precision in PRECISIONS.get(backend, ("fp32",)):
            if precision not in KNOWN_PRECISIONS:
                continue  # int8 before this version has it
            loader.cache.clear()  # one loaded form at a time keeps peak memory honest
            for side in sizes:
                row = {"model": spec.id, "backend": backend, "precision": precision, "input": f"{side}x{side}"}
                if _cell_key(row) in done:
                    rows.append(done[_cell_key(row)])
                    continue
                slow_bf16 = backend == "torch" and precision == "bf16" and not cpu_has_fast_bf16()
                if (spec.id, backend, side) in KNOWN_LIMITS:
                    row["note"] = KNOWN_LIMITS[(spec.id, backend, side)]
                elif slow_bf16 and side > 128:
                    row["note"] = "skipped: this CPU has no AVX-512 BF16 / AMX (bf16 is emulated)"
                else:
                    try:
                        cell, outputs[(backend, precision, side)] = time_form(
                            loader, spec, backend, precision, probe_image(side), repeat
                        )
                        row.update(cell)
                        if speed is not None:
                            seconds = row["median ms"] / 1000
                            output_pixels = (side * spec.scale) ** 2
                            speed.record_timing(
                                spec.id, backend, row["used precision"], output_pixels, seconds, row["device"]
                            )
                    except StudioError as exc:
                        row["note"] = str(exc)
                rows.append(row)
                _progress(row)
    for row in rows:
        side = int(row["input"].split("x")[0])
        if row["backend"] != BASELINE and row["precision"] != "fp32" and "min ms" in row:
            cell = outputs.get((row["backend"], row["precision"], side))
            row["vs fp32 dB"] = _fidelity(cell, outputs.get((reference, "fp32", side)))
    return rows


def tiled_memory(loader: Loader, registry: Registry, model_id: str, side: int = 2048) -> dict:
    image = DecodedImage(rgb=probe_image(512))
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
        "form": f"{row.backend} {row.precision}",
        "seconds": round(seconds, 1),
        "peak RSS added MB": round(probe.added_mb),
    }


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
    wrapper_python: Path | None = None,
) -> str:
    """Measure every cell (writing neural-CLASS.csv as it goes), then the tiled memory run (skipped when
    `tiled_side` is 0); returns the markdown, also written to neural-CLASS.md.

    With `resume`, cells already in the CSV are kept and not measured again. With `speed`, each measured
    cell also feeds the speed book, so the web app's predictions use bench's numbers.
    """
    out.mkdir(parents=True, exist_ok=True)
    loader = Loader(settings)
    machine = loader.machine().kind
    csv_path = out / f"neural-{machine}.csv"
    done = {}
    if resume and csv_path.exists():
        done = {_cell_key(row): row for row in pd.read_csv(csv_path).fillna("").to_dict("records")}
    rows: list[dict] = []
    defaults = {}
    started = time.perf_counter()
    for model_id in model_ids:
        spec = registry.get(model_id)
        defaults[model_id] = _default_forms(loader, spec, sizes)
        rows += measure_model(loader, spec, sizes, repeat, done, speed)
        pd.DataFrame(rows).to_csv(csv_path, index=False)
    loader.cache.clear()
    frame = pd.DataFrame(rows)
    frame.to_csv(csv_path, index=False)
    wrapper = ""
    if wrapper_python is not None:
        cells = wrapper_cells(wrapper_python, model_ids, sizes, repeat)
        wrapper = "\n\n## Default path against the packages' own ncnn wrapper\n\n" + wrapper_summary(
            frame, defaults, cells
        )
    tiled = ""
    if tiled_side > 0:
        memory = pd.DataFrame([tiled_memory(loader, registry, model_ids[0], tiled_side)])
        tiled = f"\n\n## Tiled {tiled_side}x{tiled_side} through x{registry.get(model_ids[0]).scale}\n\n" + markdown(
            memory
        )
    fingerprint = loader.tuner.fingerprint
    runs = f"{repeat} run" + ("s" if repeat > 1 else "")
    versions = ", ".join(f"{package} {version}" for package, version in fingerprint["versions"].items())
    header = (
        f"# Neural backends on CPU: machine class {machine}\n\n"
        f"Machine: {fingerprint['cpu']} ({', '.join(fingerprint['flags'])}), {settings.threads} threads; "
        f"fingerprint {fingerprint_id(fingerprint)} ({versions}). "
        f"Measured {time.strftime('%Y-%m-%d')} with `studio bench` (min and median of {runs} after a warm-up; "
        f"untiled) in {time.perf_counter() - started:.0f} s. **vs fp32 dB**: PSNR of a non-fp32 form's output against "
        "the model's fp32 output (torch fp32 where the model has that form) on the same input.\n\n"
    )
    opencv = opencv_summary(frame)
    text = (
        header
        + markdown(frame)
        + f"\n\n## Default path against spandrel + torch fp32 eager\n\nMachine class: {machine}. The default form "
        + "is what runs when no `--backend` / `--precision` is given, at that input size (auto-tuned when "
        + "STUDIO_AUTOTUNE is on); the baseline is spandrel's model in fp32, NCHW, eager, under "
        + "`torch.inference_mode` (what spandrel-based tools run).\n\n"
        + summary(frame, defaults, machine)
        + (f"\n\n## Converted OpenCV DNN models against OpenCV DNN\n\n{opencv}" if opencv else "")
        + (wrapper or "\n\nAgainst ncnn as the packages ship it: `--wrapper-python PY` (see `packaged-wrapper.md`).")
        + tiled
        + "\n"
    )
    (out / f"neural-{machine}.md").write_text(text, encoding="utf-8")
    return text
