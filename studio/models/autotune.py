"""Auto-tuning: time a model's forms once per machine on small probes, and keep the fastest faithful one.

Which form is fastest depends on the CPU and on the input size (measured: ncnn bf16 wins at 512 px on an
AVX-512 BF16 CPU, torch bf16 at 128-256 px), so a table written on one machine is wrong on another. Here
every candidate form (backend x precision [x device]) runs on a probe photo per size bucket, and the
fastest one whose output stays within the fidelity floor (PSNR against the model's fp32 output, 50 dB
unless STUDIO_MIN_FIDELITY_DB says otherwise) becomes the default for inputs of that size.

This module is pure apart from the clock and the `run` callable it is given: the tuner (models/tuner.py)
runs real models through the loader, tests give fake timings. Tuning is bounded by a budget per model:
the smallest bucket is always measured; a larger bucket the budget does not reach inherits the decision
of the largest one measured, and says so.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from studio.core.errors import StudioError
from studio.core.psnr import psnr

DEFAULT_FLOOR_DB = 50.0  # a default form's output must be at least this close to fp32 (issue #14)
BUDGET_S = 10.0  # running time per model (loading and one-off conversions apart); the first bucket is finished
REPEATS = 2  # timed runs per candidate and probe after the warm-up (fewer when the budget runs short)
PRUNE_RATIO = 3.0  # a candidate this much slower than the best at one probe is not timed at larger ones


@dataclass(frozen=True)
class Bucket:
    """Inputs whose long side is at most `up_to` px (None: any larger, run in tiles), timed at `probe` px."""

    name: str
    up_to: int | None
    probe: int


BUCKETS = (Bucket("<=192 px", 192, 128), Bucket("<=384 px", 384, 256), Bucket("larger", None, 384))


def probe_image(side: int) -> np.ndarray:
    """A real photo (scikit-image's astronaut), square, `side` px: the one probe every speed and fidelity
    measurement uses (tuning, `studio bench`, int8's stored fidelity), the same on every machine."""
    import cv2
    from skimage import data

    return cv2.resize(data.astronaut(), (side, side), interpolation=cv2.INTER_AREA)


def bucket_for(side: int | None) -> Bucket:
    """The bucket of an input with this long side; unknown sizes (a label, a prediction) use the middle one."""
    if side is None:
        return BUCKETS[1]
    return next(b for b in BUCKETS if b.up_to is None or side <= b.up_to)


@dataclass(frozen=True)
class Candidate:
    """One way to run a model: backend (form), precision and device."""

    backend: str
    precision: str
    device: str = "cpu"

    @property
    def key(self) -> str:
        """'torch bf16', 'ncnn fp32 vulkan': how tables and the tuning book name it."""
        return f"{self.backend} {self.precision}" + ("" if self.device == "cpu" else f" {self.device}")

    @classmethod
    def from_key(cls, key: str) -> Candidate:
        backend, precision, *device = key.split()
        return cls(backend, precision, device[0] if device else "cpu")


def candidates(forms: Sequence[str], machine_kind: str, vulkan: bool = False, int8: bool = False) -> list[Candidate]:
    """The forms worth timing on this machine: fp32 everywhere, bf16 where it is not emulated (torch's
    bf16 on a CPU without AVX-512 BF16 runs 10x slower; ncnn's bf16 storage pays off on any CPU), int8 only
    when the fidelity floor admits it, ncnn on Vulkan only where a real GPU is present."""
    found: list[Candidate] = []
    for form in forms:
        if form == "ncnn":
            found += [Candidate("ncnn", "fp32"), Candidate("ncnn", "bf16")]
            if vulkan:
                found.append(Candidate("ncnn", "fp16", "vulkan"))  # what ncnn runs on a GPU (auto)
        elif form == "torch":
            found.append(Candidate("torch", "fp32"))
            if machine_kind == "cpu-bf16":
                found.append(Candidate("torch", "bf16"))
        elif form == "onnx":
            found.append(Candidate("onnx", "fp32"))
            if int8:
                found.append(Candidate("onnx", "int8"))
        else:
            found.append(Candidate(form, "fp32"))
    return found


def reference_candidate(found: Sequence[Candidate]) -> Candidate:
    """Whose output is "the model's fp32 output": torch fp32 where there is one (the converted network as
    written), else the first fp32 form."""
    fp32 = [c for c in found if c.precision == "fp32" and c.device == "cpu"]
    return next((c for c in fp32 if c.backend == "torch"), fp32[0] if fp32 else found[0])


Enhance = Callable[[np.ndarray], np.ndarray]
Load = Callable[[Candidate], Enhance]  # loads a form (not timed, not counted in the budget)


def measure(
    found: Sequence[Candidate],
    load: Load,
    probes: dict[str, np.ndarray],
    budget_s: float = BUDGET_S,
    clock: Callable[[], float] = time.perf_counter,
) -> dict[str, Any]:
    """Time every candidate on each bucket's probe (smallest first) and measure its fidelity on the first.

    Returns {"ms": {bucket: {key: min ms}}, "fidelity_db": {key: dB or None (identical)}, "failed": {key:
    message}, "skipped": [buckets the budget did not reach], "seconds": running time, "load_seconds"}. A
    candidate that fails is left out with its one-line reason (a backend missing here, a model it cannot run).
    """
    loading = 0.0
    started = clock()
    reference = reference_candidate(found)
    enhancers: dict[str, Enhance] = {}
    ms: dict[str, dict[str, float]] = {}
    failed: dict[str, str] = {}
    outputs: dict[str, np.ndarray] = {}
    skipped: list[str] = []
    order = list(found)
    projected = 0.0  # seconds the next bucket should take: the last one's, scaled by pixels and candidates
    for index, bucket in enumerate(BUCKETS):
        if index > 0 and clock() - started - loading + projected > budget_s:
            skipped.append(bucket.name)
            continue
        image = probes[bucket.name]
        timings: dict[str, float] = {}
        bucket_started, bucket_loading = clock(), loading
        for candidate in order:
            if candidate.key in failed:
                continue
            try:
                if candidate.key not in enhancers:
                    begun = clock()
                    enhancers[candidate.key] = load(candidate)
                    loading += clock() - begun
                run = enhancers[candidate.key]
                begun = clock()
                output = run(image)  # warm-up: first-call allocations, lazy kernels, this size's primitives
                best = warm_up = (clock() - begun) * 1000
                leader = min(timings.values(), default=math.inf)
                for repeat in range(REPEATS):
                    if warm_up > leader * PRUNE_RATIO or (repeat and clock() - started - loading > budget_s):
                        break  # out of reach even counting its warm-up, or out of time
                    begun = clock()
                    run(image)
                    best = min(best, (clock() - begun) * 1000)
            except StudioError as exc:
                failed[candidate.key] = str(exc)
                continue
            timings[candidate.key] = round(best, 2)
            if index == 0:
                outputs[candidate.key] = output
        ms[bucket.name] = timings
        if timings:  # the next probe times only the candidates within reach of this one's best
            fastest = min(timings.values())
            timed = len(order)
            order = [c for c in order if timings.get(c.key, math.inf) <= fastest * PRUNE_RATIO]
            if index + 1 < len(BUCKETS):
                spent = clock() - bucket_started - (loading - bucket_loading)
                growth = (BUCKETS[index + 1].probe / bucket.probe) ** 2 * len(order) / max(1, timed)
                projected = spent * growth
    fidelity: dict[str, float | None] = {}
    if reference.key in outputs:
        for key, output in outputs.items():
            value = psnr(output, outputs[reference.key]) if output.shape == outputs[reference.key].shape else 0.0
            fidelity[key] = None if math.isinf(value) else round(value, 2)
    return {
        "ms": ms,
        "fidelity_db": fidelity,
        "failed": failed,
        "skipped": skipped,
        "reference": reference.key,
        "seconds": round(clock() - started - loading, 2),
        "load_seconds": round(loading, 2),
    }


def faithful(key: str, fidelity: dict[str, float | None], floor_db: float) -> bool:
    """Whether a form may be a default: its output within `floor_db` of fp32 (None: identical to it)."""
    if key not in fidelity:
        return False  # never compared with the fp32 output (the reference failed): not trusted
    value = fidelity[key]
    return value is None or value >= floor_db


def decide(measured: dict[str, Any], fallback: Candidate, floor_db: float = DEFAULT_FLOOR_DB) -> dict[str, Any]:
    """Per bucket, the fastest faithful candidate and why: {bucket: {"choice": key, "why": text}}.

    `fallback` is what runs untuned (options.fastest): the reason compares the winner with it, so a user
    reads what tuning gained ("torch bf16 (auto-tuned: 1.6x faster than ncnn bf16 here)").
    """
    decisions: dict[str, dict[str, Any]] = {}
    last: dict[str, Any] | None = None
    for bucket in BUCKETS:
        timings = measured["ms"].get(bucket.name)
        if not timings:
            if last is not None:
                decisions[bucket.name] = last | {"why": last["why"] + f"; {bucket.name} not probed (budget)"}
            continue
        eligible = {k: v for k, v in timings.items() if faithful(k, measured["fidelity_db"], floor_db)}
        if not eligible:
            continue
        choice = min(eligible, key=eligible.get)
        decisions[bucket.name] = last = {"choice": choice, "why": _why(choice, eligible, fallback, bucket)}
    return decisions


def _why(choice: str, eligible: dict[str, float], fallback: Candidate, bucket: Bucket) -> str:
    probe = f"at {bucket.probe} px"
    others = {k: v for k, v in eligible.items() if k != choice}
    if not others:
        return f"auto-tuned: the only faithful form {probe}"
    against = fallback.key if fallback.key in others else min(others, key=others.get)
    ratio = others[against] / eligible[choice] if eligible[choice] > 0 else math.inf
    return f"auto-tuned: {ratio:.1f}x faster than {against} {probe}"
