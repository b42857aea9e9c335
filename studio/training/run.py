"""One `studio train` run from start to card: check, load data, train (or resume), export, evaluate, register.

The front end (cli/train.py) parses arguments into TrainRequest and shows
progress; everything the run writes goes into its output folder:
NAME.safetensors, NAME.md (the model card), entry.yaml, curve.csv,
curve.png and checkpoint.pt (optimiser state too: for --resume, not for
shipping).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from studio.core.errors import UsageError
from studio.core.files import writable_folder
from studio.core.vocabulary import TRAIN_TASKS
from studio.engine.provenance import machine_info
from studio.models.archs.baselines import ARCH_CODES, TASKS_BY_ARCH
from studio.models.schema import MODEL_ID_PATTERN, ModelSpec
from studio.training import adversarial, card, curves
from studio.training.adversarial import ADVERSARIAL_TASKS
from studio.training.data import BUILTIN, check_patch_size, load_images
from studio.training.evaluate import Evaluation, evaluate
from studio.training.export import entry_yaml, register, registered_here, registry_entry, save_weights
from studio.training.loop import Progress, TrainConfig, TrainState, check_resume, train
from studio.training.losses import TrainingLoss

if TYPE_CHECKING:
    from studio.core.config import Settings
    from studio.models.loader import Loader
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
ENTRY_FILE = "entry.yaml"


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


@dataclass
class TrainOutcome:
    out: Path
    weights: Path
    card: Path
    entry: str  # the YAML text
    state: TrainState
    evaluation: Evaluation | None
    loss: str
    registered: Path | None = None
    replaced: bool = False  # the registry held an entry of this id, now replaced
    skipped: dict[str, str] = field(default_factory=dict)


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


def is_shipped(spec: ModelSpec) -> bool:
    """One of the networks we trained and ship (weights in the package), which a user's run may retrain under
    its own name (to reproduce it) but never register over."""
    from studio.core.config import BUILTIN_REGISTRY

    shipped = (BUILTIN_REGISTRY.parent / "trained").resolve()
    return spec.source.file is not None and spec.source.file.resolve().is_relative_to(shipped)


def _number(value: float) -> str:
    """1000000 as 1000000, not 1e+06; a learning rate as 1e-07."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def command_line(request: TrainRequest, out: Path) -> str:
    """The command that reproduces this run (what the card records)."""
    config = request.config
    parts = ["studio train", config.arch, f"--data {config.data}", f"--task {config.task}"]
    if config.task == "sr":
        parts.append(f"--scale {config.scale}")
    parts += [f"--steps {config.steps}", f"--patch {config.patch}", f"--batch {config.batch}"]
    if config.lr != TrainConfig.lr:
        parts.append(f"--lr {config.lr:g}")
    parts.append(f"--seed {config.seed}")
    if not config.perceptual:
        parts.append("--no-perceptual")
    if config.adversarial:
        parts.append("--adversarial")
        if config.adversarial_weight != adversarial.DEFAULT_WEIGHT:
            parts.append(f"--adversarial-weight {config.adversarial_weight:g}")
    if request.name:
        parts.append(f"--name {request.name}")
    parts.append(f"--out {out}")
    return " ".join(parts)


def run_training(
    request: TrainRequest,
    settings: Settings,
    registry: Registry,
    loader: Loader,
    on_progress: Progress | None = None,
    on_note: Callable[[str], None] | None = None,
) -> TrainOutcome:
    import torch

    from studio.models.archs.baselines import build

    note = on_note or (lambda _text: None)
    check(request, registry)
    config = request.config
    images = load_images(config.data, settings.max_pixels)
    check_patch_size(images, config.sharp_side)
    out = request.out or settings.data_dir / "trained" / request.model_id
    if images.source != BUILTIN and out.resolve().is_relative_to(Path(images.source).resolve()):
        raise UsageError(f"--out {out} is inside the --data folder: its curve.png would be trained on next time")
    out = writable_folder(out)
    saved = check_resume(out, config, request.resume)
    torch.manual_seed(config.seed)
    model = build(config.arch, scale=config.scale, **config.hyper)
    parameters = sum(p.numel() for p in model.parameters())
    loss = TrainingLoss(loader.store, config.perceptual)
    if config.adversarial:
        loss.report.terms += (adversarial.describe(config.steps, config.adversarial_weight),)
    note(
        f"{request.model_id}: {config.arch}, {parameters:,} parameters; {len(images.train)} training images, "
        f"{len(images.held_out)} held out ({', '.join(sorted(images.held_out))}); loss {loss.report.describe()}"
    )
    psnr_label = "PSNR-Y (dB)" if config.task == "sr" else "PSNR (dB)"
    weights = out / f"{request.model_id}.safetensors"

    def export(state: TrainState) -> str:  # at every checkpoint: a long run can be watched, and used as it goes
        curves.write_csv(state.curve, out / "curve.csv")
        curves.write_png(state.curve, out / "curve.png", f"{request.model_id}: held-out validation", psnr_label)
        return save_weights(model, weights)

    state = train(model, config, images, loss, out, saved, settings.threads, on_progress, export)
    sha256 = export(state)
    entry = registry_entry(config, request.model_id, weights.resolve(), sha256, state.step, images.source)
    evaluation = None
    if request.evaluate and not state.interrupted:
        spec = ModelSpec.model_validate(entry)
        note(f"evaluating on {len(images.held_out)} held-out image(s) against the classical baselines")
        evaluation = evaluate(spec, config.task, config.scale, images, registry, loader)
    facts = card.CardFacts(
        config=config,
        model_id=request.model_id,
        parameters=parameters,
        state=state,
        images=images,
        loss=loss.report.describe(),
        sha256=sha256,
        weights_name=weights.name,
        command=command_line(request, out),
        machine=machine_info(settings),
        evaluation=evaluation,
    )
    card_path = out / f"{request.model_id}.md"
    card_path.write_text(card.render(facts))
    text = entry_yaml(entry)
    (out / ENTRY_FILE).write_text(text)
    outcome = TrainOutcome(
        out, weights, card_path, text, state, evaluation, loss.report.describe(), skipped=images.skipped
    )
    target = register_target(settings)
    if not state.interrupted and (request.register or registered_here(target, entry)):
        # a resumed run of a registered model keeps its entry's sha256 true (its weights file changed)
        outcome.registered = target
        outcome.replaced = register(entry, target)
    return outcome


def register_target(settings: Settings) -> Path:
    """The user registry `--register` writes: the last one named (STUDIO_REGISTRY / --registry), else the data
    directory's trained.yaml (which the studio merges whenever it exists)."""
    from studio.core.config import BUILTIN_REGISTRY, TRAINED_REGISTRY

    named = [path for path in settings.registry_files if path != BUILTIN_REGISTRY]
    return named[-1] if named else settings.data_dir / TRAINED_REGISTRY
