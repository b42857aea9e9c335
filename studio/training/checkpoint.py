"""`studio train`'s checkpoint file: written atomically, and checked before a run continues from it.

Besides the network's and optimiser's state, a checkpoint records the run's
settings and what the run was (its model id, whether the perceptual term
really ran), so `--resume` continues only the run it names, with the loss it
trained with, and says in one line what differs otherwise.
"""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studio.core.errors import UsageError

if TYPE_CHECKING:
    from studio.training.loop import TrainConfig

CHECKPOINT = "checkpoint.pt"
# Settings that must match for --resume to continue a run (steps, checkpoint and validation intervals may change).
# Whether the perceptual term joins the loss is checked as it really was (see identity()), not as asked for.
RESUME_KEYS = (
    "arch", "task", "scale", "data", "patch", "batch", "lr", "seed", "hyper", "adversarial", "adversarial_weight",
    "downscale",
)  # fmt: skip


def checkpoint_path(out: Path) -> Path:
    return out / CHECKPOINT


def config_dict(config: TrainConfig) -> dict[str, Any]:
    return asdict(config)


def identity(model_id: str, perceptual: bool) -> dict[str, Any]:
    """What a checkpoint says the run is: its model id, and whether the VGG term was in its loss (it is skipped
    when asked for but its weights are missing, and a run resumed without it then trains the same loss)."""
    return {"model_id": model_id, "perceptual": perceptual}


def save(path: Path, payload: dict[str, Any]) -> None:
    """Write atomically: a crash mid-write leaves the previous checkpoint whole."""
    import torch

    partial = path.with_suffix(".partial")
    torch.save(payload, str(partial))
    os.replace(partial, path)


def check_resume(
    out: Path, config: TrainConfig, resume: bool, run: dict[str, Any] | None = None
) -> dict[str, Any] | None:
    """The checkpoint to continue from, or None for a fresh run; one-line errors where the two disagree.

    `run` is this run's `identity()`; checkpoints written before identities were kept compare the perceptual
    setting as asked for.
    """
    import torch

    path = checkpoint_path(out)
    if not path.exists():
        if resume:
            raise UsageError(f"--resume: {out} holds no {CHECKPOINT} to continue from")
        return None
    if not resume:
        raise UsageError(
            f"{out} already holds a training run ({CHECKPOINT}): add --resume to continue it, or give another --out"
        )
    try:
        saved = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:
        raise UsageError(f"--resume: cannot read {path}: {str(exc).splitlines()[0][:160]}") from None
    before = {**config_dict(type(config)(config.arch, config.task)), **saved.get("config", {})}  # older runs: defaults
    now = config_dict(config)
    keys = RESUME_KEYS if run is not None and "run" in saved else (*RESUME_KEYS, "perceptual")
    for key in keys:
        if before[key] != now[key]:
            raise UsageError(
                f"--resume: {key} was {_shown(key, before[key])} in {path}, now {_shown(key, now[key])} "
                "(resume with the same settings, or start another --out)"
            )
    if run is not None and "run" in saved:
        _check_identity(out, saved["run"], run)
    if saved["step"] > config.steps:
        raise UsageError(
            f"--resume: the run in {out} already took {saved['step']} steps, more than --steps {config.steps}"
        )
    return saved  # at exactly --steps, nothing is trained: the run is finished (weights, evaluation, card)


def _shown(key: str, value: Any) -> str:
    """A setting as the command line gives it: network sizes as `--hyper` pairs, the rest as values."""
    if key == "hyper":
        return " ".join(f"--hyper {name}={size}" for name, size in sorted(value.items())) or "the default sizes"
    return repr(value)


def _check_identity(out: Path, before: dict[str, Any], now: dict[str, Any]) -> None:
    if before["model_id"] != now["model_id"]:
        raise UsageError(
            f"--resume: the run in {out} trains '{before['model_id']}', not '{now['model_id']}' "
            f"(resume it with --name {before['model_id']}, or start another --out)"
        )
    if before["perceptual"] and not now["perceptual"]:
        raise UsageError(
            f"--resume: the run in {out} trained with the perceptual (VGG) term, which is now off or its weights "
            "are missing (resume with it, or start another --out)"
        )
    if now["perceptual"] and not before["perceptual"]:
        raise UsageError(
            f"--resume: the run in {out} trained without the perceptual (VGG) term, which would now join the loss "
            "(add --no-perceptual, or start another --out)"
        )
