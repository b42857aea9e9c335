"""LPIPS (Zhang et al. 2018) with the AlexNet backbone, lower is more similar.

Two weight files are needed and looked up by name in STUDIO_WEIGHTS_DIR/lpips
or the weights mirror: torchvision's `alexnet-owt-7be5be79.pth` and LPIPS v0.1's
linear heads saved as `lpips_alex_v0.1.pth`. Neither has a published sha256 we
can pin offline, so no checksum is claimed; without them the metric reports
"unavailable: weights not downloaded".
"""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

from studio.core.errors import WeightsNotAvailableError
from studio.metrics.base import MetricContext
from studio.models.weights.download import fetch_to, mirror_locations

BACKBONE = "alexnet-owt-7be5be79.pth"
HEADS = "lpips_alex_v0.1.pth"
TAPS = (1, 4, 7, 9, 11)  # ReLU outputs of alexnet.features
SHIFT = (-0.030, -0.088, -0.188)
SCALE = (0.458, 0.448, 0.450)
_LOCK = threading.Lock()


def _local(store, name: str) -> Path | None:
    folder = store.settings.weights_dir / "lpips"
    if (folder / name).exists():
        return folder / name
    for location in mirror_locations(store.settings.weights_mirror, name):
        return fetch_to(location, folder / name, sha256=None)
    return None


def availability(store) -> str | None:
    if store is None:
        return "no weights store"
    folder = store.settings.weights_dir / "lpips"
    names = (BACKBONE, HEADS)
    found = all((folder / n).exists() or any(mirror_locations(store.settings.weights_mirror, n)) for n in names)
    return None if found else "weights not downloaded"


@lru_cache(maxsize=2)
def _network(store):
    import torch
    import torchvision

    paths = [_local(store, name) for name in (BACKBONE, HEADS)]
    if None in paths:
        raise WeightsNotAvailableError("LPIPS weights not downloaded")
    backbone = torchvision.models.alexnet(weights=None)
    backbone.load_state_dict(torch.load(str(paths[0]), map_location="cpu", weights_only=True))
    heads_state = torch.load(str(paths[1]), map_location="cpu", weights_only=True)
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
