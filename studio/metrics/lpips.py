"""LPIPS (Zhang et al. 2018) with the AlexNet backbone, lower is more similar.

Two weight files, both fetched through the weight store like BRISQUE's (weights
mirror by file name first, then the upstream URL unless offline): torchvision's
`alexnet-owt-7be5be79.pth` and LPIPS v0.1's linear heads (`alex.pth` in the LPIPS
repository), saved as `lpips_alex_v0.1.pth`. Neither has a sha256 we could verify
offline, so both are unpinned url sources (refused under STUDIO_REQUIRE_PINNED=1
until pinned); without them the metric reports "unavailable: weights not downloaded".
"""

from __future__ import annotations

import threading
from functools import lru_cache

import numpy as np

from studio.metrics.base import MetricContext
from studio.models.schema import SourceSpec
from studio.models.weights.download import url_locations

BACKBONE_SOURCE = SourceSpec.model_validate(
    {"url": {"url": "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth"}}
)
HEADS_SOURCE = SourceSpec.model_validate(
    {
        "url": {
            "url": "https://raw.githubusercontent.com/richzhang/PerceptualSimilarity/master/lpips/weights/v0.1/alex.pth",
            "save_as": "lpips_alex_v0.1.pth",
        }
    }
)
SOURCES = (BACKBONE_SOURCE, HEADS_SOURCE)
BACKBONE = BACKBONE_SOURCE.url.filename  # alexnet-owt-7be5be79.pth
HEADS = HEADS_SOURCE.url.filename  # lpips_alex_v0.1.pth
TAPS = (1, 4, 7, 9, 11)  # ReLU outputs of alexnet.features
SHIFT = (-0.030, -0.088, -0.188)
SCALE = (0.458, 0.448, 0.450)
_LOCK = threading.Lock()


def availability(store) -> str | None:
    """None when both files are cached or fetchable now (mirror, or network when allowed)."""
    if store is None:
        return "no weights store"
    settings = store.settings
    for source in SOURCES:
        if store.source_state(source).label == "cached":
            continue
        if settings.require_pinned:
            return "weights not downloaded (unpinned, and STUDIO_REQUIRE_PINNED=1 is set)"
        if not url_locations(source.url, settings):
            return "weights not downloaded"
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
