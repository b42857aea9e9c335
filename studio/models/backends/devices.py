"""Which device and precision a network should run with on this machine."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from studio.core.errors import UsageError

PRECISIONS = ("auto", "fp32", "fp16", "bf16")


@lru_cache(maxsize=1)
def cpu_has_fast_bf16() -> bool:
    """AVX-512 BF16 or AMX: where torch bf16 autocast beats fp32 (about 2x on this machine)."""
    try:
        flags = Path("/proc/cpuinfo").read_text(errors="ignore")
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


@lru_cache(maxsize=1)
def machine_class() -> str:
    """registry_schema.MACHINE_CLASSES: what a model's fastest form (`options.fastest`) depends on."""
    if cuda_available():
        return "cuda"
    return "cpu-bf16" if cpu_has_fast_bf16() else "cpu"


def choose_device(requested: str = "auto") -> str:
    if requested == "auto":
        return "cuda" if cuda_available() else "cpu"
    if requested.startswith("cuda") and not cuda_available():
        raise UsageError(f"device '{requested}' requested but no CUDA GPU is available")
    return requested


def choose_precision(requested: str, device: str, supports_half: bool, supports_bf16: bool) -> str:
    """fp16 on GPUs, bf16 on CPUs that have it, otherwise fp32; explicit requests are checked."""
    if requested not in PRECISIONS:
        raise UsageError(f"unknown precision '{requested}' (use {', '.join(PRECISIONS)})")
    if requested == "auto":
        if device.startswith("cuda") and supports_half:
            return "fp16"
        if device == "cpu" and supports_bf16 and cpu_has_fast_bf16():
            return "bf16"
        return "fp32"
    if requested == "fp16" and (device == "cpu" or not supports_half):
        raise UsageError("fp16 needs a CUDA device and a model that supports half precision")
    if requested == "bf16" and not supports_bf16:
        raise UsageError("this model does not support bf16")
    return requested
