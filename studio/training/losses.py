"""The training loss: L1 + SSIM, plus a VGG perceptual term when VGG16's weights can be had.

VGG16's ImageNet weights are torchvision's `vgg16-397923af.pth`, an unpinned
url source read through the weight store (mirror by file name, then download
unless offline), like LPIPS's AlexNet. Without them the perceptual term is
skipped, and the run says so (in the log and the model card).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from studio.models.schema import SourceSpec
from studio.models.weights.store import WeightStore

VGG_SOURCE = SourceSpec.model_validate({"url": {"url": "https://download.pytorch.org/models/vgg16-397923af.pth"}})
VGG_TAPS = (3, 8, 15)  # relu1_2, relu2_2, relu3_3 of vgg16.features
SSIM_WEIGHT = 0.2
PERCEPTUAL_WEIGHT = 0.01
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def ssim_map(a: Any, b: Any) -> Any:
    """SSIM per pixel and channel (11x11 Gaussian window, sigma 1.5, valid region) of [0, 1] NCHW tensors."""
    import torch
    import torch.nn.functional as F

    channels = a.shape[1]
    axis = torch.arange(11, dtype=a.dtype) - 5
    window_1d = torch.exp(-(axis**2) / (2 * 1.5**2))
    window_1d = window_1d / window_1d.sum()
    window = (window_1d[:, None] * window_1d[None, :]).expand(channels, 1, 11, 11).contiguous()

    def blur(x: Any) -> Any:
        return F.conv2d(x, window, groups=channels)

    c1, c2 = 0.01**2, 0.03**2
    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a**2
    var_b = blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    return ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))


@dataclass
class LossReport:
    terms: tuple[str, ...]  # e.g. ("L1", "SSIM x0.2")
    skipped: str | None  # why the perceptual term is off, if it is

    def describe(self) -> str:
        text = " + ".join(self.terms)
        return f"{text} (perceptual term skipped: {self.skipped})" if self.skipped else text


class TrainingLoss:
    """L1 + SSIM_WEIGHT * (1 - SSIM) [+ PERCEPTUAL_WEIGHT * VGG feature L1]."""

    def __init__(self, store: WeightStore, perceptual: bool):
        self._vgg = None
        skipped = None
        if perceptual:
            self._vgg, skipped = _vgg_features(store)
        else:
            skipped = "not asked for (--no-perceptual)"
        terms = ["L1", f"SSIM x{SSIM_WEIGHT:g}"] + ([f"VGG16 perceptual x{PERCEPTUAL_WEIGHT:g}"] if self._vgg else [])
        self.report = LossReport(tuple(terms), skipped)

    @property
    def perceptual(self) -> bool:
        """Whether the VGG term is in the loss (asked for, and its weights found)."""
        return self._vgg is not None

    def __call__(self, output: Any, target: Any) -> Any:
        import torch.nn.functional as F

        loss = F.l1_loss(output, target) + SSIM_WEIGHT * (1 - ssim_map(output, target).mean())
        if self._vgg is not None:
            loss = loss + PERCEPTUAL_WEIGHT * self._perceptual(output, target)
        return loss

    def _perceptual(self, output: Any, target: Any) -> Any:
        import torch
        import torch.nn.functional as F

        mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
        x, y = (output - mean) / std, (target - mean) / std
        total = output.new_zeros(())
        for index, layer in enumerate(self._vgg):
            x, y = layer(x), layer(y)
            if index in VGG_TAPS:
                total = total + F.l1_loss(x, y.detach())
            if index == VGG_TAPS[-1]:
                break
        return total


def _vgg_features(store: WeightStore) -> tuple[Any, str | None]:
    """VGG16's frozen feature layers, or (None, why not)."""
    from studio.core.errors import WeightsError
    from studio.metrics.base import source_availability

    reason = source_availability(store, VGG_SOURCE, f"VGG16 weights {VGG_SOURCE.url.filename}")
    if reason:
        return None, reason
    try:
        path = store.resolve_source("vgg16", VGG_SOURCE)
    except WeightsError as exc:
        return None, f"VGG16 weights {VGG_SOURCE.url.filename} unavailable ({exc})"
    import torch
    import torchvision

    features = torchvision.models.vgg16(weights=None).features[: VGG_TAPS[-1] + 1]
    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
        wanted = {f"features.{key}" for key in features.state_dict()}
        features.load_state_dict(
            {key.removeprefix("features."): value for key, value in state.items() if key in wanted}
        )
    except Exception as exc:  # a wrong or corrupt file in a mirror
        return None, f"cannot read {path.name}: {str(exc).splitlines()[0][:120]}"
    features.eval()
    for parameter in features.parameters():
        parameter.requires_grad_(False)
    return features, None
