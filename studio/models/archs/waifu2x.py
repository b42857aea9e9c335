"""waifu2x's networks (upconv_7 and CUNet) as spandrel architectures.

spandrel ships no waifu2x architecture, so the converted waifu2x weights need
one to load through `spandrel.ModelLoader` like every other torch model.
`register()` adds both to spandrel's main registry (CUNet ahead of Real-CUGAN,
whose state-dict keys it shares).

The networks consume a border (valid convolutions), which they pad themselves
by edge replication, as waifu2x-ncnn-vulkan does; so any input size works and
the output is exactly `scale` times the input.

upconv_7 keeps the parameter layout of nagadomi's PyTorch port (nunif,
`net.0` ... `net.12`); CUNet reuses spandrel's Real-CUGAN U-Nets, the same
modules waifu2x's CUNet is built from, and carries a `waifu2x_offset` buffer
that tells the two apart.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

UPCONV7_CHANNELS = (16, 32, 64, 128, 128, 256)
UPCONV7_OFFSET = 7  # six 3x3 valid convolutions and a 4x4 stride-2 deconvolution with padding 3
CUNET_OFFSETS = {1: 28, 2: 18}  # border consumed, in input pixels, per scale
CUNET_MULTIPLE = 4  # two stride-2 levels in each U-Net


def _edge_pad(x: torch.Tensor, offset: int, multiple: int = 1) -> torch.Tensor:
    height, width = x.shape[-2:]
    bottom = -height % multiple
    right = -width % multiple
    return F.pad(x, (offset, offset + right, offset, offset + bottom), mode="replicate")


class UpConv7(nn.Module):
    """waifu2x upconv_7: six 3x3 convolutions with leaky ReLU 0.1, then a x2 transposed convolution."""

    def __init__(self, in_channels: int = 3, out_channels: int = 3):
        super().__init__()
        layers: list[nn.Module] = []
        previous = in_channels
        for channels in UPCONV7_CHANNELS:
            layers += [nn.Conv2d(previous, channels, 3, 1, 0), nn.LeakyReLU(0.1, inplace=True)]
            previous = channels
        layers.append(nn.ConvTranspose2d(previous, out_channels, 4, 2, 3))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        return self.net(_edge_pad(x, UPCONV7_OFFSET))[..., : height * 2, : width * 2]


class CUNet(nn.Module):
    """waifu2x CUNet: two cascaded U-Nets with squeeze-excitation; x2, or x1 (denoise only)."""

    def __init__(self, scale: int = 2, in_channels: int = 3, out_channels: int = 3):
        from spandrel.architectures.RealCUGAN.__arch.upcunet_v3 import UNet1, UNet2

        super().__init__()
        if scale not in CUNET_OFFSETS:
            raise ValueError(f"waifu2x CUNet exists for x1 and x2, not x{scale}")
        self.scale = scale
        self.register_buffer("waifu2x_offset", torch.tensor(CUNET_OFFSETS[scale]))
        self.unet1 = UNet1(in_channels, out_channels, deconv=scale == 2)
        self.unet2 = UNet2(out_channels, out_channels, deconv=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        first = self.unet1(_edge_pad(x, CUNET_OFFSETS[self.scale], CUNET_MULTIPLE))
        second = self.unet2(first)
        result = F.pad(first, (-20, -20, -20, -20)) + second
        return result[..., : height * self.scale, : width * self.scale]


def _descriptor(architecture: Any, model: nn.Module, state_dict: dict, scale: int, tags: list[str]) -> Any:
    from spandrel import ImageModelDescriptor

    model.load_state_dict(state_dict)
    return ImageModelDescriptor(
        model,
        state_dict,
        architecture=architecture,
        purpose="SR" if scale > 1 else "Restoration",
        tags=tags,
        supports_half=True,
        supports_bfloat16=True,
        scale=scale,
        input_channels=3,
        output_channels=3,
    )


def _architectures() -> list[Any]:
    from spandrel import Architecture
    from spandrel.util import KeyCondition

    class UpConv7Arch(Architecture[UpConv7]):
        def __init__(self) -> None:
            keys = [f"net.{index}.weight" for index in range(0, 13, 2)]
            super().__init__(id="waifu2x-upconv7", detect=KeyCondition.has_all(*keys))

        def load(self, state_dict: dict) -> Any:
            if tuple(state_dict["net.12.weight"].shape[2:]) != (4, 4):
                raise ValueError("not a waifu2x upconv_7 state dict")
            return _descriptor(self, UpConv7(), state_dict, 2, ["upconv_7"])

    class CUNetArch(Architecture[CUNet]):
        def __init__(self) -> None:
            keys = ("waifu2x_offset", "unet1.conv1.conv.0.weight", "unet1.conv_bottom.weight", "unet2.conv5.weight")
            super().__init__(id="waifu2x-cunet", detect=KeyCondition.has_all(*keys))

        def load(self, state_dict: dict) -> Any:
            scales = {offset: scale for scale, offset in CUNET_OFFSETS.items()}
            offset = int(state_dict["waifu2x_offset"])
            if offset not in scales:
                raise ValueError(f"waifu2x CUNet offset {offset} matches no known network")
            scale = scales[offset]
            return _descriptor(self, CUNet(scale), state_dict, scale, ["cunet"])

    return [UpConv7Arch(), CUNetArch()]


@lru_cache(maxsize=1)
def register() -> None:
    """Add the waifu2x architectures to spandrel's main registry, once per process."""
    from spandrel import MAIN_REGISTRY, ArchSupport

    MAIN_REGISTRY.add(
        *(ArchSupport.from_architecture(arch, before=("RealCUGAN",)) for arch in _architectures()),
        ignore_duplicates=True,
    )
