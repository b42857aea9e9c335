"""Which machine class this is, and the device and precision a network runs with on it.

The class (vocabulary.MACHINE_CLASSES) is detected once per process, or forced with
STUDIO_MACHINE_CLASS so a user or a test can ask for another machine's behaviour: a
forced CPU class also keeps networks off any GPU, so the result is the same on every
machine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from studio.core.errors import UsageError
from studio.core.vocabulary import PRECISIONS, SOFTWARE_VULKAN_DEVICES, VULKAN_DEVICE_TYPES, VULKAN_GPU_TYPES


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


@dataclass(frozen=True)
class VulkanDevice:
    """One Vulkan device as ncnn lists it: its index (what ncnn.Net.set_vulkan_device takes), name and type."""

    index: int
    name: str
    kind: str  # vocabulary.VULKAN_DEVICE_TYPES, or "other" for a code ncnn does not document

    @classmethod
    def from_ncnn(cls, index: int, name: str, type_code: int) -> VulkanDevice:
        known = 0 <= type_code < len(VULKAN_DEVICE_TYPES)
        return cls(index, name, VULKAN_DEVICE_TYPES[type_code] if known else "other")

    @property
    def software(self) -> bool:
        """A rasterizer running on the CPU (Mesa's llvmpipe/lavapipe, SwiftShader): slower than ncnn on the CPU
        itself (5.8 s against 0.25 s measured for one network), whatever type the driver reports."""
        lowered = self.name.lower()
        return self.kind not in VULKAN_GPU_TYPES or any(name in lowered for name in SOFTWARE_VULKAN_DEVICES)

    def why_not(self) -> str:
        """'llvmpipe (LLVM 15.0.6, 256 bits) is a software rasterizer': why this device is no GPU."""
        if any(name in self.name.lower() for name in SOFTWARE_VULKAN_DEVICES) or self.kind == "cpu":
            return f"{self.name} is a software rasterizer"
        return f"{self.name} is a {self.kind} device, not a GPU"


def vulkan_gpu(devices: Sequence[VulkanDevice]) -> VulkanDevice | None:
    """The GPU ncnn should use among `devices`: discrete before integrated before virtual; never a CPU device."""
    gpus = [device for device in devices if not device.software]
    return min(gpus, key=lambda device: (VULKAN_GPU_TYPES.index(device.kind), device.index), default=None)


def no_vulkan_gpu(devices: Sequence[VulkanDevice]) -> str:
    """The one line a refused `--device vulkan` gives: 'no Vulkan GPU here (llvmpipe ... is a software rasterizer)'."""
    if not devices:
        return "no Vulkan GPU here (no Vulkan device found: a GPU driver with Vulkan support is needed)"
    return f"no Vulkan GPU here ({'; '.join(device.why_not() for device in devices)})"


def device_label(device: str, name: str = "") -> str:
    """'vulkan (NVIDIA GeForce RTX 4090)', 'cpu': a device as tables show it."""
    return f"{device} ({name})" if name else device
