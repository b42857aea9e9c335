"""`studio train`'s loop: AdamW with cosine decay over seeded, on-the-fly degraded patches.

Deterministic on a CPU: the network's initial weights come from the seed, and
each step's batch from (seed, step), so a run resumed from a checkpoint takes
the same steps as one that never stopped. A checkpoint is written every
`checkpoint_every` steps and on Ctrl-C, atomically, so what was saved is never
lost; the weights exported at each checkpoint are usable at once.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from studio.metrics.fullref import crop_border, psnr, ssim, to_y
from studio.models.backends.torch import run_eager
from studio.training.adversarial import DEFAULT_WEIGHT, Adversary
from studio.training.checkpoint import checkpoint_path, config_dict, save
from studio.training.data import ImageSet
from studio.training.degradations import held_out_input, training_pair

WARMUP_SHARE = 0.02
BLUR_MARGIN = 16  # px read around a deblurring patch, then cut away: the longest kernel's radius
VALIDATION_SIDE = 192  # px of sharp image per held-out crop while training (the final evaluation uses it all)


@dataclass(frozen=True)
class TrainConfig:
    arch: str
    task: str  # deblur | denoise | sr
    scale: int = 1
    steps: int = 2000
    patch: int = 48  # px of network input per side
    batch: int = 16
    lr: float = 2e-3
    weight_decay: float = 1e-4
    seed: int = 0
    checkpoint_every: int = 200
    validate_every: int = 100
    perceptual: bool = True
    adversarial: bool = False  # a PatchGAN discriminator joins the loss (sr and deblur)
    adversarial_weight: float = DEFAULT_WEIGHT
    hyper: dict[str, int] = field(default_factory=dict)
    downscale: str = "matlab"  # super-resolution inputs: "matlab" (antialiased), or "mixed" (half OpenCV's too)
    data: str = "builtin"  # a folder, or "builtin": part of the run (its held-out split), so --resume checks it

    @property
    def name(self) -> str:
        return f"{self.arch}-{self.task}" + (f"-x{self.scale}" if self.task == "sr" else "")

    @property
    def sharp_side(self) -> int:
        """The sharp crop a sample is cut from (before the blur margin is added)."""
        return self.patch * self.scale


@dataclass
class Curve:
    """Validation PSNR/SSIM on the held-out crops, and the training loss, by step."""

    rows: list[dict[str, float]] = field(default_factory=list)
    # What doing nothing scores on the same crops (the degraded input; bicubic for super-resolution): the level
    # the plot draws, so a short run's few points read against it rather than against auto-zoomed axes.
    floor: tuple[str, float] | None = None

    def add(self, step: int, loss: float, psnr_db: float, ssim_value: float, seconds: float) -> None:
        self.rows.append({"step": step, "loss": loss, "psnr": psnr_db, "ssim": ssim_value, "seconds": seconds})


@dataclass
class TrainState:
    step: int
    seconds: float  # training wall time, summed over resumed sessions
    curve: Curve
    interrupted: bool = False


Progress = Callable[[int, int, float, float], None]  # step, steps, loss, seconds so far


def _lr_factor(step: int, steps: int) -> float:
    """Linear warm-up for the first 2 % of steps, then cosine decay to zero."""
    warmup = max(1, int(steps * WARMUP_SHARE))
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, steps - warmup))
    return 0.5 * (1 + math.cos(math.pi * progress))


def _augment(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One of the eight flips and rotations."""
    image = np.rot90(image, int(rng.integers(4)))
    return np.ascontiguousarray(image[:, ::-1] if rng.random() < 0.5 else image)


def sample_batch(config: TrainConfig, images: ImageSet, step: int) -> tuple[np.ndarray, np.ndarray]:
    """(inputs, targets) as float32 NCHW in [0, 1], the same for the same (seed, step)."""
    rng = np.random.default_rng([config.seed, step])
    names = sorted(images.train)
    margin = BLUR_MARGIN if config.task == "deblur" else 0
    side = config.sharp_side + 2 * margin
    inputs, targets = [], []
    for _ in range(config.batch):
        image = images.train[names[int(rng.integers(len(names)))]]
        height, width = image.shape[:2]
        crop_side = min(side, height, width)
        top = int(rng.integers(height - crop_side + 1))
        left = int(rng.integers(width - crop_side + 1))
        crop = _augment(image[top : top + crop_side, left : left + crop_side], rng)
        if crop_side < side:  # an image only a little larger than the patch: pad the margin by reflection
            pad = (side - crop_side + 1) // 2
            crop = np.pad(crop, ((pad, pad), (pad, pad), (0, 0)), mode="reflect")[:side, :side]
        degraded, target = training_pair(config.task, crop, config.scale, rng, margin, config.downscale)
        inputs.append(degraded)
        targets.append(target)
    to_tensor = np.float32(1 / 255)
    return (
        np.stack(inputs).transpose(0, 3, 1, 2).astype(np.float32) * to_tensor,
        np.stack(targets).transpose(0, 3, 1, 2).astype(np.float32) * to_tensor,
    )


