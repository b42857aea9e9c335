"""ModelSpec -> weights -> backend -> Enhancer, through the load-once cache."""

from __future__ import annotations

import importlib
import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studio.core.config import Settings
from studio.core.errors import BackendUnavailableError, UsageError
from studio.core.vocabulary import DEVICES, PRECISIONS
from studio.models.backends import BACKEND_MODULES, BACKEND_RUNTIMES
from studio.models.backends.base import Enhancer, Runtime
from studio.models.backends.devices import machine_class
from studio.models.cache import CacheKey, EnhancerCache, global_cache
from studio.models.options import NcnnOptions, options_for_form
from studio.models.schema import ModelSpec
from studio.models.weights.store import UNAVAILABLE, WeightState, WeightStore


def backend_problem(backend: str) -> str | None:
    """Why a backend cannot run here (None when it can), without importing it."""
    module = BACKEND_MODULES.get(backend)
    if module is None or importlib.util.find_spec(module) is None:
        return f"backend '{backend}' is not implemented in this version"
    runtime = BACKEND_RUNTIMES[backend]
    if importlib.util.find_spec(runtime) is None:
        return f"backend '{backend}' needs the Python package providing '{runtime}'"
    return None


def runtime_for(precision: str | None, device: str | None) -> Runtime:
    """The checked runtime request: None means "auto" (the machine class decides)."""
    runtime = Runtime(precision=precision or "auto", device=device or "auto")
    if runtime.precision not in PRECISIONS:
        raise UsageError(f"unknown precision '{runtime.precision}' (use {', '.join(PRECISIONS)})")
    if runtime.device not in DEVICES and not re.fullmatch(r"cuda:\d+", runtime.device):
        raise UsageError(f"unknown device '{runtime.device}' (use {', '.join(DEVICES)} or cuda:N)")
    return runtime


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

    def load(
        self,
        spec: ModelSpec,
        params: dict[str, Any] | None = None,
        backend: str | None = None,
        precision: str | None = None,
        device: str | None = None,
    ) -> Enhancer:
        """The enhancer for `spec` in the requested form (backend), precision and device, loaded once per process."""
        values = spec.resolve_params(params)
        target = backend or self.default_form(spec)
        if target not in spec.forms:
            raise UsageError(f"'{spec.id}' runs on {' or '.join(spec.forms)}, not {target}")
        runtime = runtime_for(precision, device)
        key = CacheKey(spec.id, target, runtime.device, runtime.precision, tuple(sorted(values.items())))
        return self.cache.get(key, lambda: self._build(spec, target, runtime, values))

    def default_form(self, spec: ModelSpec) -> str:
        """The form `load` runs when none is asked for (asks the machine only when there is a choice)."""
        if len(spec.forms) == 1 or backend_problem("torch"):
            return spec.backend
        return spec.default_form(machine_class(self.settings.machine_class))

    def weights_for(self, spec: ModelSpec, form: str) -> Path | None:
        """The weight file `form` runs from: the entry's own, or converted from its ncnn files once."""
        weights_path = self.store.resolve(spec)
        if form == spec.backend or weights_path is None:
            return weights_path
        from studio.models.convert.ncnn_to_torch import converted_onnx, converted_weights

        options = spec.options
        if not isinstance(options, NcnnOptions) or options.convert is None:
            raise UsageError(f"'{spec.id}' has no {form} form")
        weights_path = converted_weights(spec.id, weights_path, options.convert, self.settings, spec.scale, options.pro)
        return converted_onnx(spec.id, weights_path, self.settings) if form == "onnx" else weights_path

    def _build(self, spec: ModelSpec, target: str, runtime: Runtime, values: dict[str, Any]) -> Enhancer:
        problem = backend_problem(target)
        if problem:
            raise BackendUnavailableError(f"'{spec.id}': {problem}")
        weights_path = self.weights_for(spec, target)
        # A converted form runs with its own backend's options (what carries over: options_for_form).
        runtime_spec = spec.model_copy(update={"backend": target, "options": options_for_form(spec.options, target)})
        try:
            module = importlib.import_module(BACKEND_MODULES[target])
        except ImportError as exc:
            raise BackendUnavailableError(f"'{spec.id}': backend '{target}' failed to import: {exc}") from None
        return module.load(runtime_spec, weights_path, values, self.settings, runtime)
