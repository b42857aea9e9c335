"""The speed book: measured throughput per model form on this machine, kept across runs.

Every finished comparison records each successful row's output megapixels per second
under its model id, backend and precision, for this machine class and thread count.
Predictions for a new image ask the loader which form would run (`Loader.plan`, the
rule `load` follows) and divide that image's output pixels by the median of the last
few measurements of that form. A form never measured here predicts None, never a guess.

The book is one JSON file under the data directory; a missing or unreadable file is an
empty book (it is a cache of measurements, rebuilt by the next runs).
"""

from __future__ import annotations

import json
import math
import statistics
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from studio.core.files import VersionedJson
from studio.core.vocabulary import FORMS
from studio.engine.results import Results
from studio.models.forms import Form
from studio.models.loader import Loader
from studio.models.registry import Registry

VERSION = 1
SAMPLES = 5  # measurements kept per form: the median of these is its speed


def form_key(model_id: str, backend: str, precision: str, device: str = "cpu") -> str:
    """'id|ncnn|fp32' on the CPU (and for classical filters), 'id|ncnn|fp16|vulkan' on a GPU: kept apart."""
    on_gpu = device not in ("cpu", "")
    return f"{model_id}|{backend}|{precision}" + (f"|{device}" if on_gpu else "")


def model_input_size(width: int, height: int, preview: int | None, degrade_scale: int = 1) -> tuple[int, int]:
    """The size the models see, as inputs.prepare makes it: the preview limit, then a degradation's downscale."""
    if preview and max(width, height) > preview:
        factor = preview / max(width, height)
        width, height = max(1, round(width * factor)), max(1, round(height * factor))
    if degrade_scale > 1:
        width, height = width // degrade_scale, height // degrade_scale  # trimmed to a multiple, then downscaled
    return max(1, width), max(1, height)


def preview_that_fits(
    long_side: int, predicted_s: float, budget_s: float, step: int = 64, low: int = 128
) -> int | None:
    """The largest preview long side (a multiple of `step`, at least `low`) predicted to fit the budget.

    Time grows with the pixel count, so with the side: seconds scale by (side / long_side) squared.
    None when even `low` would not fit.
    """
    side = long_side * math.sqrt(budget_s / predicted_s)
    fitting = int(side // step * step)
    return fitting if fitting >= low else None


@dataclass(frozen=True)
class RunPrediction:
    """Predicted seconds per model for one input size; models never measured here are listed apart."""

    seconds: dict[str, float]  # model id -> predicted seconds, in the order asked
    unmeasured: tuple[str, ...]

    @property
    def total(self) -> float:
        return sum(self.seconds.values())


class SpeedBook:
    """Output megapixels per second per (model, backend, precision) on this machine, persisted as JSON."""

    def __init__(self, path: Path, registry: Registry, loader: Loader) -> None:
        self.path = Path(path)
        self.registry = registry
        self.loader = loader
        self._lock = threading.Lock()
        self._machine: str | None = None
        self._file = VersionedJson(self.path, VERSION)  # re-read only when it changes

    @property
    def machine(self) -> str:
        """The key measurements are filed under: machine class and thread count (both change speed)."""
        if self._machine is None:
            self._machine = f"{self.loader.machine().kind}, {self.loader.settings.threads} threads"
        return self._machine

    # -- reading and writing -------------------------------------------------------------

    def _read(self) -> dict[str, Any]:
        """The book as on disk now (another process may have added to it); empty when missing or unreadable.

        A copy: callers may change it."""
        return json.loads(json.dumps(self._file.read()))

    def entries(self) -> dict[str, dict[str, Any]]:
        """This machine's measurements: form key -> {"mp_s": [...], "updated": ISO time}."""
        with self._lock:
            return dict(self._read()["machines"].get(self.machine, {}))

    # -- recording -----------------------------------------------------------------------

    def record_timing(
        self, model_id: str, backend: str, precision: str, output_pixels: int, seconds: float, device: str = "cpu"
    ) -> None:
        """One measurement: `seconds` to produce `output_pixels` (bench results can be fed in here too)."""
        self.record_many([(model_id, backend, precision, output_pixels, seconds, device)])

    def record_many(self, timings: list[tuple[str, str, str, int, float, str]]) -> None:
        """(model id, backend, precision, output pixels, seconds, device) per measurement."""
        measured = [(form_key(m, b, p, d), px / 1e6 / s) for m, b, p, px, s, d in timings if px > 0 and s > 0]
        if not measured:
            return
        stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
        machine = self.machine

        def change(book: dict[str, Any]) -> None:
            forms = book["machines"].setdefault(machine, {})
            for key, speed in measured:
                entry = forms.setdefault(key, {"mp_s": []})
                entry["mp_s"] = [*entry.get("mp_s", []), round(speed, 4)][-SAMPLES:]
                entry["updated"] = stamp

        with self._lock:
            self._file.update(change)  # under a file lock: replicas sharing the data dir keep each other's

    def record(self, results: Results) -> None:
        """Every successful row of a comparison: its output size over its latency (warm median if repeated)."""
        timings = []
        for row in results.rows:
            if not row.ok or row.output is None or row.latency_ms <= 0:
                continue
            width, height = row.output.size
            timings.append(
                (row.model_id, row.backend, row.precision, width * height, row.latency_ms / 1000, row.device)
            )
        self.record_many(timings)

    # -- predicting ----------------------------------------------------------------------

    def form_for(
        self, model_id: str, backend: str | None = None, precision: str | None = None, device: str | None = None
    ) -> Form:
        """The form a comparison would run (the engine's rule: a backend request applies where it is offered;
        a device request applies to every model, and one that cannot run there raises UsageError)."""
        spec = self.registry.get(model_id)
        backend = backend if backend in spec.forms else None
        neural = (backend or spec.backend) in FORMS
        return self.loader.plan(spec, backend, precision if neural else None, device)

    def speed(
        self, model_id: str, backend: str | None = None, precision: str | None = None, device: str | None = None
    ) -> float | None:
        """Median measured output MP/s of the form that would run, or None when it was never measured here."""
        form = self.form_for(model_id, backend, precision, device)
        key = form_key(model_id, form.backend, form.precision, form.device)
        samples = self.entries().get(key, {}).get("mp_s") or []
        return statistics.median(samples) if samples else None

    def predict_seconds(
        self,
        model_id: str,
        width: int,
        height: int,
        backend: str | None = None,
        precision: str | None = None,
        device: str | None = None,
    ) -> float | None:
        """Seconds to run `model_id` on a width x height input here, from its form's measured speed (None: unknown)."""
        speed = self.speed(model_id, backend, precision, device)
        if speed is None or speed <= 0:
            return None
        scale = self.registry.get(model_id).scale
        return width * scale * height * scale / 1e6 / speed

    def predict_run(
        self,
        model_ids: Sequence[str],
        width: int,
        height: int,
        backend: str | None = None,
        precision: str | None = None,
        device: str | None = None,
    ) -> RunPrediction:
        """`predict_seconds` for each model of a run on one input size."""
        seconds: dict[str, float] = {}
        unmeasured = []
        for model_id in model_ids:
            predicted = self.predict_seconds(model_id, width, height, backend, precision, device)
            if predicted is None:
                unmeasured.append(model_id)
            else:
                seconds[model_id] = predicted
        return RunPrediction(seconds, tuple(unmeasured))
