"""A trained network as the studio uses it: a .safetensors file and its registry entry (`file:` + sha256).

`--register` appends the entry to a user registry YAML (STUDIO_REGISTRY or
--registry, else the data directory's `trained.yaml`), replacing an entry of
the same id; the rest of that file is kept as it was.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from studio.core.errors import UsageError
from studio.training.loop import TrainConfig

TASK_NAMES = {"sr": "super-resolution", "deblur": "deblur", "denoise": "denoise"}
PAPERS = {
    "espcn": ("ESPCN", "https://arxiv.org/abs/1609.05158"),
    "dae": (
        "Denoising autoencoder",
        "https://www.cs.toronto.edu/~larocheh/publications/icml-2008-denoising-autoencoders.pdf",
    ),
    "deblurnet": ("DeblurNet", "https://arxiv.org/abs/1612.02177"),
    "dmcnn": ("DMCNN", "https://arxiv.org/abs/1605.09673"),
    "dncnn": ("DnCNN", "https://arxiv.org/abs/1608.03981"),
}
NOT_TILEABLE = ("dmcnn",)  # channel attention pools over the whole image: tiles would change its output


def save_weights(model: Any, path: Path) -> str:
    """Write the network's state dict (weights and its describing buffers) as safetensors; return its sha256."""
    from safetensors.torch import save_file

    from studio.models.weights.download import sha256_of

    state = {key: value.detach().contiguous() for key, value in model.state_dict().items()}
    partial = path.with_suffix(".partial")
    save_file(state, str(partial), metadata={"format": "pt"})
    partial.chmod(0o644)  # weights to share, like any file the user makes
    os.replace(partial, path)
    return sha256_of(path)


def registry_entry(
    config: TrainConfig, model_id: str, weights: Path, sha256: str, steps: int, data: str
) -> dict[str, Any]:
    """The model_registry.yaml entry for a trained network (a `file:` source, checked by its sha256)."""
    title, link = PAPERS[config.arch]
    scale = f" x{config.scale}" if config.task == "sr" else ""
    entry: dict[str, Any] = {
        "id": model_id,
        "name": f"{title}{scale} {config.task} (trained: {model_id})",
        "task": TASK_NAMES[config.task],
        "scale": config.scale,
        "backend": "torch",
        "source": {"file": str(weights), "sha256": sha256},
        "license": "Apache-2.0" if data == "builtin" else "as the training images",
        "description": f"{title} trained by `studio train` for {steps} steps on "
        + ("the built-in set." if data == "builtin" else f"the images in {data}."),
        "link": link,
        "tags": ["trained"],
    }
    entry["options"] = {"architecture": config.arch}  # its measured memory per pixel (engine/footprint.py)
    if config.arch in NOT_TILEABLE:
        entry["options"]["tileable"] = False
    return entry


def entry_yaml(entry: dict[str, Any]) -> str:
    """The entry as it reads in a registry file's `models:` list."""
    return yaml.safe_dump([entry], sort_keys=False, width=120)


def registered_here(registry_file: Path, entry: dict[str, Any]) -> bool:
    """Whether the registry file already holds this id for this same weights file."""
    try:
        models = (yaml.safe_load(registry_file.read_text()) or {}).get("models") or []
    except (OSError, yaml.YAMLError, AttributeError):
        return False
    return any(
        isinstance(m, dict)
        and m.get("id") == entry["id"]
        and (m.get("source") or {}).get("file") == entry["source"]["file"]
        for m in models
    )


def register(entry: dict[str, Any], registry_file: Path) -> bool:
    """Add (or replace, by id) the entry in a user registry file, creating it when missing; True if it replaced one."""
    data: dict[str, Any] = {"version": 1, "models": []}
    if registry_file.exists():
        try:
            loaded = yaml.safe_load(registry_file.read_text()) or {}
        except yaml.YAMLError as exc:
            raise UsageError(f"--register: {registry_file} is not valid YAML ({str(exc).splitlines()[0]})") from None
        if not isinstance(loaded, dict) or not isinstance(loaded.get("models", []), list):
            raise UsageError(f"--register: {registry_file} is not a registry file (it needs a 'models:' list)")
        data = {"version": 1, **loaded, "models": list(loaded.get("models") or [])}
    kept = [m for m in data["models"] if not (isinstance(m, dict) and m.get("id") == entry["id"])]
    replaced = len(kept) < len(data["models"])
    data["models"] = [*kept, entry]
    registry_file.parent.mkdir(parents=True, exist_ok=True)
    partial = registry_file.with_suffix(".partial")
    partial.write_text(yaml.safe_dump(data, sort_keys=False, width=120))
    os.replace(partial, registry_file)
    return replaced
