"""PyTorch networks loaded through spandrel (.pth / .safetensors).

Weights are read with `torch.load(weights_only=True)` or safetensors, never by
unrestricted unpickling, and handed to spandrel as a state dict. On CPUs with
fast bf16 (AVX-512 BF16 / AMX) the default is bf16 autocast + channels_last.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from studio.core.config import Settings
from studio.core.errors import EnhanceError, WeightsError
from studio.core.tiling import crop_output, pad_to
from studio.models.backends.base import EnhancerInfo, Runtime
from studio.models.backends.devices import choose_device, choose_precision, machine_class
from studio.models.options import TorchOptions
from studio.models.schema import ModelSpec


def load_state_dict(path: Path) -> dict[str, Any]:
    """A state dict from .safetensors or .pth/.pt/.ckpt, safely."""
    import torch

    suffix = path.suffix.lower()
    try:
        if suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path), device="cpu")
        if suffix in {".pth", ".pt", ".ckpt", ".bin"}:
            loaded = torch.load(str(path), map_location="cpu", weights_only=True)
            return loaded if isinstance(loaded, dict) else {}
    except Exception as exc:  # corrupt, truncated or a pickle that needs unsafe code
        raise WeightsError(f"cannot read weights {path.name}: {str(exc).splitlines()[0][:200]}") from None
    raise WeightsError(f"unsupported weight file type '{suffix}' for {path.name} (use .pth or .safetensors)")


class TorchEnhancer:
    """One spandrel image model on one device at one precision."""

    def __init__(
        self, spec: ModelSpec, descriptor: Any, device: str, precision: str, threads: int, tileable: bool = True
    ):
        import torch

        torch.set_num_threads(threads)
        self._torch = torch
        self._descriptor = descriptor
        self._model = descriptor.model.eval().to(device)
        self._device = device
        self._precision = precision
        if precision == "fp16":
            self._model = self._model.half()
        self._model = self._model.to(memory_format=torch.channels_last)
        requirements = descriptor.size_requirements
        self.info = EnhancerInfo(
            model_id=spec.id,
            task=spec.task,
            scale=descriptor.scale,
            backend="torch",
            device=device,
            precision=precision,
            tile_multiple=requirements.multiple_of,
            min_size=max(1, requirements.minimum),
            tileable=descriptor.tiling.name == "SUPPORTED" and tileable,
        )
        self.memory_mb = sum(p.numel() * p.element_size() for p in self._model.parameters()) / 2**20
        self.architecture = descriptor.architecture.name
        self.network = descriptor.model  # for ONNX export

    def enhance(self, image: np.ndarray) -> np.ndarray:
        torch = self._torch
        padded, original = pad_to(image, self.info.tile_multiple, self.info.min_size)
        writable = padded if padded.flags.writeable and padded.flags.c_contiguous else np.array(padded, order="C")
        tensor = torch.from_numpy(writable).permute(2, 0, 1).unsqueeze(0)
        tensor = tensor.to(self._device).float().div_(255.0).contiguous(memory_format=torch.channels_last)
        if self._precision == "fp16":
            tensor = tensor.half()
        with torch.inference_mode():
            if self._precision == "bf16":
                with torch.autocast(device_type=self._device.split(":")[0], dtype=torch.bfloat16):
                    result = self._model(tensor)
            else:
                result = self._model(tensor)
            output = result.float().clamp_(0, 1).mul_(255.0).round_().byte()[0].permute(1, 2, 0).cpu().numpy()
        return np.ascontiguousarray(crop_output(output, original, self.info.scale))


def load(
    spec: ModelSpec, weights_path: Path | None, params: dict[str, Any], settings: Settings, runtime: Runtime
) -> TorchEnhancer:
    """Backend entry point used by the loader."""
    import spandrel

    from studio.models.archs import load_spandrel

    if weights_path is None:
        raise WeightsError(f"'{spec.id}' has no weight file")
    if not isinstance(spec.options, TorchOptions):
        raise EnhanceError(f"'{spec.id}' has no torch options")
    state_dict = load_state_dict(weights_path)
    try:
        descriptor = load_spandrel(spandrel.canonicalize_state_dict(state_dict))
    except spandrel.UnsupportedModelError:
        raise WeightsError(
            f"'{spec.id}': spandrel does not recognise the architecture in {weights_path.name}"
        ) from None
    if not isinstance(descriptor, spandrel.ImageModelDescriptor):
        raise EnhanceError(f"'{spec.id}' is not an image-to-image model")
    if descriptor.scale != spec.scale:
        raise EnhanceError(f"'{spec.id}' is declared x{spec.scale} but the weights are x{descriptor.scale}")
    machine = machine_class(settings.machine_class)
    device = choose_device(runtime.device, machine)
    precision = choose_precision(
        runtime.precision, device, descriptor.supports_half, descriptor.supports_bfloat16, machine
    )
    return TorchEnhancer(spec, descriptor, device, precision, settings.threads, spec.options.tileable)


def eager_baseline(weights_path: Path, threads: int) -> Callable[[np.ndarray], np.ndarray]:
    """The network as spandrel-based tools run it (fp32, NCHW, eager, inference mode): `studio bench`'s baseline.

    Same weights as our torch form, but none of its choices (channels_last, bf16,
    tiling); the uint8 <-> float conversion is included, as it is for every form.
    """
    import torch

    from studio.models.archs import load_spandrel

    torch.set_num_threads(threads)
    model = load_spandrel(load_state_dict(weights_path)).model.eval()
    return lambda image: run_eager(model, image)


def run_eager(model: Any, image: np.ndarray) -> np.ndarray:
    """uint8 HxWx3 through a torch network as it stands (fp32, NCHW, eager, inference mode), back to uint8:
    the bench's baseline, and how `studio train` validates the network it is training."""
    import torch

    tensor = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).unsqueeze(0).float() / 255.0
    with torch.inference_mode():
        result = model(tensor)
    return result.clamp(0, 1).mul(255).round().byte()[0].permute(1, 2, 0).numpy()
