"""ncnn networks on the CPU, or on a real Vulkan GPU, with the official `ncnn` package.

The registry entry's `options` (NcnnOptions) say how the reference implementations
feed each network (realesrgan-, waifu2x- and realcugan-ncnn-vulkan):
  input / output       blob names
  prepadding           edge-replicated border the network consumes (valid convolutions)
  multiple             the unpadded input is padded up to a multiple of this, then cropped
  pad_mode             "edge" (waifu2x) or "reflect" (Real-CUGAN), as the reference pads
  residual             "nearest": add the nearest-upsampled input after the graph (Real-CUGAN x4)
  pro                  Real-CUGAN pro range: input x*0.7+0.15 before the graph, (y-0.15)/0.7 after
  tileable             False where global pooling makes tiles change the output (Real-CUGAN SE)
  vulkan               False keeps the network off a Vulkan GPU
Precision and device come from the caller (Runtime), not from the registry.

Vulkan devices are listed by a child process (probe_vulkan_devices), so a driver that crashes or hangs
while its instance is made or torn down costs a timeout, not the app; software rasterizers (Mesa's
llvmpipe, which desktop Linux installs with mesa-vulkan-drivers) are never used: ncnn runs about 20x slower
there than on the CPU it emulates a GPU on.

A wrong input size can crash ncnn itself, so sizes always follow these rules.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import glob
import importlib.util
import json
import logging
import subprocess
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from studio.core.config import Settings
from studio.core.errors import EnhanceError, UsageError, WeightsError
from studio.core.tiling import crop_output, padded_size
from studio.models.backends.base import EnhancerInfo, Runtime
from studio.models.backends.devices import (
    VulkanDevice,
    fast_bf16,
    gpu_allowed,
    machine_class,
    no_vulkan_gpu,
    vulkan_gpu,
)
from studio.models.options import NcnnOptions
from studio.models.schema import ModelSpec

logger = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 30.0  # listing takes 0.1-0.2 s with llvmpipe (measured); a driver stuck longer: no GPU
# Kernel device nodes a hardware Vulkan driver on Linux talks to (Mesa's DRM drivers, NVIDIA's, WSL's, Mali's,
# Adreno's): with none of them only a software rasterizer can answer, so nothing is probed.
GPU_DEVICE_NODES = ("/dev/dri/*", "/dev/nvidia[0-9]*", "/dev/dxg", "/dev/mali*", "/dev/kgsl*")
# Run in the child: list (index, name, type code) as JSON, then leave without tearing the instance down.
_PROBE = (
    "import json, os, ncnn\n"
    "infos = [ncnn.get_gpu_info(i) for i in range(ncnn.get_gpu_count())]\n"
    "print(json.dumps([[i, info.device_name(), info.type()] for i, info in enumerate(infos)]), flush=True)\n"
    "os._exit(0)\n"
)


def _gpu_device_node_present() -> bool:
    """Whether a hardware GPU could answer here (always True off Linux, where there is no such test)."""
    if not sys.platform.startswith("linux"):
        return True
    return any(glob.glob(pattern) for pattern in GPU_DEVICE_NODES)


def _vulkan_loader_present() -> bool:
    """A Vulkan loader, looked for as ncnn does (dlopen honours LD_LIBRARY_PATH, which find_library does not)."""
    if ctypes.util.find_library("vulkan") is not None:
        return True
    try:
        ctypes.CDLL("libvulkan.so.1")
    except OSError:
        return False
    return True


@lru_cache(maxsize=1)
def probe_vulkan_devices() -> tuple[VulkanDevice, ...]:
    """Every Vulkan device ncnn sees, software ones included, listed once per process by a child process.

    Empty without ncnn or a Vulkan loader, or when the child fails or takes longer than PROBE_TIMEOUT_S (logged).
    """
    if importlib.util.find_spec("ncnn") is None or not _vulkan_loader_present():
        return ()
    try:
        done = subprocess.run(
            [sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=PROBE_TIMEOUT_S, check=False
        )
        listed = json.loads(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired, ValueError, IndexError) as exc:
        logger.warning("listing Vulkan devices failed (%s): ncnn runs on the CPU", exc)
        return ()
    if listed is None:
        logger.warning("listing Vulkan devices failed (exit %s): ncnn runs on the CPU", done.returncode)
        return ()
    return tuple(VulkanDevice.from_ncnn(int(index), str(name), int(code)) for index, name, code in listed)


def vulkan_devices(asked: bool = False) -> tuple[VulkanDevice, ...]:
    """The devices to choose from: probed when a hardware GPU could be there, or when Vulkan was `asked` for
    (then the refusal can name the software device it found)."""
    if not asked and not _gpu_device_node_present():
        return ()
    return probe_vulkan_devices()


def find_vulkan_gpu() -> VulkanDevice | None:
    """The real Vulkan GPU `auto` may run ncnn on (None: the CPU); software rasterizers never count."""
    return vulkan_gpu(vulkan_devices())


class NcnnEnhancer:
    """One ncnn Net; an extractor per call, so concurrent requests do not share state."""

    def __init__(self, spec: ModelSpec, param_path: Path, settings: Settings, runtime: Runtime):
        import ncnn

        options = spec.options
        if not isinstance(options, NcnnOptions):
            raise UsageError(f"'{spec.id}' is not an ncnn entry")
        bin_path = param_path.with_suffix(".bin")
        if not bin_path.exists():
            raise WeightsError(f"'{spec.id}': {bin_path.name} is missing beside {param_path.name}")
        self._net = ncnn.Net()
        gpu = _chosen_gpu(spec, settings, runtime.device)
        precision = _precision(spec, settings, runtime.precision, gpu)
        net_options = self._net.opt
        net_options.use_vulkan_compute = gpu is not None
        if gpu is not None:
            self._net.set_vulkan_device(gpu.index)
        net_options.num_threads = settings.threads
        # ncnn defaults to fp16 storage and arithmetic wherever the hardware has them (Vulkan GPUs, ARM CPUs):
        # on only when fp16 is what runs, so the label says what the output is accurate to.
        for name in ("use_fp16_packed", "use_fp16_storage", "use_fp16_arithmetic"):
            setattr(net_options, name, precision == "fp16")
        net_options.use_bf16_storage = precision == "bf16"
        if self._net.load_param(str(param_path)) != 0 or self._net.load_model(str(bin_path)) != 0:
            raise WeightsError(f"'{spec.id}': ncnn could not load {param_path.name} / {bin_path.name}")
        self._ncnn = ncnn
        self._input = options.input
        self._output = options.output
        self._prepadding = options.prepadding
        self._pad_mode = options.pad_mode
        self._residual = options.residual
        self._pro = options.pro
        # Our own (locked) pools instead of the net's: the net's keep the largest activations a cached model ever
        # had until the process ends (1.6 GB after one 400x400 Real-CUGAN run); these hand them back after a run.
        self._blobs, self._workspace = ncnn.PoolAllocator(), ncnn.PoolAllocator()
        for pool in (self._blobs, self._workspace):
            pool.set_size_compare_ratio(0.0)  # reuse any free block large enough, as the net's own pools do
        self.info = EnhancerInfo(
            model_id=spec.id,
            task=spec.task,
            scale=spec.scale,
            backend="ncnn",
            device="vulkan" if gpu is not None else "cpu",
            device_name=gpu.name if gpu is not None else "",
            precision=precision,
            tile_multiple=options.multiple,
            min_size=options.min_size,
            tileable=options.tileable,
        )
        self.memory_mb = bin_path.stat().st_size / 2**20 * 2  # fp16 weights unpacked to fp32

    def enhance(self, image: np.ndarray) -> np.ndarray:
        height, width = image.shape[:2]
        pad = self._prepadding
        bottom = pad + padded_size(height, self.info.tile_multiple, self.info.min_size) - height
        right = pad + padded_size(width, self.info.tile_multiple, self.info.min_size) - width
        mode = self._pad_mode if pad < min(height, width) else "edge"  # reflect needs a pad smaller than the side
        padded = np.pad(image, ((pad, bottom), (pad, right), (0, 0)), mode=mode) if pad or bottom or right else image
        planar = np.ascontiguousarray(padded.transpose(2, 0, 1), dtype=np.float32) / np.float32(255.0)
        if self._pro:
            planar = planar * np.float32(0.7) + np.float32(0.15)
        mat_in = self._ncnn.Mat(planar)  # borrows `planar`: keep it alive until extraction is done
        extractor = self._net.create_extractor()
        extractor.set_blob_allocator(self._blobs)
        extractor.set_workspace_allocator(self._workspace)
        extractor.input(self._input, mat_in)
        status, mat_out = extractor.extract(self._output)
        if status != 0:
            raise EnhanceError(f"'{self.info.model_id}': ncnn extraction failed (code {status})")
        result = np.array(mat_out, copy=True).transpose(1, 2, 0)
        del mat_out, extractor, planar  # their blocks go back to the pools
        if self._pro:
            result = (result - np.float32(0.15)) / np.float32(0.7)
        scale = self.info.scale
        if self._residual == "nearest":
            result = result[: height * scale, : width * scale]
            result = result + np.repeat(np.repeat(image, scale, axis=0), scale, axis=1) / np.float32(255.0)
        output = np.clip(result * 255.0, 0, 255).round().astype(np.uint8)
        if output.shape[0] < height * scale or output.shape[1] < width * scale:
            raise EnhanceError(
                f"'{self.info.model_id}': network returned {output.shape[1]}x{output.shape[0]} for a "
                f"{width}x{height} input (check prepadding in the registry)"
            )
        return np.ascontiguousarray(crop_output(output, (height, width), scale))

    def release_memory(self) -> None:
        """Give the pools' idle blocks back to the system once a run is over (blocks a concurrent call is using
        stay: PoolAllocator.clear frees only its free list). The next run allocates afresh."""
        self._blobs.clear()
        self._workspace.clear()


def _chosen_gpu(spec: ModelSpec, settings: Settings, device: str) -> VulkanDevice | None:
    """The GPU this network runs on, None for the CPU; a `vulkan` request that cannot be met is refused."""
    if device not in ("auto", "cpu", "vulkan"):
        raise UsageError(f"'{spec.id}': ncnn runs on cpu or vulkan, not {device}")
    allowed = getattr(spec.options, "vulkan", True)
    if device == "vulkan":
        if not allowed:
            raise UsageError(f"'{spec.id}' is kept off Vulkan GPUs (its registry entry says vulkan: false)")
        devices = vulkan_devices(asked=True)
        gpu = vulkan_gpu(devices)
        if gpu is None:
            raise UsageError(f"'{spec.id}': {no_vulkan_gpu(devices)}")
        return gpu
    if device == "auto" and allowed and gpu_allowed(settings.machine_class):
        return find_vulkan_gpu()
    return None


def _precision(spec: ModelSpec, settings: Settings, requested: str, gpu: VulkanDevice | None) -> str:
    """What runs: auto is fp16 on a GPU (ncnn's own default there), bf16 storage on CPUs with fast bf16
    (measured faster there), else exact fp32; an explicit request the device cannot honour is refused."""
    if gpu is not None:
        if requested == "auto":
            return "fp16"
        if requested not in ("fp32", "fp16"):
            raise UsageError(f"'{spec.id}': ncnn on a Vulkan GPU runs fp32 or fp16, not {requested}")
        return requested
    if requested == "auto":
        return "bf16" if fast_bf16(machine_class(settings.machine_class)) else "fp32"
    if requested not in ("fp32", "bf16"):
        raise UsageError(f"'{spec.id}': ncnn on CPU runs fp32 or bf16 (storage), not {requested}")
    return requested


def load(
    spec: ModelSpec, weights_path: Path | None, params: dict[str, Any], settings: Settings, runtime: Runtime
) -> NcnnEnhancer:
    """Backend entry point used by the loader; `weights_path` is the .param file."""
    if weights_path is None:
        raise WeightsError(f"'{spec.id}' has no weight file")
    return NcnnEnhancer(spec, weights_path, settings, runtime)
