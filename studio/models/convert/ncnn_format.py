"""Read ncnn .param (text) and .bin (weights) files into plain numpy arrays.

Format (as ncnn's own loader reads it): `.param` starts with the magic 7767517,
then layer and blob counts, then one line per layer: type, name, input and
output counts, blob names, `k=v` params (negative keys below -23300 are arrays:
-23310=1,0.1 is key 10 holding [0.1]). `.bin` holds each layer's weights in
layer order: a convolution's weight starts with a 4-byte tag (0 = float32,
0x01306B47 = float16, padded to 4 bytes; anything else is quantised, which we
refuse), and its bias follows untagged as float32, as do PReLU slopes; InnerProduct
(fully connected, used by squeeze-excitation blocks) stores weight then bias the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from studio.core.errors import WeightsError

MAGIC = "7767517"
TAG_FP32, TAG_FP16 = 0x00000000, 0x01306B47
CONVOLUTIONS = {"Convolution", "ConvolutionDepthWise", "Deconvolution", "DeconvolutionDepthWise"}


@dataclass
class Layer:
    type: str
    name: str
    inputs: list[str]
    outputs: list[str]
    params: dict[int, object]
    weights: dict[str, np.ndarray] = field(default_factory=dict)

    def param(self, key: int, default: object = 0) -> object:
        return self.params.get(key, default)


def _value(text: str) -> object:
    return float(text) if any(c in text for c in ".eE") else int(text)


def parse_param(path: Path) -> list[Layer]:
    lines = [line.split() for line in path.read_text().splitlines() if line.strip()]
    if not lines or lines[0] != [MAGIC]:
        raise WeightsError(f"{path.name} is not an ncnn .param file (magic {MAGIC} missing)")
    layers = []
    for parts in lines[2:]:
        kind, name, n_in, n_out = parts[0], parts[1], int(parts[2]), int(parts[3])
        inputs, outputs = parts[4 : 4 + n_in], parts[4 + n_in : 4 + n_in + n_out]
        params: dict[int, object] = {}
        for item in parts[4 + n_in + n_out :]:
            key_text, _, value = item.partition("=")
            key = int(key_text)
            if key <= -23300:
                count, *values = value.split(",")
                params[-key - 23300] = [_value(v) for v in values[: int(count)]]
            else:
                params[key] = _value(value)
        layers.append(Layer(kind, name, inputs, outputs, params))
    return layers


class _Reader:
    def __init__(self, data: bytes, name: str):
        self.data, self.offset, self.name = data, 0, name

    def _need(self, size: int) -> None:
        if self.offset + size > len(self.data):
            raise WeightsError(f"{self.name} ends early: truncated or not matching its .param")

    def raw_float32(self, count: int) -> np.ndarray:
        self._need(4 * count)
        end = self.offset + 4 * count
        array = np.frombuffer(self.data, np.float32, count, self.offset).copy()
        self.offset = end
        return array

    def tagged(self, count: int) -> np.ndarray:
        self._need(4)
        (tag,) = np.frombuffer(self.data, np.uint32, 1, self.offset)
        self.offset += 4
        if tag == TAG_FP16:
            size = count * 2
            self._need(size)
            array = np.frombuffer(self.data, np.float16, count, self.offset).astype(np.float32)
            self.offset += (size + 3) // 4 * 4
            return array
        if tag == TAG_FP32:
            return self.raw_float32(count)
        raise WeightsError(f"{self.name}: quantised weights (tag {tag:#x}) are not supported for conversion")


def load_ncnn(param_path: Path, bin_path: Path) -> list[Layer]:
    """Layers with their weights: conv `weight` shaped (out, in/groups, kh, kw), `bias`, PReLU `slope`."""
    layers = parse_param(param_path)
    reader = _Reader(bin_path.read_bytes(), bin_path.name)
    for layer in layers:
        if layer.type in CONVOLUTIONS:
            out_channels = int(layer.param(0))
            kernel_w = int(layer.param(1))
            kernel_h = int(layer.param(11, kernel_w))
            count = int(layer.param(6))
            groups = int(layer.param(7, 1)) if "DepthWise" in layer.type else 1
            flat = reader.tagged(count)
            in_per_group = count // (out_channels * kernel_h * kernel_w)
            layer.weights["weight"] = flat.reshape(out_channels, in_per_group, kernel_h, kernel_w)
            layer.params.setdefault(7, groups)
            if int(layer.param(5)):
                layer.weights["bias"] = reader.raw_float32(out_channels)
        elif layer.type == "PReLU":
            layer.weights["slope"] = reader.raw_float32(int(layer.param(0)))
        elif layer.type == "InnerProduct":  # squeeze-excitation in CUNet / Real-CUGAN
            out_features, count = int(layer.param(0)), int(layer.param(2))
            layer.weights["weight"] = reader.tagged(count).reshape(out_features, count // out_features)
            if int(layer.param(1)):
                layer.weights["bias"] = reader.raw_float32(out_features)
        elif layer.type == "Scale":  # -233: the scale comes from a second input blob, no weights
            size = int(layer.param(0))
            if size != -233:
                layer.weights["scale"] = reader.raw_float32(size)
                if int(layer.param(1)):
                    layer.weights["bias"] = reader.raw_float32(size)
        elif layer.type in {"BatchNorm", "MemoryData", "Embed", "LayerNorm"}:
            raise WeightsError(f"{param_path.name}: layer type {layer.type} is not supported for conversion")
    if reader.offset != len(reader.data):
        raise WeightsError(f"{bin_path.name}: {len(reader.data) - reader.offset} bytes left over after the last layer")
    return layers
