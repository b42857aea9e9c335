"""The start-up prefetch (STUDIO_PREFETCH; on a Space, the Compare tab's default models): each chosen model's
weights downloaded and the model loaded in the background when the web app starts, so the first visitor's run
finds it ready instead of paying for the download and the load.

One model at a time, in the order given: the weights outside the compute slot (as a run fetches them), the load
inside it (engine/slot.py), through the process's loader, so the model stays in the shared cache and a run of it
later is a cache hit. Progress is kept here for /readyz (service/health.py) and the page, and logged one line per
model. A model that fails is named with its one-line reason and the others go on: the prefetch is over when every
model is loaded or has failed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Sequence

from studio.core.env_values import PREFETCH_DEFAULTS
from studio.core.errors import StudioError, described
from studio.engine.slot import compute_slot
from studio.models.loader import Loader
from studio.models.registry import Registry

logger = logging.getLogger("studio.prefetch")

WAITING, LOADING, LOADED, FAILED = "waiting", "loading", "loaded", "failed"
PREVIEW_SIDE = 512  # the Compare tab's default preview: a tuned model loads the form runs of that size use


def expand(words: Iterable[str], defaults: Sequence[str]) -> tuple[str, ...]:
    """Settings.prefetch with its PREFETCH_DEFAULTS word replaced by `defaults` (the Compare tab's), repeats dropped."""
    ids: list[str] = []
    for word in words:
        ids += list(defaults) if word == PREFETCH_DEFAULTS else [word]
    return tuple(dict.fromkeys(ids))


class Prefetch:
    """Each model's state (waiting, loading, loaded, failed) and a failure's reason; safe to read from any thread."""

    def __init__(self, model_ids: Sequence[str]) -> None:
        self.model_ids = tuple(model_ids)
        self._lock = threading.Lock()
        self._states = dict.fromkeys(self.model_ids, WAITING)
        self._reasons: dict[str, str] = {}
        self.thread: threading.Thread | None = None

    def state(self, model_id: str) -> str:
        with self._lock:
            return self._states[model_id]

    def _with(self, state: str) -> list[str]:
        with self._lock:
            return [model_id for model_id in self.model_ids if self._states[model_id] == state]

    @property
    def loaded(self) -> list[str]:
        return self._with(LOADED)

    @property
    def failed(self) -> dict[str, str]:
        """Failed model ids and why, in order."""
        with self._lock:
            return {
                model_id: self._reasons[model_id] for model_id in self.model_ids if self._states[model_id] == FAILED
            }

    @property
    def done(self) -> bool:
        """Every model loaded or failed."""
        with self._lock:
            return all(state in (LOADED, FAILED) for state in self._states.values())

    def summary(self) -> str:
        """One line: '1 of 3 models loaded: lanczos-x4; loading realesrgan-x4plus; 1 waiting', then any failures."""
        loaded, loading, waiting, failed = self.loaded, self._with(LOADING), self._with(WAITING), self.failed
        parts = [f"{len(loaded)} of {len(self.model_ids)} models loaded" + (f": {', '.join(loaded)}" if loaded else "")]
        if loading:
            parts.append(f"loading {', '.join(loading)}")
        if waiting:
            parts.append(f"{len(waiting)} waiting")
        if failed:
            parts.append("failed: " + "; ".join(f"{model_id} ({reason})" for model_id, reason in failed.items()))
        return "; ".join(parts)

    def _set(self, model_id: str, state: str, reason: str | None = None) -> None:
        with self._lock:
            self._states[model_id] = state
            if reason is not None:
                self._reasons[model_id] = reason

    def run(self, registry: Registry, loader: Loader) -> None:
        """Fetch and load every model in turn (the background thread's work; a test may call it directly)."""
        count = len(self.model_ids)
        for index, model_id in enumerate(self.model_ids, 1):
            self._set(model_id, LOADING)
            logger.info("prefetch %d/%d: loading %s", index, count, model_id)
            started = time.perf_counter()
            try:
                load_one(registry, loader, model_id)
            except StudioError as exc:
                self._set(model_id, FAILED, str(exc))
                logger.warning("prefetch %d/%d: %s failed: %s", index, count, model_id, exc)
                continue
            except Exception as exc:  # a bug in one model's loading must not stop the others, nor go unseen
                self._set(model_id, FAILED, described(exc))
                logger.exception("prefetch %d/%d: %s failed", index, count, model_id)
                continue
            self._set(model_id, LOADED)
            logger.info("prefetch %d/%d: %s loaded in %.1f s", index, count, model_id, time.perf_counter() - started)
        logger.info("prefetch done: %s", self.summary())


def load_one(registry: Registry, loader: Loader, model_id: str) -> None:
    """`model_id`'s weights fetched (outside the compute slot, as a run fetches them), then loaded in the slot."""
    spec = registry.get(model_id)  # an unknown id (a typo in STUDIO_PREFETCH) fails with the closest known ids
    loader.fetch_weights(spec)
    with compute_slot():
        loader.load(spec, spec.resolve_params(), side=PREVIEW_SIDE)


def start_prefetch(
    words: Sequence[str], defaults: Sequence[str], registry: Registry, loader: Loader
) -> Prefetch | None:
    """Start prefetching `words` (Settings.prefetch) in a daemon thread; None when there is nothing to prefetch."""
    model_ids = expand(words, defaults)
    if not model_ids:
        return None
    prefetch = Prefetch(model_ids)
    logger.info("prefetch: %d model(s) to load at start: %s", len(model_ids), ", ".join(model_ids))
    prefetch.thread = threading.Thread(
        target=prefetch.run, args=(registry, loader), name="studio-prefetch", daemon=True
    )
    prefetch.thread.start()
    return prefetch
