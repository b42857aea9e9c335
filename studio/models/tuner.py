"""The loader's auto-tuner: runs models/autotune.py's measurements on real forms and keeps the decisions.

A model is tuned the first time it runs with every choice left to auto (or ahead of time with `studio
tune`), once per machine fingerprint and registry entry; later runs read the tuning book. Tuning is off
with STUDIO_AUTOTUNE=0 (then options.fastest decides, as before) and on CUDA machines (the GPU rule
stands). Models with one candidate form are never tuned.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cached_property
from typing import TYPE_CHECKING, Any

from studio.core.vocabulary import PRECISIONS
from studio.models import autotune
from studio.models.autotune import BUCKETS, Candidate, probe_image
from studio.models.cache import CacheKey
from studio.models.fingerprint import fingerprint_id, machine_fingerprint
from studio.models.schema import ModelSpec
from studio.models.tuning_book import FILE_NAME, TuningBook, entry_hash

if TYPE_CHECKING:
    from studio.models.loader import Loader


@dataclass(frozen=True)
class TunedForm:
    """What tuning chose for one size bucket, why, and how close its output is to fp32 (None: identical)."""

    candidate: Candidate
    why: str
    fidelity_db: float | None


class Tuner:
    def __init__(self, loader: Loader) -> None:
        self.loader = loader
        self.book = TuningBook(loader.settings.data_dir / FILE_NAME)
        self._guard = threading.Lock()
        self._model_locks: dict[str, threading.Lock] = {}

    @cached_property
    def fingerprint(self) -> dict[str, Any]:
        return machine_fingerprint(self.loader.machine().kind, self.loader.settings.threads)

    @cached_property
    def machine_id(self) -> str:
        return fingerprint_id(self.fingerprint)

    @property
    def floor_db(self) -> float:
        return self.loader.settings.min_fidelity_db

    def candidates(self, spec: ModelSpec) -> list[Candidate]:
        machine = self.loader.machine()
        forms = spec.forms if machine.torch_ok else [spec.backend]
        int8 = "int8" in PRECISIONS and self.floor_db < autotune.DEFAULT_FLOOR_DB
        return autotune.candidates(forms, machine.kind, machine.vulkan, int8)

    def applies(self, spec: ModelSpec) -> bool:
        """Whether `spec`'s default form is decided by tuning here."""
        settings = self.loader.settings
        return settings.autotune and self.loader.machine().kind != "cuda" and len(self.candidates(spec)) > 1

    def record(self, spec: ModelSpec) -> dict[str, Any] | None:
        """The book's record for `spec` on this machine, or None."""
        return self.book.record(self.machine_id, spec.id, entry_hash(spec.model_dump(mode="json")))

    def choice(self, spec: ModelSpec, side: int | None, tune: bool) -> TunedForm | None:
        """The tuned form for an input of long side `side`; tunes first when `tune` and it never was."""
        record = self.record(spec) or (self.tune(spec) if tune else None)
        if record is None:
            return None
        decision = record["decisions"].get(autotune.bucket_for(side).name)
        if decision is None:
            return None
        key = decision["choice"]
        return TunedForm(Candidate.from_key(key), decision["why"], record["fidelity_db"].get(key))

    def tune(self, spec: ModelSpec, force: bool = False) -> dict[str, Any]:
        """Measure `spec`'s candidates and store the decisions (one tuning per model at a time)."""
        with self._guard:
            lock = self._model_locks.setdefault(spec.id, threading.Lock())
        with lock:
            known = None if force else self.record(spec)
            if known is not None:
                return known
            return self._tune(spec)

    def _tune(self, spec: ModelSpec) -> dict[str, Any]:
        from studio.models.forms import choose_form

        found = self.candidates(spec)
        untuned = choose_form(spec, self.loader.machine())
        fallback = Candidate(untuned.backend, untuned.precision, untuned.device)
        self.loader.fetch_weights(spec)
        probes = {bucket.name: probe_image(bucket.probe) for bucket in BUCKETS}
        measured = autotune.measure(
            found, lambda candidate: self._enhance_function(spec, candidate), probes, budget_s=autotune.BUDGET_S
        )
        decisions = autotune.decide(measured, fallback, self.floor_db)
        record = {
            "entry": entry_hash(spec.model_dump(mode="json")),
            "tuned_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "floor_db": self.floor_db,
            "untuned": fallback.key,
            "decisions": decisions,
        } | measured
        self.book.store(self.machine_id, self.fingerprint, spec.id, record)
        kept = {decision["choice"] for decision in decisions.values()}
        self.loader.cache.discard(
            [self._cache_key(spec, c) for c in found if c.key not in kept]  # the losers leave memory
        )
        return record

    def _enhance_function(self, spec: ModelSpec, candidate: Candidate) -> autotune.Enhance:
        """Load one candidate form (explicit requests: loading it never starts another tuning)."""
        enhancer = self.loader.load(
            spec, backend=candidate.backend, precision=candidate.precision, device=candidate.device
        )
        return enhancer.enhance

    def _cache_key(self, spec: ModelSpec, candidate: Candidate) -> CacheKey:
        values = tuple(sorted(spec.resolve_params().items()))
        return CacheKey(spec.id, candidate.backend, candidate.device, candidate.precision, values)

    def fidelity(self, spec: ModelSpec, backend: str, precision: str, device: str = "cpu") -> float | None:
        """The recorded PSNR of this form against fp32 (None: identical, or not measured here)."""
        record = self.record(spec)
        if record is None:
            return None
        return record["fidelity_db"].get(Candidate(backend, precision, device).key)

    def realtime_fps(self, spec: ModelSpec) -> float | None:
        """Frames per second measured by `studio tune` at the webcam's working size, None when not measured."""
        found = self.book.machine(self.machine_id).get("realtime", {}).get(spec.id)
        return found.get("fps") if isinstance(found, dict) else None

    def store_realtime(self, spec: ModelSpec, fps: float, size: tuple[int, int]) -> None:
        """Record a model's live frame rate (see video/live.py: measured where the webcam runs it)."""
        record = {"fps": round(fps, 1), "input": f"{size[0]}x{size[1]}", "measured_at": time.strftime("%Y-%m-%d")}
        self.book.store(self.machine_id, self.fingerprint, spec.id, record, section="realtime")
