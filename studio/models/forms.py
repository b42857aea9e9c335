"""How a model runs here: its form (backend), device and precision, chosen by one pure rule.

No imports of the backends and no hardware probes (the Loader gathers the Machine facts once), so labels,
speed predictions and the loader agree, and tests can force any machine class.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from studio.core.errors import UsageError
from studio.core.vocabulary import DEVICES, PRECISIONS
from studio.models.backends.base import Runtime
from studio.models.backends.devices import choose_precision, device_label, fast_bf16
from studio.models.schema import ModelSpec


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
    vulkan: bool = False  # ncnn may use a Vulkan GPU: a real one (no software rasterizer) is here, GPUs allowed
    vulkan_name: str = ""  # that GPU's name, for labels ("ncnn fp16 vulkan (NVIDIA GeForce RTX 4090)")
    onnx_cuda: bool = False  # ONNX Runtime has its CUDA provider (onnxruntime-gpu)


@dataclass(frozen=True)
class Form:
    """How a model runs: its backend (form), device and precision, as the enhancer will report them."""

    backend: str
    device: str = "cpu"
    precision: str = "fp32"
    why: str = ""  # how auto-tuning chose it ("auto-tuned: 1.6x faster than ncnn bf16 at 256 px"); "" untuned
    fidelity_db: float | None = None  # PSNR of its output against fp32 where measured (None: fp32 or unknown)
    device_name: str = ""  # the Vulkan GPU's name where known, so a label says which device runs it

    def describe(self) -> str:
        """'classical', 'ncnn fp32', 'torch bf16', 'torch fp16 cuda', 'ncnn fp16 vulkan (NVIDIA ...)': what a
        label or table shows."""
        if self.backend == "classical":
            return "classical"
        device = "" if self.device == "cpu" else f" {device_label(self.device, self.device_name)}"
        return f"{self.backend} {self.precision}{device}"


# Where each form runs besides the CPU. A device request runs a model's form that runs there, and is refused
# in one line for a model with none (not left to the backend's own error).
GPU_FORMS = {"cuda": ("torch", "onnx"), "vulkan": ("ncnn",)}


def form_on_device(spec: ModelSpec, form: str, device: str, asked: bool = False) -> str:
    """`form`, or when it cannot run on `device` another form of `spec` that can (unless the form was `asked`
    for); UsageError when there is none."""
    kind = device.split(":")[0]
    if kind not in GPU_FORMS or form in GPU_FORMS[kind]:
        return form
    other = next((f for f in spec.forms if f in GPU_FORMS[kind]), None)
    if other is not None and not asked:
        return other
    if form == "classical":
        raise UsageError(f"'{spec.id}' is a classical filter: it runs on the CPU, not on {device}")
    places = " or ".join(["cpu", *(gpu for gpu, forms in GPU_FORMS.items() if form in forms)])
    hint = f" (its {other} form does)" if other else ""
    raise UsageError(f"'{spec.id}' as {form} runs on {places}, not on {device}{hint}")


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
    an explicit request is returned as asked and checked by the backend when it loads, except a device
    no form of the model runs on (form_on_device: refused here, in one line). One case is
    decided only at load time: torch on a CUDA GPU runs fp32 where the architecture has no fp16.
    """
    runtime = runtime_for(precision, device)
    if runtime.precision == "int8":
        return _int8_form(spec, backend, runtime)
    form = backend or (
        spec.backend if len(spec.forms) == 1 or not machine.torch_ok else spec.default_form(machine.kind)
    )
    form = form_on_device(spec, form, runtime.device, asked=backend is not None)
    if form == "classical":
        return Form("classical")
    if form == "opencv-dnn" and backend is None and runtime.precision not in ("auto", "fp32") and machine.torch_ok:
        form = "torch"  # OpenCV DNN runs fp32 only: a precision asked of such a model runs its converted network
    if form == "opencv-dnn":
        return Form("opencv-dnn", runtime.device if runtime.device != "auto" else "cpu", _explicit(runtime, "fp32"))
    if form == "ncnn":
        if runtime.device == "auto":
            chosen = "vulkan" if machine.vulkan and getattr(spec.options, "vulkan", True) else "cpu"
        else:
            chosen = runtime.device
        if chosen == "vulkan":  # ncnn's own default on a GPU: fp16 storage and arithmetic
            return Form("ncnn", chosen, _explicit(runtime, "fp16"), device_name=machine.vulkan_name)
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


def _int8_form(spec: ModelSpec, backend: str | None, runtime: Runtime) -> Form:
    """int8 is the ONNX form quantized (models/convert/quantize.py), on the CPU, whatever the default form."""
    if "onnx" not in spec.forms:
        forms = " or ".join(spec.forms)
        raise UsageError(f"'{spec.id}' has no ONNX form, so no int8 (int8 quantizes the ONNX form; it runs on {forms})")
    if backend not in (None, "onnx"):
        raise UsageError(f"'{spec.id}': {backend} has no int8; int8 runs the ONNX form (backend onnx or auto)")
    if runtime.device not in ("auto", "cpu"):
        raise UsageError(f"'{spec.id}': int8 runs on the CPU, not {runtime.device}")
    return Form("onnx", "cpu", "int8")
