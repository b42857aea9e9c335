"""Our own small restoration networks (`studio train`), as spandrel architectures.

Five classic designs that restoration tutorials build and train, sized for a
CPU (tens to hundreds of thousands of parameters):

- ESPCN (Shi et al. 2016): sub-pixel convolution, x2/x3/x4, learning the
  residual over bicubic so a short CPU run already beats it;
- a convolutional denoising autoencoder (two stride-2 levels and back);
- DeblurNet: an encoder-decoder with residual blocks and a global skip;
- DMCNN: a dynamic multi-scale deblurring CNN - a U-Net whose skips pass
  through channel attention, ending in a per-pixel dynamic convolution (a
  predicted k x k kernel per output pixel, applied to the blurred input) plus
  a residual;
- a DnCNN-style residual denoiser (predicts the noise, no batch norm).

Each module carries a `studio_arch` buffer (its code) and its hyper-parameters
as buffers, so a `.safetensors` file alone rebuilds it; `register()` adds the
five to spandrel's registry, so the existing torch/ONNX forms, tiling and
autotune load them like any other network. Every network takes any input
size (padding itself where it downsamples) and returns exactly scale x it.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from studio.core.vocabulary import TRAIN_ARCHITECTURES
from studio.models.archs.blocks import ChannelAttention, DynamicConv, ResBlock, conv_block, pad_to_multiple

# The code in each state dict's `studio_arch` buffer, by architecture name (the `studio train ARCH` names).
ARCH_CODES = {name: code for code, name in enumerate(TRAIN_ARCHITECTURES, start=1)}  # never reorder: files keep codes
ARCH_NAMES = {code: name for name, code in ARCH_CODES.items()}
TASKS_BY_ARCH = {
    "espcn": ("sr",),
    "dae": ("denoise", "deblur"),
    "deblurnet": ("deblur", "denoise"),
    "dmcnn": ("deblur", "denoise"),
    "dncnn": ("denoise", "deblur"),
}


class _Tagged(nn.Module):
    """Stores the architecture code and hyper-parameters as buffers, so the weights file describes the network."""

    def _tag(self, arch: str, **hyper: int) -> None:
        self.register_buffer("studio_arch", torch.tensor(ARCH_CODES[arch]))
        for name, value in hyper.items():
            self.register_buffer(f"hyper_{name}", torch.tensor(int(value)))


class ESPCN(_Tagged):
    """Sub-pixel convolution super-resolution (Shi et al. 2016), predicting the detail bicubic misses.

    `depth` adds that many full-width 3x3 layers after the first (0: the paper's three layers); `relu` swaps the
    paper's tanh for ReLU, which a deeper stack trains faster with. Both are stored only when set, so weights
    saved before they existed load unchanged.
    """

    def __init__(self, scale: int = 2, features: int = 64, depth: int = 0, relu: int = 0):
        super().__init__()
        if scale not in (2, 3, 4):
            raise ValueError(f"ESPCN is built for x2, x3 and x4, not x{scale}")
        if features < 2:
            raise ValueError(f"ESPCN needs at least 2 features (its third layer has half as many), not {features}")
        self.scale = scale
        self._tag(
            "espcn",
            scale=scale,
            features=features,
            **({"depth": depth} if depth else {}),
            **({"relu": 1} if relu else {}),
        )
        activation = nn.ReLU if relu else nn.Tanh
        layers: list[nn.Module] = [nn.Conv2d(3, features, 5, padding=2), activation()]
        for _ in range(depth):
            layers += [nn.Conv2d(features, features, 3, padding=1), activation()]
        layers += [
            nn.Conv2d(features, features // 2, 3, padding=1),
            activation(),
            nn.Conv2d(features // 2, 3 * scale * scale, 3, padding=1),
        ]
        self.body = nn.Sequential(*layers)
        self.shuffle = nn.PixelShuffle(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        upscaled = F.interpolate(x, scale_factor=self.scale, mode="bicubic", align_corners=False)
        return upscaled + self.shuffle(self.body(x))


class DenoisingAutoencoder(_Tagged):
    """A convolutional autoencoder: two stride-2 convolutions down, two transposed convolutions back up."""

    def __init__(self, features: int = 32):
        super().__init__()
        self._tag("dae", features=features)
        wide = features * 2
        self.encoder = nn.Sequential(
            nn.Conv2d(3, features, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(features, features, 3, stride=2, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(features, wide, 3, stride=2, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(wide, wide, 3, padding=1),
            nn.ReLU(inplace=True),
        )
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(wide, features, 4, stride=2, padding=1),
            nn.ReLU(inplace=True),
            nn.ConvTranspose2d(features, features, 4, stride=2, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(features, 3, 3, padding=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        padded, height, width = pad_to_multiple(x, 4)
        return torch.sigmoid(self.decoder(self.encoder(padded)))[..., :height, :width]


class DeblurNet(_Tagged):
    """Encoder-decoder with residual blocks at each of three scales and a global residual skip."""

    def __init__(self, features: int = 16, blocks: int = 2):
        super().__init__()
        self._tag("deblurnet", features=features, blocks=blocks)
        f1, f2, f3 = features, features * 2, features * 4
        self.head = nn.Conv2d(3, f1, 3, padding=1)
        self.enc1 = nn.Sequential(*(ResBlock(f1) for _ in range(blocks)))
        self.down1 = nn.Conv2d(f1, f2, 3, stride=2, padding=1)
        self.enc2 = nn.Sequential(*(ResBlock(f2) for _ in range(blocks)))
        self.down2 = nn.Conv2d(f2, f3, 3, stride=2, padding=1)
        self.middle = nn.Sequential(*(ResBlock(f3) for _ in range(blocks)))
        self.up2 = nn.ConvTranspose2d(f3, f2, 4, stride=2, padding=1)
        self.dec2 = nn.Sequential(*(ResBlock(f2) for _ in range(blocks)))
        self.up1 = nn.ConvTranspose2d(f2, f1, 4, stride=2, padding=1)
        self.dec1 = nn.Sequential(*(ResBlock(f1) for _ in range(blocks)))
        self.tail = nn.Conv2d(f1, 3, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        padded, height, width = pad_to_multiple(x, 4)
        s1 = self.enc1(self.head(padded))
        s2 = self.enc2(self.down1(s1))
        deep = self.middle(self.down2(s2))
        d2 = self.dec2(self.up2(deep) + s2)
        d1 = self.dec1(self.up1(d2) + s1)
        return (padded + self.tail(d1))[..., :height, :width]


class DMCNN(_Tagged):
    """Dynamic multi-scale deblurring CNN: a three-level U-Net that also sees the input at 1/2 and 1/4 size
    (where a long blur is short), with channel attention on its skips; its features drive a per-pixel dynamic
    convolution of the input, plus a residual correction."""

    def __init__(self, features: int = 24, kernel: int = 5):
        super().__init__()
        self._tag("dmcnn", features=features, kernel=kernel)
        f1, f2, f3 = features, features * 2, features * 4
        self.enc1 = conv_block(3, f1)
        self.enc2 = conv_block(f1 + 3, f2, stride=2)
        self.enc3 = conv_block(f2 + 3, f3, stride=2)
        self.att1 = ChannelAttention(f1)
        self.att2 = ChannelAttention(f2)
        self.up2 = nn.ConvTranspose2d(f3, f2, 4, stride=2, padding=1)
        self.dec2 = conv_block(f2 * 2, f2)
        self.up1 = nn.ConvTranspose2d(f2, f1, 4, stride=2, padding=1)
        self.dec1 = conv_block(f1 * 2, f1)
        self.dynamic = DynamicConv(f1, kernel)
        self.residual = nn.Conv2d(f1, 3, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        padded, height, width = pad_to_multiple(x, 4)
        half = F.avg_pool2d(padded, 2)
        quarter = F.avg_pool2d(half, 2)
        s1 = self.enc1(padded)
        s2 = self.enc2(torch.cat([s1, F.interpolate(half, size=s1.shape[-2:], mode="nearest")], dim=1))
        deep = self.enc3(torch.cat([s2, F.interpolate(quarter, size=s2.shape[-2:], mode="nearest")], dim=1))
        d2 = self.dec2(torch.cat([self.up2(deep), self.att2(s2)], dim=1))
        d1 = self.dec1(torch.cat([self.up1(d2), self.att1(s1)], dim=1))
        return (self.dynamic(padded, d1) + self.residual(d1))[..., :height, :width]


class DnCNN(_Tagged):
    """DnCNN-style residual denoiser (Zhang et al. 2017) without batch norm: the network predicts the noise."""

    def __init__(self, features: int = 48, depth: int = 10):
        super().__init__()
        self._tag("dncnn", features=features, depth=depth)
        layers: list[nn.Module] = [nn.Conv2d(3, features, 3, padding=1), nn.ReLU(inplace=True)]
        for _ in range(depth - 2):
            layers += [nn.Conv2d(features, features, 3, padding=1), nn.ReLU(inplace=True)]
        layers.append(nn.Conv2d(features, 3, 3, padding=1))
        self.body = nn.Sequential(*layers)
        # He initialisation for the ReLU stack and a zero last layer: without batch norm, PyTorch's default
        # initialisation starved this deep plain stack (it stayed the identity: validation PSNR did not move).
        for layer in layers:
            if isinstance(layer, nn.Conv2d):
                nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
                nn.init.zeros_(layer.bias)
        nn.init.zeros_(layers[-1].weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x - self.body(x)


def _classes() -> dict[str, type[nn.Module]]:
    return {"espcn": ESPCN, "dae": DenoisingAutoencoder, "deblurnet": DeblurNet, "dmcnn": DMCNN, "dncnn": DnCNN}


def hyper_defaults(arch: str) -> dict[str, int]:
    """The sizes `studio train --hyper NAME=N` may set for an architecture, with their defaults."""
    import inspect

    parameters = inspect.signature(_classes()[arch]).parameters
    return {name: p.default for name, p in parameters.items() if name != "scale"}


def build(arch: str, scale: int = 1, **hyper: int) -> nn.Module:
    """A fresh network by its `studio train` name; `hyper` overrides the default sizes."""
    classes = _classes()
    if arch not in classes:
        raise ValueError(f"unknown architecture '{arch}' (known: {', '.join(ARCH_CODES)})")
    if arch == "espcn":
        return ESPCN(scale=scale, **hyper)
    if scale != 1:
        raise ValueError(f"{arch} is a scale-1 network")
    return classes[arch](**hyper)


def from_state_dict(state_dict: dict[str, Any]) -> nn.Module:
    """The network a state dict describes (its `studio_arch` and `hyper_*` buffers), with the weights loaded."""
    code = int(state_dict["studio_arch"])
    if code not in ARCH_NAMES:
        raise ValueError(f"studio_arch {code} names no known network")
    hyper = {key.removeprefix("hyper_"): int(value) for key, value in state_dict.items() if key.startswith("hyper_")}
    scale = hyper.pop("scale", 1)
    model = build(ARCH_NAMES[code], scale=scale, **hyper)
    model.load_state_dict(state_dict)
    return model


def _architecture() -> Any:
    from spandrel import Architecture, ImageModelDescriptor
    from spandrel.util import KeyCondition

    class StudioArch(Architecture[nn.Module]):
        def __init__(self) -> None:
            super().__init__(id="studio-trained", detect=KeyCondition.has_all("studio_arch"))

        def load(self, state_dict: dict) -> Any:
            model = from_state_dict(state_dict)
            scale = int(getattr(model, "scale", 1))
            name = ARCH_NAMES[int(state_dict["studio_arch"])]
            return ImageModelDescriptor(
                model,
                state_dict,
                architecture=self,
                purpose="SR" if scale > 1 else "Restoration",
                tags=[name],
                supports_half=True,
                supports_bfloat16=True,
                scale=scale,
                input_channels=3,
                output_channels=3,
            )

    return StudioArch()


@lru_cache(maxsize=1)
def register() -> None:
    """Add our trained architectures to spandrel's main registry, once per process (ahead of everything, since
    the `studio_arch` key is ours alone)."""
    from spandrel import MAIN_REGISTRY, ArchSupport

    MAIN_REGISTRY.add(ArchSupport.from_architecture(_architecture(), before=("DnCNN",)), ignore_duplicates=True)
