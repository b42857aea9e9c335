"""Liveness and readiness: what /healthz and /readyz answer.

Liveness only says the process serves HTTP (no disk, database or model work), so an orchestrator
restarts a hung server and nothing else. Readiness checks what a user's request needs: models that
can run here, a ratings database that takes a write now, free disk in the data directory and, when the
app prefetches models at start (engine/prefetch.py), that every one of them is loaded or has failed.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from studio.core.errors import described
from studio.models.loader import model_state
from studio.models.weights.store import CACHED, READY
from studio.services import Services


@dataclass
class Readiness:
    """`ready` with each check's one-line result; `reason` names the first check that failed."""

    ready: bool = True
    checks: dict[str, str] = field(default_factory=dict)
    reason: str | None = None

    def record(self, name: str, ok: bool, text: str) -> None:
        self.checks[name] = text
        if not ok and self.ready:
            self.ready, self.reason = False, f"{name}: {text}"

    def as_json(self) -> dict[str, object]:
        body: dict[str, object] = {"status": "ready" if self.ready else "not ready", "checks": self.checks}
        if self.reason:
            body["reason"] = self.reason
        return body


def _existing_parent(path: Path) -> Path:
    """`path`, or the nearest folder above it that exists (a data dir not made yet is on that disk)."""
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path(path.anchor or ".")


def check_models(services: Services, result: Readiness) -> None:
    states = [model_state(spec, services.loader.store).label for spec in services.registry]
    runnable = sum(state in (READY, CACHED) for state in states)
    result.record("models", runnable > 0, f"{runnable} of {len(states)} models can run here without a download")


def check_database(services: Services, result: Readiness) -> None:
    try:
        services.ratings.check_writable()
    except Exception as exc:  # any failure (a read-only disk, a lost server, a bad path) means not ready
        result.record("database", False, f"not writable: {described(exc)}")
    else:
        result.record("database", True, "writable")


def check_disk(services: Services, result: Readiness) -> None:
    settings = services.settings
    try:
        free_mb = shutil.disk_usage(_existing_parent(settings.data_dir)).free // 2**20
    except OSError as exc:
        result.record("disk", False, f"cannot read free space of {settings.data_dir}: {described(exc)}")
        return
    ok = free_mb >= settings.min_free_mb
    relation = "at least" if ok else "under"
    result.record(
        "disk", ok, f"{free_mb} MB free in the data dir ({relation} STUDIO_MIN_FREE_MB={settings.min_free_mb})"
    )


def check_prefetch(services: Services, result: Readiness) -> None:
    """Not ready while the start-up prefetch still has models to load; then ready, a failed model named with its
    reason (the other models serve, and the `models` check says whether any can run)."""
    prefetch = services.prefetch
    if prefetch is not None:
        result.record("prefetch", prefetch.done, prefetch.summary())


def readiness(services: Services) -> Readiness:
    """Every check, in order (models, database, disk, then prefetch when the app prefetches); all run so the answer
    lists each result."""
    result = Readiness()
    for check in (check_models, check_database, check_disk, check_prefetch):
        check(services, result)
    return result
