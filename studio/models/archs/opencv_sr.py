"""OpenCV dnn_superres's networks (ESPCN, FSRCNN, LapSRN, EDSR) as spandrel architectures.

The four networks are the TensorFlow graphs OpenCV's dnn_superres runs (TF-ESPCN, FSRCNN_Tensorflow,
TF-LapSRN, EDSR_Tensorflow), rebuilt layer for layer; studio/models/convert/opencv_to_torch.py fills
them from the `.pb` files. Each network sees what dnn_superres gives it:

- ESPCN, FSRCNN and LapSRN see luma only (one channel in, one out): the Y of OpenCV's 8-bit YCrCb,
  as float32(Y) * float32(1 / 255). The colour steps around them (YCrCb, the chroma resize, the
  8-bit rounding, back to RGB) run in OpenCV itself, in studio/models/backends/luma.py, for the
  torch and ONNX forms alike: the same functions dnn_superres calls, so the same pixels.
- EDSR sees all three channels, 0..255 minus the DIV2K mean, and adds the mean back; the
  converter turned its BGR weights into RGB ones, so it takes and gives RGB in [0, 1] like any
  spandrel network.

A `opencv_sr_arch` buffer names the network; everything else is read off the weights' shapes, so a
`.safetensors` file alone rebuilds it. Every network is convolutional (tiles need only context),
takes any input size, and returns exactly `scale` times it.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from studio.core.vocabulary import OPENCV_DNN_LUMA

ARCH_KEY = "opencv_sr_arch"
ARCH_CODES = {"edsr": 1, "espcn": 2, "fsrcnn": 3, "lapsrn": 4}  # never renumber: converted files keep codes
ARCH_NAMES = {code: name for name, code in ARCH_CODES.items()}

EDSR_MEAN_BGR = (103.1545782, 111.561547, 114.35629928)  # the DIV2K mean dnn_superres subtracts (BGR)
EDSR_RES_SCALE = 0.1  # EDSR_Tensorflow's residual scaling
LAPSRN_SLOPE = 0.2  # TF-LapSRN's leaky ReLU: relu(x) - 0.2 * relu(-x)
INV_255 = 1.0 / 255.0  # multiplied in float32, as dnn_superres's convertTo(CV_32F, 1 / 255.) does


class ESPCN(nn.Module):
    """TF-ESPCN: 5x5 and 3x3 ReLU convolutions, a sub-pixel convolution, tanh."""

    def __init__(self, scale: int, features: int = 64, hidden: int = 32):
        super().__init__()
        self.conv1 = nn.Conv2d(1, features, 5, padding=2)
        self.conv2 = nn.Conv2d(features, hidden, 3, padding=1)
        self.conv3 = nn.Conv2d(hidden, scale * scale, 3, padding=1)
        self.shuffle = nn.PixelShuffle(scale)

    def forward(self, luma: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.conv1(luma), inplace=True)  # in place: a fresh output, and no large allocation
        x = F.relu(self.conv2(x), inplace=True)
        return torch.tanh(self.shuffle(self.conv3(x)))


class PReLU(nn.PReLU):
    """nn.PReLU (the same weights and results), computed in bf16 as relu(x) + alpha * min(x, 0) with the product as
    a depthwise 1x1 convolution: torch's own bf16 PReLU on channels-last tensors took 20-45 ms where this takes
    3-12 ms (56 channels at 320x240 and 493x356, one thread), and the result is bit for bit the same."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dtype != torch.bfloat16:
            return super().forward(x)
        slopes = self.weight.to(x.dtype).view(-1, 1, 1, 1)
        negative = F.conv2d(x.clamp(max=0), slopes, groups=slopes.shape[0])
        return negative.add_(F.relu(x))


class FSRCNN(nn.Module):
    """FSRCNN_Tensorflow: extract (5x5), shrink (1x1), m x map (3x3), expand (1x1), each with PReLU; then a
    1x1 convolution to scale^2 channels, depth-to-space, and one scalar bias."""

    def __init__(self, scale: int, features: int = 56, shrunk: int = 12, mapping: int = 4):
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(1, features, 5, padding=2), PReLU(features)]
        layers += [nn.Conv2d(features, shrunk, 1), PReLU(shrunk)]
        for _ in range(mapping):
            layers += [nn.Conv2d(shrunk, shrunk, 3, padding=1), PReLU(shrunk)]
        layers += [nn.Conv2d(shrunk, features, 1), PReLU(features)]
        self.body = nn.Sequential(*layers)
        self.upsample = nn.Conv2d(features, scale * scale, 1, bias=False)
        self.shuffle = nn.PixelShuffle(scale)
        self.bias = nn.Parameter(torch.zeros(1))

    def forward(self, luma: torch.Tensor) -> torch.Tensor:
        return self.shuffle(self.upsample(self.body(luma))) + self.bias


