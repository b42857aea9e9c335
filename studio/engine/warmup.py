"""Auto-tuning at start-up (STUDIO_TUNE_AT_START): the app tunes the models whose weights are here in the
background, so a visitor's first run does not pay for it.

One model at a time, each under the compute slot (engine/slot.py): a visitor's run waits for at most one
model's tuning (about 10 s of runs), and no run disturbs the timings. Models already tuned on this machine
are skipped, so a restart costs nothing.
"""

from __future__ import annotations

import logging
import threading

from studio.core.errors import StudioError
from studio.engine.slot import compute_slot
from studio.models.loader import Loader, run_state
from studio.models.registry import Registry
from studio.models.weights.store import CACHED, READY

logger = logging.getLogger("studio.autotune")


def models_to_tune(registry: Registry, loader: Loader) -> list[str]:
    """Ids of the models with weights on this machine that tuning decides and that were never tuned here."""
    tuner = loader.tuner
    return [
        spec.id
        for spec in registry
        if tuner.applies(spec) and run_state(spec, loader.store).label in (READY, CACHED) and tuner.record(spec) is None
    ]


def tune_all(registry: Registry, loader: Loader) -> list[str]:
    """Tune every such model, one at a time under the compute slot; returns the ids tuned."""
    done = []
    for model_id in models_to_tune(registry, loader):
        spec = registry.get(model_id)
        try:
            with compute_slot():
                loader.tuner.tune(spec)
        except StudioError as exc:  # one model that cannot load must not stop the others
            logger.warning("auto-tuning %s at start failed: %s", model_id, exc)
            continue
        done.append(model_id)
        logger.info("auto-tuned %s at start", model_id)
    return done


def tune_in_background(registry: Registry, loader: Loader) -> threading.Thread:
    thread = threading.Thread(target=tune_all, args=(registry, loader), name="studio-autotune", daemon=True)
    thread.start()
    return thread
