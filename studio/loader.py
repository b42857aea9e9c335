"""ModelSpec -> weights -> backend -> Enhancer, through the load-once cache."""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from typing import Any

from .backends import BACKEND_MODULES, BACKEND_RUNTIMES
from .backends.base import Enhancer
from .cache import CacheKey, EnhancerCache, global_cache
from .config import Settings
from .errors import BackendUnavailableError
from .registry_schema import ModelSpec
from .weights import UNAVAILABLE, WeightState, WeightStore


def backend_problem(backend: str) -> str | None:
    """Why a backend cannot run here (None when it can), without importing it."""
    module = BACKEND_MODULES.get(backend)
    if module is None or importlib.util.find_spec(module) is None:
        return f"backend '{backend}' is not implemented in this version"
    runtime = BACKEND_RUNTIMES[backend]
    if importlib.util.find_spec(runtime) is None:
        return f"backend '{backend}' needs the Python package providing '{runtime}'"
    return None


def model_state(spec: ModelSpec, store: WeightStore) -> WeightState:
    """ready / cached / not downloaded / unavailable (+ reason), with no network access."""
    problem = backend_problem(spec.backend)
    if problem:
        return WeightState(UNAVAILABLE, problem)
    return store.state(spec)


@dataclass
class Loader:
    """Builds enhancers for specs; every load goes through the shared cache."""

    settings: Settings
    cache: EnhancerCache | None = None

    def __post_init__(self) -> None:
        self.store = WeightStore(self.settings)
        if self.cache is None:
            self.cache = global_cache(self.settings.cache_mb)

    def load(self, spec: ModelSpec, params: dict[str, Any] | None = None) -> Enhancer:
        values = spec.resolve_params(params)
        options = dict(spec.options)
        key = CacheKey(
            spec.id,
            spec.backend,
            str(options.get("device", "cpu")),
            str(options.get("precision", "fp32")),
            tuple(sorted(values.items())),
        )
        return self.cache.get(key, lambda: self._build(spec, values))

    def _build(self, spec: ModelSpec, values: dict[str, Any]) -> Enhancer:
        problem = backend_problem(spec.backend)
        if problem:
            raise BackendUnavailableError(f"'{spec.id}': {problem}")
        weights_path = self.store.resolve(spec)
        try:
            module = importlib.import_module(BACKEND_MODULES[spec.backend])
        except ImportError as exc:
            raise BackendUnavailableError(f"'{spec.id}': backend '{spec.backend}' failed to import: {exc}") from None
        return module.load(spec, weights_path, values, self.settings)
