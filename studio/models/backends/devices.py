"""Which machine class this is, and the device and precision a network runs with on it.

The class (vocabulary.MACHINE_CLASSES) is detected once per process, or forced with
STUDIO_MACHINE_CLASS so a user or a test can ask for another machine's behaviour: a
forced CPU class also keeps networks off any GPU, so the result is the same on every
machine.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from studio.core.errors import UsageError
from studio.core.vocabulary import PRECISIONS


@lru_cache(maxsize=1)
def cpu_has_fast_bf16() -> bool:
    """AVX-512 BF16 or AMX in /proc/cpuinfo: where bf16 storage and autocast pay off."""
    try:
        flags = Path("/proc/cpuinfo").read_text(errors="ignore")
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


@lru_cache(maxsize=1)
def detected_machine_class() -> str:
    """cuda when torch sees a CUDA GPU, else cpu-bf16 or cpu from the CPU's flags (asked once)."""
    if cuda_available():
        return "cuda"
    return "cpu-bf16" if cpu_has_fast_bf16() else "cpu"


def machine_class(forced: str = "auto") -> str:
    """The class that decides defaults: `forced` (STUDIO_MACHINE_CLASS) unless it is 'auto'."""
    return detected_machine_class() if forced == "auto" else forced


def gpu_allowed(forced: str) -> bool:
    """False when the class is forced to a CPU class: then nothing runs on a GPU by default."""
    return forced in ("auto", "cuda")


def fast_bf16(machine: str) -> bool:
    """Whether `auto` precision picks bf16 on a CPU of this class."""
    return machine == "cpu-bf16"


def choose_device(requested: str, machine: str) -> str:
    """'auto' is the GPU on a cuda machine, else the CPU; an explicit request is checked."""
    if requested == "auto":
        requested = "cuda" if machine == "cuda" else "cpu"
    if requested.startswith("cuda") and not cuda_available():
        raise UsageError(f"device '{requested}' requested (or STUDIO_MACHINE_CLASS=cuda) but no CUDA GPU is available")
    return requested


def choose_precision(requested: str, device: str, supports_half: bool, supports_bf16: bool, machine: str) -> str:
    """fp16 on GPUs, bf16 on fast-bf16 CPUs, otherwise fp32; explicit requests are checked."""
    if requested not in PRECISIONS:
        raise UsageError(f"unknown precision '{requested}' (use {', '.join(PRECISIONS)})")
    if requested == "auto":
        if device.startswith("cuda") and supports_half:
            return "fp16"
        if device == "cpu" and supports_bf16 and fast_bf16(machine):
            return "bf16"
        return "fp32"
    if requested == "fp16" and (device == "cpu" or not supports_half):
        raise UsageError("fp16 needs a CUDA device and a model that supports half precision")
    if requested == "bf16" and not supports_bf16:
        raise UsageError("this model does not support bf16")
    return requested
