"""One `studio train` run from start to card: check, load data, train (or resume), export, evaluate, register.

The front end (cli/train.py) parses arguments into TrainRequest and shows
progress; everything the run writes goes into its output folder:
NAME.safetensors, NAME.md (the model card), entry.yaml, curve.csv,
curve.png, evaluation.json (the card's table, kept for a later
`--no-evaluate` pass over the same weights) and checkpoint.pt (optimiser
state too: for --resume, not for shipping).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from studio.core.errors import UsageError
from studio.core.files import writable_folder
from studio.engine.provenance import machine_info
from studio.models.schema import ModelSpec
from studio.training import adversarial, card, checkpoint, curves
from studio.training.checkpoint import check_resume
from studio.training.data import BUILTIN, check_patch_size, load_images
from studio.training.evaluate import Evaluation, evaluate, load_evaluation, save_evaluation
from studio.training.export import entry_yaml, register, registered_here, registry_entry, save_weights
from studio.training.loop import Progress, TrainConfig, TrainState, train
from studio.training.losses import TrainingLoss
from studio.training.request import TrainRequest, check

if TYPE_CHECKING:
    from studio.core.config import Settings
    from studio.models.loader import Loader
    from studio.models.registry import Registry

ENTRY_FILE = "entry.yaml"
EVALUATION_FILE = "evaluation.json"


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


def command_line(request: TrainRequest, out: Path) -> str:
    """The command that reproduces this run (what the card records)."""
    config = request.config
    parts = ["studio train", config.arch, f"--data {config.data}", f"--task {config.task}"]
    if config.task == "sr":
        parts.append(f"--scale {config.scale}")
    parts += [f"--steps {config.steps}", f"--patch {config.patch}", f"--batch {config.batch}"]
    parts += [f"--hyper {name}={value}" for name, value in sorted(config.hyper.items())]
    if config.downscale != TrainConfig.downscale:
        parts.append(f"--downscale {config.downscale}")
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
    loss = TrainingLoss(loader.store, config.perceptual)
    run = checkpoint.identity(request.model_id, loss.perceptual)
    saved = check_resume(out, config, request.resume, run)
    torch.manual_seed(config.seed)
    model = build(config.arch, scale=config.scale, **config.hyper)
    parameters = sum(p.numel() for p in model.parameters())
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

    state = train(model, config, images, loss, out, saved, settings.threads, on_progress, export, run)
    sha256 = export(state)
    entry = registry_entry(config, request.model_id, weights.resolve(), sha256, state.step, images.source)
    evaluation = None
    if request.evaluate and not state.interrupted:
        spec = ModelSpec.model_validate(entry)
        note(f"evaluating on {len(images.held_out)} held-out image(s) against the classical baselines")
        try:
            evaluation = evaluate(spec, config.task, config.scale, images, registry, loader)
        except KeyboardInterrupt:
            raise KeyboardInterrupt(
                f"interrupted during the evaluation: the trained weights are saved in {out} (the same command with "
                "--resume evaluates them and writes the card)"
            ) from None
        save_evaluation(evaluation, out / EVALUATION_FILE, sha256)
    elif not state.interrupted:
        evaluation = load_evaluation(out / EVALUATION_FILE, sha256)
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