def validation_set(config: TrainConfig, images: ImageSet) -> list[tuple[np.ndarray, np.ndarray]]:
    """A central crop of each held-out image, degraded with that image's fixed seed."""
    pairs = []
    for index, name in enumerate(sorted(images.held_out)):
        image = images.held_out[name]
        height, width = image.shape[:2]
        side = min(VALIDATION_SIDE, height, width)
        side -= side % max(4, config.scale)
        top, left = (height - side) // 2, (width - side) // 2
        degraded, reference, _ = held_out_input(
            config.task, image[top : top + side, left : left + side], config.scale, index
        )
        pairs.append((degraded, reference))
    return pairs


def _cropped(config: TrainConfig, output: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both images without the border the metrics leave out (the scale for super-resolution, none otherwise)."""
    border = config.scale if config.scale > 1 else 0
    return crop_border(output, border), crop_border(reference, border)


def _psnr(config: TrainConfig, output: np.ndarray, target: np.ndarray) -> float:
    """Luma PSNR for super-resolution, RGB otherwise, on cropped images."""
    return psnr(to_y(output), to_y(target)) if config.task == "sr" else psnr(output, target)


def floor(config: TrainConfig, pairs: list[tuple[np.ndarray, np.ndarray]]) -> tuple[str, float]:
    """(name, mean PSNR) of doing nothing on the validation crops, scored as validate() scores the network."""
    from studio.models.backends.classical import resize

    psnrs = []
    for degraded, reference in pairs:
        baseline = resize(degraded, config.scale) if config.task == "sr" else degraded
        psnrs.append(_psnr(config, *_cropped(config, baseline, reference)))
    return ("bicubic" if config.task == "sr" else "input"), float(np.mean(psnrs))


def validate(model: Any, config: TrainConfig, pairs: list[tuple[np.ndarray, np.ndarray]]) -> tuple[float, float]:
    """Mean PSNR (luma for super-resolution, RGB otherwise; border = scale) and mean SSIM over the crops."""
    model.eval()
    psnrs, ssims = [], []
    for degraded, reference in pairs:
        output, target = _cropped(config, run_eager(model, degraded), reference)
        psnrs.append(_psnr(config, output, target))
        ssims.append(ssim(output, target))
    model.train()
    return float(np.mean(psnrs)), float(np.mean(ssims))


def train(
    model: Any,
    config: TrainConfig,
    images: ImageSet,
    loss_fn: Callable[[Any, Any], Any],
    out: Path,
    saved: dict[str, Any] | None,
    threads: int,
    on_progress: Progress | None = None,
    on_checkpoint: Callable[[TrainState], object] | None = None,
    run: dict[str, Any] | None = None,
) -> TrainState:
    """Run (or continue) the loop to `config.steps`; returns at the end or on Ctrl-C, with a checkpoint written
    (carrying `run`, the run's checkpoint.identity, for --resume to check)."""
    import torch

    torch.set_num_threads(threads)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    adversary = None
    if config.adversarial:
        adversary = Adversary.create(config.steps, config.lr, config.weight_decay, config.adversarial_weight)
    state = TrainState(step=0, seconds=0.0, curve=Curve())
    if saved is not None:
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        if adversary is not None:
            adversary.load_state_dict(saved["adversary"])
        state = TrainState(step=int(saved["step"]), seconds=float(saved["seconds"]), curve=Curve(list(saved["curve"])))
    pairs = validation_set(config, images)
    state.curve.floor = floor(config, pairs)

    def checkpoint() -> None:
        payload = {
            "config": config_dict(config),
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "step": state.step,
            "seconds": state.seconds,
            "curve": state.curve.rows,
        }
        if adversary is not None:
            payload["adversary"] = adversary.state_dict()
        if run is not None:
            payload["run"] = run
        save(checkpoint_path(out), payload)
        if on_checkpoint:
            on_checkpoint(state)

    model.train()
    started = time.perf_counter() - state.seconds
    loss_value = float("nan")
    try:
        while state.step < config.steps:
            factor = _lr_factor(state.step, config.steps)
            for group in optimizer.param_groups:
                group["lr"] = config.lr * factor
            inputs, targets = sample_batch(config, images, state.step)
            target = torch.from_numpy(targets)
            output = model(torch.from_numpy(inputs))
            loss = loss_fn(output, target)
            if adversary is not None:
                loss = loss + adversary.generator_term(output, state.step)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if adversary is not None:
                adversary.train_discriminator(output, target, state.step, factor)
            loss_value = float(loss.detach())
            state.step += 1
            state.seconds = time.perf_counter() - started
            if state.step % config.validate_every == 0 or state.step == config.steps:
                state.curve.add(state.step, loss_value, *validate(model, config, pairs), state.seconds)
            if on_progress:
                on_progress(state.step, config.steps, loss_value, state.seconds)
            if state.step % config.checkpoint_every == 0 or state.step == config.steps:
                checkpoint()
    except KeyboardInterrupt:
        state.interrupted = True
        state.seconds = time.perf_counter() - started
        checkpoint()
    return state