def _tf_same(conv: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    """A 4x4 convolution with TensorFlow's SAME padding (1 px before, 2 after): padded 2 on both sides, less the
    first row and column (an even crop exports to ONNX more simply than uneven padding)."""
    return conv(x)[..., 1:, 1:]


class LapSRNLevel(nn.Module):
    """One x2 level of TF-LapSRN: a feature branch (10 leaky 3x3 convolutions, the first with one scalar
    bias, then a 4x4 convolution + depth-to-space) and an image branch (4x4 convolution + depth-to-space)."""

    def __init__(self, features: int = 64, depth: int = 10):
        super().__init__()
        self.first = nn.Conv2d(1, features, 3, padding=1, bias=False)
        self.first_bias = nn.Parameter(torch.zeros(1))
        self.convs = nn.ModuleList(nn.Conv2d(features, features, 3, padding=1) for _ in range(depth - 1))
        self.upsample_features = nn.Conv2d(features, 4, 4, padding=2, bias=False)
        self.upsample_image = nn.Conv2d(1, 4, 4, padding=2, bias=False)
        self.shuffle = nn.PixelShuffle(2)

    def forward(self, features: torch.Tensor, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = F.leaky_relu(self.first(features) + self.first_bias, LAPSRN_SLOPE, inplace=True)
        for conv in self.convs:
            x = F.leaky_relu(conv(x), LAPSRN_SLOPE, inplace=True)
        residual = F.leaky_relu(self.shuffle(_tf_same(self.upsample_features, x)), LAPSRN_SLOPE, inplace=True)
        upsampled = self.shuffle(_tf_same(self.upsample_image, image))
        return residual, F.leaky_relu(upsampled + residual, LAPSRN_SLOPE, inplace=True)


class LapSRN(nn.Module):
    """TF-LapSRN: log2(scale) levels; each refines the previous level's features and image."""

    def __init__(self, scale: int, features: int = 64, depth: int = 10):
        super().__init__()
        levels = int(math.log2(scale))
        if 2**levels != scale:
            raise ValueError(f"LapSRN upscales by powers of two, not x{scale}")
        self.levels = nn.ModuleList(LapSRNLevel(features, depth) for _ in range(levels))

    def forward(self, luma: torch.Tensor) -> torch.Tensor:
        features = image = luma
        for level in self.levels:
            features, image = level(features, image)
        return image


class EDSRBlock(nn.Module):
    def __init__(self, features: int):
        super().__init__()
        self.conv1 = nn.Conv2d(features, features, 3, padding=1)
        self.conv2 = nn.Conv2d(features, features, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.relu(self.conv1(x), inplace=True)) * EDSR_RES_SCALE


class EDSR(nn.Module):
    """EDSR_Tensorflow: a head convolution, residual blocks (scaled by 0.1), a body convolution with a skip
    from the head, and one sub-pixel convolution to 3 x scale^2 channels."""

    def __init__(self, scale: int, features: int = 64, blocks: int = 16):
        super().__init__()
        self.head = nn.Conv2d(3, features, 3, padding=1)
        self.blocks = nn.Sequential(*(EDSRBlock(features) for _ in range(blocks)))
        self.body = nn.Conv2d(features, features, 3, padding=1)
        self.upsample = nn.Conv2d(features, 3 * scale * scale, 3, padding=1)
        self.shuffle = nn.PixelShuffle(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        head = self.head(x)
        return self.shuffle(self.upsample(self.body(self.blocks(head)) + head))


class OpenCVSuperRes(nn.Module):
    """A dnn_superres network fed as dnn_superres feeds it, from a spandrel-style input in [0, 1]: luma alone
    (N x 1 x H x W) for ESPCN, FSRCNN and LapSRN; RGB (N x 3 x H x W) around the mean for EDSR."""

    def __init__(self, algorithm: str, network: nn.Module, scale: int):
        super().__init__()
        self.algorithm = algorithm
        self.scale = scale
        self.channels = 1 if algorithm in OPENCV_DNN_LUMA else 3
        self.network = network
        self.register_buffer(ARCH_KEY, torch.tensor(ARCH_CODES[algorithm]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        levels = torch.round(x * 255.0)  # the 8-bit values the caller's image held
        if self.channels == 1:
            return self.network(levels * INV_255)
        mean = levels.new_tensor(EDSR_MEAN_BGR[::-1]).view(1, 3, 1, 1)  # the weights were turned to RGB
        return (self.network(levels - mean) + mean) * INV_255  # the caller rounds to 8 bits, as dnn_superres does


def build(algorithm: str, scale: int, **sizes: int) -> OpenCVSuperRes:
    """A fresh (unfilled) network by its dnn_superres name."""
    networks: dict[str, type[nn.Module]] = {"espcn": ESPCN, "fsrcnn": FSRCNN, "lapsrn": LapSRN, "edsr": EDSR}
    if algorithm not in networks:
        raise ValueError(f"unknown dnn_superres network '{algorithm}' (known: {', '.join(networks)})")
    return OpenCVSuperRes(algorithm, networks[algorithm](scale, **sizes), scale)


def sizes_of(algorithm: str, state_dict: dict[str, Any]) -> tuple[int, dict[str, int]]:
    """(scale, constructor sizes) read off the weights' shapes."""

    def shape(key: str) -> tuple[int, ...]:
        return tuple(state_dict[f"network.{key}"].shape)

    def count(prefix: str, suffix: str) -> int:
        return sum(1 for key in state_dict if key.startswith(f"network.{prefix}") and key.endswith(suffix))

    if algorithm == "espcn":
        return math.isqrt(shape("conv3.weight")[0]), {
            "features": shape("conv1.weight")[0],
            "hidden": shape("conv2.weight")[0],
        }
    if algorithm == "fsrcnn":
        convs = count("body.", ".bias")  # the PReLUs hold a weight only
        return math.isqrt(shape("upsample.weight")[0]), {
            "features": shape("body.0.weight")[0],
            "shrunk": shape("body.2.weight")[0],
            "mapping": convs - 3,
        }
    if algorithm == "lapsrn":
        levels = count("levels.", "upsample_image.weight")
        return 2**levels, {
            "features": shape("levels.0.first.weight")[0],
            "depth": count("levels.0.convs.", "weight") + 1,
        }
    return math.isqrt(shape("upsample.weight")[0] // 3), {
        "features": shape("head.weight")[0],
        "blocks": count("blocks.", "conv1.weight"),
    }


def from_state_dict(state_dict: dict[str, Any]) -> OpenCVSuperRes:
    """The network a converted state dict describes, with its weights loaded."""
    code = int(state_dict[ARCH_KEY])
    if code not in ARCH_NAMES:
        raise ValueError(f"{ARCH_KEY} {code} names no dnn_superres network")
    algorithm = ARCH_NAMES[code]
    scale, sizes = sizes_of(algorithm, state_dict)
    model = build(algorithm, scale, **sizes)
    model.load_state_dict(state_dict)
    return model


def _architecture() -> Any:
    from spandrel import Architecture, ImageModelDescriptor
    from spandrel.util import KeyCondition

    class OpenCVSuperResArch(Architecture[OpenCVSuperRes]):
        def __init__(self) -> None:
            super().__init__(id="opencv-dnn-superres", detect=KeyCondition.has_all(ARCH_KEY))

        def load(self, state_dict: dict) -> Any:
            model = from_state_dict(state_dict)
            return ImageModelDescriptor(
                model,
                state_dict,
                architecture=self,
                purpose="SR",
                tags=[model.algorithm],
                supports_half=True,
                supports_bfloat16=True,
                scale=model.scale,
                input_channels=model.channels,
                output_channels=model.channels,
            )

    return OpenCVSuperResArch()


@lru_cache(maxsize=1)
def register() -> None:
    """Add the dnn_superres networks to spandrel's main registry, once per process, ahead of everything (the
    `opencv_sr_arch` key is ours alone)."""
    from spandrel import MAIN_REGISTRY, ArchSupport

    MAIN_REGISTRY.add(ArchSupport.from_architecture(_architecture(), before=("Compact",)), ignore_duplicates=True)
