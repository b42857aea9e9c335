"""ncnn networks on CPU (Vulkan only when a GPU is present) with the official `ncnn` package.

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

A wrong input size can crash ncnn itself, so sizes always follow these rules.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np

from studio.core.config import Settings
from studio.core.errors import EnhanceError, UsageError, WeightsError
from studio.core.tiling import crop_output, padded_size
from studio.models.backends.base import EnhancerInfo, Runtime
from studio.models.backends.devices import fast_bf16, gpu_allowed, machine_class
from studio.models.options import NcnnOptions
from studio.models.schema import ModelSpec


def _gpu_present() -> bool:
    """A Vulkan GPU, asked only when a Vulkan loader exists (ncnn prints errors otherwise)."""
    import ctypes.util

    if ctypes.util.find_library("vulkan") is None:
        return False
    try:
        import ncnn

        return ncnn.get_gpu_count() > 0
    except Exception:
        return False


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
        device = runtime.device
        if device not in ("auto", "cpu", "vulkan"):
            raise UsageError(f"'{spec.id}': ncnn runs on cpu or vulkan, not {device}")
        wants_gpu = device == "vulkan" or (device == "auto" and gpu_allowed(settings.machine_class))
        self._net.opt.use_vulkan_compute = wants_gpu and options.vulkan and _gpu_present()
        if device == "vulkan" and not self._net.opt.use_vulkan_compute:
            raise UsageError(f"'{spec.id}': device 'vulkan' requested but no Vulkan GPU is available")
        self._net.opt.num_threads = settings.threads
        precision = runtime.precision
        if precision == "auto":  # bf16 storage where the CPU has fast bf16 (measured faster there), else exact fp32
            fast = fast_bf16(machine_class(settings.machine_class))
            precision = "bf16" if fast and not self._net.opt.use_vulkan_compute else "fp32"
        if precision not in ("fp32", "bf16"):
            raise UsageError(f"'{spec.id}': ncnn on CPU runs fp32 or bf16 (storage), not {precision}")
        self._net.opt.use_bf16_storage = precision == "bf16"
        if self._net.load_param(str(param_path)) != 0 or self._net.load_model(str(bin_path)) != 0:
            raise WeightsError(f"'{spec.id}': ncnn could not load {param_path.name} / {bin_path.name}")
        self._ncnn = ncnn
        self._input = options.input
        self._output = options.output
        self._prepadding = options.prepadding
        self._pad_mode = options.pad_mode
        self._residual = options.residual
        self._pro = options.pro
        self._lock = threading.Lock() if self._net.opt.use_vulkan_compute else None
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
            device="vulkan" if self._net.opt.use_vulkan_compute else "cpu",
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


def load(
    spec: ModelSpec, weights_path: Path | None, params: dict[str, Any], settings: Settings, runtime: Runtime
) -> NcnnEnhancer:
    """Backend entry point used by the loader; `weights_path` is the .param file."""
    if weights_path is None:
        raise WeightsError(f"'{spec.id}' has no weight file")
    return NcnnEnhancer(spec, weights_path, settings, runtime)
