"""What one `studio train` invocation asks for, and the one-line checks it must pass before any data is read."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from studio.core.errors import UsageError
from studio.core.vocabulary import TRAIN_DOWNSCALES, TRAIN_TASKS
from studio.models.archs.baselines import ARCH_CODES, TASKS_BY_ARCH
from studio.models.schema import MODEL_ID_PATTERN, ModelSpec
from studio.training.adversarial import ADVERSARIAL_TASKS
from studio.training.loop import TrainConfig

if TYPE_CHECKING:
    from studio.models.registry import Registry

LIMITS = {
    "steps": (1, 1_000_000),
    "patch": (16, 512),
    "batch": (1, 256),
    "seed": (0, 2**32 - 1),
    "lr": (1e-7, 1.0),
    "checkpoint_every": (1, 1_000_000),
    "validate_every": (1, 1_000_000),
}
HYPER_LIMIT = 256  # the largest size --hyper accepts (features, depth, blocks)
SWITCHES = ("relu",)  # --hyper values that turn something on or off
MAX_PARAMETERS = 10_000_000  # a network for CPU training; ours have tens to hundreds of thousands


@dataclass(frozen=True)
class TrainRequest:
    config: TrainConfig
    out: Path | None = None  # default: DATA_DIR/trained/NAME
    name: str | None = None  # the model id; default: the config's name
    resume: bool = False
    register: bool = False
    evaluate: bool = True

    @property
    def model_id(self) -> str:
        return self.name or self.config.name


def check(request: TrainRequest, registry: Registry) -> None:
    """One-line UsageErrors for anything that cannot train, before any data is read."""
    config = request.config
    if config.arch not in ARCH_CODES:
        raise UsageError(f"unknown architecture '{config.arch}' (use one of {', '.join(ARCH_CODES)})")
    if config.task not in TRAIN_TASKS:
        raise UsageError(f"--task must be one of {', '.join(TRAIN_TASKS)}, got '{config.task}'")
    if config.task not in TASKS_BY_ARCH[config.arch]:
        raise UsageError(f"{config.arch} trains for {' or '.join(TASKS_BY_ARCH[config.arch])}, not {config.task}")
    if config.task == "sr" and config.scale not in (2, 3, 4):
        raise UsageError(f"--scale must be 2, 3 or 4 for super-resolution, got {config.scale}")
    if config.task != "sr" and config.scale != 1:
        raise UsageError(f"--scale applies to super-resolution only ({config.task} networks keep the size)")
    for key, (low, high) in LIMITS.items():
        value = getattr(config, key)
        if not low <= value <= high:
            raise UsageError(
                f"--{key.replace('_', '-')} must be between {_number(low)} and {_number(high)}, got {_number(value)}"
            )
    if config.adversarial and config.task not in ADVERSARIAL_TASKS:
        raise UsageError(f"--adversarial is for super-resolution and deblurring networks, not {config.task}")
    if not 0 < config.adversarial_weight <= 1:
        raise UsageError(f"--adversarial-weight must be above 0 and at most 1, got {config.adversarial_weight:g}")
    if config.downscale not in TRAIN_DOWNSCALES:
        raise UsageError(f"--downscale must be one of {', '.join(TRAIN_DOWNSCALES)}, got '{config.downscale}'")
    if config.downscale != "matlab" and config.task != "sr":
        raise UsageError("--downscale applies to super-resolution only")
    _check_hyper(config)
    if config.patch % 4:
        raise UsageError(f"--patch must be a multiple of 4 (the networks downsample twice), got {config.patch}")
    if request.name is not None and not re.match(MODEL_ID_PATTERN, request.name):
        raise UsageError(f"--name '{request.name}' is not a valid model id (lower-case letters, digits, . _ -)")
    if request.model_id in registry:
        existing = registry.get(request.model_id)
        if "trained" not in existing.tags:
            raise UsageError(f"--name '{request.model_id}' is already a catalogue model; pick another name")
        if request.register and is_shipped(existing):
            raise UsageError(
                f"--name '{request.model_id}' is a model the studio ships: --register would replace it for every "
                "run on this machine (pick another name)"
            )


def _check_hyper(config: TrainConfig) -> None:
    """--hyper names the architecture's own sizes, and the network they make can be built."""
    from studio.models.archs.baselines import build, hyper_defaults

    known = hyper_defaults(config.arch)
    for name, value in config.hyper.items():
        if name not in known:
            raise UsageError(f"--hyper: {config.arch} has no '{name}' (it has {', '.join(known)})")
        if name in SWITCHES and value not in (0, 1):
            raise UsageError(f"--hyper {name} is a switch: 0 or 1, got {value}")
        low = 0 if known[name] == 0 else 1  # a size whose default is 0 (an extra depth) may be 0; widths may not
        if not low <= value <= HYPER_LIMIT:
            raise UsageError(f"--hyper {name} must be between {low} and {HYPER_LIMIT}, got {value}")
    if not config.hyper:
        return
    import warnings

    import torch

    try:  # a forward pass too: some sizes build but cannot run (features=1 halves to none)
        with warnings.catch_warnings():  # torch warns of the empty layers it is about to fail on
            warnings.simplefilter("ignore")
            network = build(config.arch, scale=config.scale, **config.hyper)
        parameters = sum(p.numel() for p in network.parameters())
        if parameters <= MAX_PARAMETERS:
            with torch.no_grad():
                network(torch.zeros(1, 3, 16, 16))
    except (ValueError, RuntimeError) as exc:
        raise UsageError(
            f"--hyper {_hyper_text(config.hyper)}: {config.arch} cannot run at these sizes "
            f"({str(exc).splitlines()[0][:120]})"
        ) from None
    if parameters > MAX_PARAMETERS:
        raise UsageError(
            f"--hyper {_hyper_text(config.hyper)} makes {parameters:,} parameters, over the {MAX_PARAMETERS:,} "
            "a CPU run is sized for"
        )


def _hyper_text(hyper: dict[str, int]) -> str:
    return " ".join(f"{name}={value}" for name, value in sorted(hyper.items()))


def is_shipped(spec: ModelSpec) -> bool:
    """One of the networks we trained and ship (weights in the package), which a user's run may retrain under
    its own name (to reproduce it) but never register over."""
    from studio.core.config import BUILTIN_REGISTRY

    shipped = (BUILTIN_REGISTRY.parent / "trained").resolve()
    return spec.source.file is not None and spec.source.file.resolve().is_relative_to(shipped)


def _number(value: float) -> str:
    """1000000 as 1000000, not 1e+06; a learning rate as 1e-07."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
