"""The layers our trained networks (baselines.py) are built from: residual blocks, channel attention,
a per-pixel dynamic convolution, and the padding that lets a downsampling network take any input size."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, int, int]:
    height, width = x.shape[-2:]
    bottom, right = -height % multiple, -width % multiple
    if bottom or right:
        x = F.pad(x, (0, right, 0, bottom), mode="replicate")
    return x, height, width


class ResBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.relu(self.conv1(x)))


class ChannelAttention(nn.Module):
    """Squeeze-and-excitation: reweights a skip's channels by their global average."""

    def __init__(self, channels: int, reduction: int = 4):
        super().__init__()
        self.fc1 = nn.Conv2d(channels, max(4, channels // reduction), 1)
        self.fc2 = nn.Conv2d(max(4, channels // reduction), channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weights = torch.sigmoid(self.fc2(F.relu(self.fc1(x.mean(dim=(2, 3), keepdim=True)))))
        return x * weights


def conv_block(in_channels: int, out_channels: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1),
        nn.LeakyReLU(0.1, inplace=True),
        nn.Conv2d(out_channels, out_channels, 3, padding=1),
        nn.LeakyReLU(0.1, inplace=True),
    )


class DynamicConv(nn.Module):
    """Applies a predicted k x k kernel per pixel (shared by the three colour channels) to an image."""

    def __init__(self, features: int, kernel: int):
        super().__init__()
        self.kernel = kernel
        self.predict = nn.Conv2d(features, kernel * kernel, 3, padding=1)
        identity = torch.zeros(1, kernel * kernel, 1, 1)
        identity[0, kernel * kernel // 2] = 1.0
        self.register_buffer("identity", identity, persistent=False)

    def forward(self, image: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        batch, channels, height, width = image.shape
        k = self.kernel
        # B x k^2 x H x W, free to be negative (a deconvolution needs lobes); centred and added to the identity
        # kernel, so each sums to one (brightness is kept) and an untrained network passes the image through.
        weights = self.predict(features)
        weights = weights - weights.mean(dim=1, keepdim=True) + self.identity
        patches = F.unfold(F.pad(image, (k // 2,) * 4, mode="replicate"), k)  # B x 3k^2 x HW
        patches = patches.view(batch, channels, k * k, height, width)
        return (patches * weights.unsqueeze(1)).sum(dim=2)
