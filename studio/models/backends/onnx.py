"""ONNX Runtime sessions for .onnx image-to-image models (NCHW float32 in [0, 1]).

CUDA / TensorRT providers are requested only when the runtime offers them and a
GPU is present; asking without CUDA libraries logs errors and falls back.
int8 runs the model quantized by models/convert/quantize.py (made once, cached) on
the CPU, whose int8 kernels the quantization recipe targets.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from studio.core.config import Settings
from studio.core.errors import EnhanceError, UsageError, WeightsError
from studio.core.tiling import crop_output, pad_to
from studio.models.backends.base import EnhancerInfo, Runtime
from studio.models.backends.devices import choose_device, machine_class
from studio.models.options import OnnxOptions
from studio.models.schema import ModelSpec

GPU_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider")


def _providers(ort: Any, device: str) -> list[str]:
    """CPU only, unless the device is CUDA and the runtime offers a GPU provider."""
    if device == "cpu":
        return ["CPUExecutionProvider"]
    gpu = [p for p in GPU_PROVIDERS if p in ort.get_available_providers()]
    if not gpu:
        raise UsageError("device 'cuda' needs onnxruntime-gpu (pip install onnxruntime-gpu in place of onnxruntime)")
    return [*gpu, "CPUExecutionProvider"]


class OnnxEnhancer:
    def __init__(self, spec: ModelSpec, path: Path, settings: Settings, runtime: Runtime):
        import onnxruntime as ort

        if not isinstance(spec.options, OnnxOptions):
            raise UsageError(f"'{spec.id}' has no ONNX options")
        if runtime.precision not in ("auto", "fp32", "int8"):
            raise UsageError(f"'{spec.id}': the ONNX form runs fp32 or int8, not {runtime.precision}")
        requested = runtime.device
        if requested not in ("auto", "cpu", "cuda"):
            raise UsageError(f"'{spec.id}': ONNX Runtime runs on cpu or cuda, not {requested}")
        int8 = runtime.precision == "int8"
        if int8 and requested == "cuda":
            raise UsageError(f"'{spec.id}': int8 runs on the CPU, not cuda (use fp32 there)")
        self._multiple, self._min_size = spec.options.tile_multiple, spec.options.min_size
        fidelity_db = None
        if int8:
            from studio.models.convert.quantize import quantized_onnx

            quantized = quantized_onnx(spec.id, path, settings, lambda image: self._batch(image)[0])
            path, fidelity_db, requested = quantized.path, quantized.fidelity_db, "cpu"
        machine = machine_class(settings.machine_class)
        if requested == "auto" and "CUDAExecutionProvider" not in ort.get_available_providers():
            requested = "cpu"
        device = choose_device(requested, machine)
        options = ort.SessionOptions()
        options.intra_op_num_threads = settings.threads
        options.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(str(path), sess_options=options, providers=_providers(ort, device))
        except Exception as exc:
            raise WeightsError(f"cannot load ONNX model {path.name}: {str(exc).splitlines()[0][:200]}") from None
        self._input = self._session.get_inputs()[0].name
        provider = self._session.get_providers()[0]
        self.info = EnhancerInfo(
            model_id=spec.id,
            task=spec.task,
            scale=spec.scale,
            backend="onnx",
            device="cuda" if provider != "CPUExecutionProvider" else "cpu",
            precision="int8" if int8 else "fp32",
            tile_multiple=spec.options.tile_multiple,
            min_size=spec.options.min_size,
            tileable=spec.options.tileable,
            fidelity_db=fidelity_db,
        )
        self.memory_mb = path.stat().st_size / 2**20

    def _batch(self, image: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
        """The network's input for an HxWx3 uint8 image (padded to its size rules), and the image's size."""
        padded, original = pad_to(image, self._multiple, self._min_size)
        return np.ascontiguousarray((padded.astype(np.float32) / 255.0).transpose(2, 0, 1)[None]), original

    def enhance(self, image: np.ndarray) -> np.ndarray:
        batch, original = self._batch(image)
        try:
            (result, *_) = self._session.run(None, {self._input: batch})
        except Exception as exc:
            raise EnhanceError(
                f"'{self.info.model_id}' failed in ONNX Runtime: {str(exc).splitlines()[0][:200]}"
            ) from None
        output = np.clip(result[0].transpose(1, 2, 0) * 255.0, 0, 255).round().astype(np.uint8)
        return np.ascontiguousarray(crop_output(output, original, self.info.scale))


def load(
    spec: ModelSpec, weights_path: Path | None, params: dict[str, Any], settings: Settings, runtime: Runtime
) -> OnnxEnhancer:
    """Backend entry point used by the loader."""
    if weights_path is None:
        raise WeightsError(f"'{spec.id}' has no weight file")
    return OnnxEnhancer(spec, weights_path, settings, runtime)
