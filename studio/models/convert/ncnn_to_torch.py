"""ncnn param/bin -> a PyTorch state dict for spandrel's architectures; torch -> ONNX.

The ncnn graphs were exported from the same PyTorch networks, so their weight
layers appear in forward order, which is also the order the spandrel modules
register their parameters. We build the spandrel network with hyperparameters
read off the graph and fill its parameters in order, checking every shape; the
agreement tests (ncnn vs converted torch, >= 60 dB) prove the mapping.
Converted weights are cached as .safetensors next to the other weights.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from studio.core.config import Settings
from studio.core.errors import WeightsError
from studio.models.convert.ncnn_format import Layer, load_ncnn
from studio.models.weights.download import lock_for


def _convs(layers: list[Layer]) -> list[Layer]:
    return [layer for layer in layers if layer.type == "Convolution"]


def _compact(layers: list[Layer], scale: int, pro: bool) -> Any:
    from spandrel.architectures.Compact import Compact

    convs = _convs(layers)
    upscale = round((int(convs[-1].param(0)) / 3) ** 0.5)
    return Compact(num_feat=int(convs[0].param(0)), num_conv=len(convs) - 2, upscale=upscale, act_type="prelu")


def _esrgan(layers: list[Layer], scale: int, pro: bool) -> Any:
    from spandrel.architectures.ESRGAN import ESRGAN

    convs = _convs(layers)
    blocks, remainder = divmod(len(convs) - 6, 15)  # first, 15 per RRDB, body, 2 upsampling, HR, last
    if remainder:
        raise WeightsError(f"{len(convs)} convolutions do not form an x4 RRDBNet")
    return ESRGAN(num_filters=int(convs[0].param(0)), num_blocks=blocks, scale=4)


def _realcugan(layers: list[Layer], scale: int, pro: bool) -> Any:
    from spandrel.architectures.RealCUGAN import UpCunet2x, UpCunet3x, UpCunet4x

    networks = {2: UpCunet2x, 3: UpCunet3x, 4: UpCunet4x}
    if scale not in networks:
        raise WeightsError(f"Real-CUGAN has no x{scale} network")
    return networks[scale](in_channels=3, out_channels=3, pro=pro)


def _waifu2x_upconv7(layers: list[Layer], scale: int, pro: bool) -> Any:
    from studio.models.archs.waifu2x import UpConv7

    return UpConv7()


def _waifu2x_cunet(layers: list[Layer], scale: int, pro: bool) -> Any:
    from studio.models.archs.waifu2x import CUNet

    if scale not in (1, 2):
        raise WeightsError(f"waifu2x CUNet has no x{scale} network")
    return CUNet(scale)


ARCHITECTURES: dict[str, Callable[[list[Layer], int, bool], Any]] = {
    "compact": _compact,
    "esrgan": _esrgan,
    "realcugan": _realcugan,
    "waifu2x-upconv7": _waifu2x_upconv7,
    "waifu2x-cunet": _waifu2x_cunet,
}


def ncnn_tensors(layers: list[Layer]) -> list[np.ndarray]:
    """Every weight array in graph order (weight then bias; PReLU slopes).

    ncnn keeps deconvolution weights as (out, in, kh, kw); PyTorch's ConvTranspose2d
    wants (in, out, kh, kw), unflipped (proved by the agreement tests).
    """
    tensors = []
    for layer in layers:
        for key in ("weight", "bias", "slope"):
            if key in layer.weights:
                array = layer.weights[key]
                if key == "weight" and layer.type == "Deconvolution":
                    array = array.transpose(1, 0, 2, 3)
                tensors.append(array)
    return tensors


def convert_ncnn(param_path: Path, architecture: str, scale: int = 4, pro: bool = False) -> dict[str, Any]:
    """A state dict for the named spandrel architecture, filled from the ncnn files.

    Parameters are filled in registration order; buffers (Real-CUGAN's `pro` flag)
    keep the network's own values.
    """
    import torch

    if architecture not in ARCHITECTURES:
        raise WeightsError(f"no ncnn conversion for architecture '{architecture}' (known: {', '.join(ARCHITECTURES)})")
    layers = load_ncnn(param_path, param_path.with_suffix(".bin"))
    network = ARCHITECTURES[architecture](layers, scale, pro)
    targets = dict(network.named_parameters())
    sources = ncnn_tensors(layers)
    if len(sources) != len(targets):
        raise WeightsError(f"{param_path.name}: {len(sources)} ncnn tensors but {len(targets)} {architecture} tensors")
    state = {key: value.clone() for key, value in network.state_dict().items() if key not in targets}
    for (key, target), source in zip(targets.items(), sources, strict=True):
        if target.numel() != source.size:
            raise WeightsError(f"{param_path.name}: {key} wants {tuple(target.shape)}, ncnn has {source.shape}")
        state[key] = torch.from_numpy(np.ascontiguousarray(source)).reshape(target.shape).clone()
    return state


def _fingerprint(param_path: Path) -> str:
    digest = hashlib.sha256(param_path.read_bytes())
    digest.update(param_path.with_suffix(".bin").read_bytes())
    return digest.hexdigest()[:16]


def converted_weights(
    model_id: str, param_path: Path, architecture: str, settings: Settings, scale: int = 4, pro: bool = False
) -> Path:
    """The converted .safetensors for an ncnn model, made once and cached by content."""
    from safetensors.torch import save_file

    target = settings.weights_dir / "converted" / f"{model_id}-{_fingerprint(param_path)}.safetensors"
    if target.exists():
        return target
    with lock_for(target):
        if not target.exists():
            state = convert_ncnn(param_path, architecture, scale, pro)
            partial = target.with_name(target.name + ".part")
            save_file(state, str(partial))
            partial.replace(target)
    return target


def export_onnx(network: Any, path: Path, opset: int = 17, ir_version: int = 10, channels: int = 3) -> Path:
    """Export a torch image network with dynamic height and width (`channels` in: 1 for dnn_superres's luma
    networks).

    The IR version is capped because ONNX Runtime refuses newer IRs than it knows.
    """
    import onnx
    import torch

    class ImageOnly(torch.nn.Module):
        """The network called with the image alone, so optional arguments (Real-CUGAN's `alpha`)
        keep their defaults instead of becoming graph inputs."""

        def __init__(self, inner: Any):
            super().__init__()
            self.inner = inner

        def forward(self, image: Any) -> Any:
            return self.inner(image)

    network = ImageOnly(network.eval().float()).eval()
    example = torch.rand(1, channels, 64, 64)
    axes = {"input": {2: "height", 3: "width"}, "output": {2: "height", 3: "width"}}
    path.parent.mkdir(parents=True, exist_ok=True)
    with torch.inference_mode():
        torch.onnx.export(
            network,
            (example,),
            str(path),
            input_names=["input"],
            output_names=["output"],
            dynamic_axes=axes,
            opset_version=opset,
            dynamo=False,
        )
    model = onnx.load(str(path))
    model.ir_version = min(model.ir_version, ir_version)
    onnx.save(model, str(path))
    return path


def converted_onnx(model_id: str, safetensors_path: Path, settings: Settings) -> Path:
    """The ONNX export of a converted model (dynamic height and width), made once and cached."""
    from safetensors.torch import load_file

    from studio.models.archs import load_spandrel

    target = safetensors_path.with_suffix(".onnx")
    if target.exists():
        return target
    with lock_for(target):
        if not target.exists():
            descriptor = load_spandrel(load_file(str(safetensors_path)))
            partial = target.with_name(target.stem + ".part.onnx")
            export_onnx(descriptor.model, partial, channels=descriptor.input_channels)
            partial.replace(target)
    return target
