"""The model card `studio train` writes beside the weights: what was trained, on what, how, and how well."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from studio.core.markdown import markdown_table
from studio.training.data import BUILTIN, ImageSet
from studio.training.degradations import (
    DEBLUR_NOISE,
    DEFOCUS_SIGMA,
    DENOISE_SIGMA,
    KERNEL_SHARES,
    MOTION_LENGTH,
    POISSON_PEAK,
)
from studio.training.evaluate import NO_REFERENCE, Evaluation
from studio.training.export import PAPERS, TASK_NAMES
from studio.training.loop import VALIDATION_SIDE, TrainConfig, TrainState

RECIPES = {
    "deblur": (
        f"{KERNEL_SHARES['trajectory']:.0%} camera shake (random-trajectory kernels), "
        f"{KERNEL_SHARES['line']:.0%} straight motion at a random angle (both "
        f"{MOTION_LENGTH[0]:g}-{MOTION_LENGTH[1]:g} px of travel), "
        f"{KERNEL_SHARES['defocus']:.0%} defocus (Gaussian sigma "
        f"{DEFOCUS_SIGMA[0]:g}-{DEFOCUS_SIGMA[1]:g}); then Gaussian noise sigma "
        f"{DEBLUR_NOISE[0]:g}-{DEBLUR_NOISE[1]:g}"
    ),
    "denoise": (
        f"80 % Gaussian noise sigma {DENOISE_SIGMA[0]:g}-{DENOISE_SIGMA[1]:g}, 20 % Poisson noise peak "
        f"{POISSON_PEAK[0]:g}-{POISSON_PEAK[1]:g}"
    ),
    "sr": "bicubic downscale by the scale (MATLAB imresize, antialiased, as super-resolution papers)",
}
MIXED = (
    " for half the samples; the other half as the studio's own xN degradation makes them (OpenCV INTER_CUBIC, "
    "not antialiased), so the network also restores aliased inputs"
)
INTERRUPTED = " (interrupted: `--resume` continues it)"
BUILTIN_NOTE = (
    "the built-in set: scikit-image's bundled photos (see skimage/data/README.txt for each one's source and "
    "licence; all are free to redistribute) and two images the studio draws (text and shapes)"
)


@dataclass
class CardFacts:
    config: TrainConfig
    model_id: str
    parameters: int
    state: TrainState
    images: ImageSet
    loss: str
    sha256: str
    weights_name: str
    command: str
    machine: dict[str, Any]
    evaluation: Evaluation | None


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def _fmt(value: float | None, metric: str) -> str:
    if value is None:
        return ""
    return f"{value:.4f}" if metric.startswith("ssim") else f"{value:.2f}"


def evaluation_table(evaluation: Evaluation, trained_id: str) -> str:
    rows = []
    for model_id, means in sorted(evaluation.means.items(), key=lambda item: -item[1][evaluation.headline]):
        name = f"**{model_id}** (this model)" if model_id == trained_id else model_id
        rows.append([name, *(_fmt(means[m], m) for m in evaluation.metrics)])
    for model_id, error in evaluation.errors.items():
        rows.append([model_id, f"failed: {error}", *([""] * (len(evaluation.metrics) - 1))])
    return markdown_table(["model", *evaluation.metrics], rows)


def render(facts: CardFacts) -> str:
    config, state, images = facts.config, facts.state, facts.images
    title, paper = PAPERS[config.arch]
    data = BUILTIN_NOTE if images.source == BUILTIN else f"the images in `{images.source}`"
    hyper = ", ".join(f"{k}={v}" for k, v in sorted(config.hyper.items())) or "defaults"
    last = state.curve.rows[-1] if state.curve.rows else None
    lines = [
        f"# {facts.model_id}",
        "",
        f"{title} ({paper}), trained by Enhance Studio's `studio train` for **{TASK_NAMES[config.task]}**"
        + (f" at x{config.scale}" if config.task == "sr" else "")
        + (
            ". Our own weights, under Apache-2.0."
            if images.source == BUILTIN
            else ". Weights learned from your images: their terms follow those images'."
        ),
        "",
        "| | |",
        "|---|---|",
        f"| weights | `{facts.weights_name}` (safetensors, sha256 `{facts.sha256}`) |",
        f"| architecture | {config.arch} ({hyper}), {facts.parameters:,} parameters |",
        f"| data | {data}: {len(images.train)} training images, {len(images.held_out)} held out |",
        f"| held out (never trained on) | {', '.join(sorted(images.held_out))} |",
        f"| degradations | {RECIPES[config.task]}{MIXED if config.downscale == 'mixed' else ''}; synthesised on "
        "the fly, seeded by (seed, step) |",
        f"| patches | {config.batch} x {config.patch} px inputs per step, random flips and rotations |",
        f"| optimiser | AdamW (lr {config.lr:g}, weight decay {config.weight_decay:g}), 2 % warm-up, cosine decay |",
        f"| loss | {facts.loss} |",
        f"| steps | {state.step} of {config.steps}{INTERRUPTED if state.interrupted else ''}, seed {config.seed} |",
        f"| wall time | {_duration(state.seconds)} |",
        f"| machine | {facts.machine.get('cpu', '?')}, {facts.machine.get('threads', '?')} thread(s), "
        f"class {facts.machine.get('class', '?')}, torch {facts.machine.get('runtimes', {}).get('torch', '?')} |",
        "",
        "Reproduce:",
        "",
        "```",
        facts.command,
        "```",
        "",
    ]
    if last:
        lines += [
            f"Validation at step {int(last['step'])} (central crops of at most {VALIDATION_SIDE} px of the held-out "
            "images): "
            f"PSNR{'-Y' if config.task == 'sr' else ''} {last['psnr']:.2f} dB, SSIM {last['ssim']:.4f}. "
            "The whole curve: `curve.csv`, `curve.png`.",
            "",
        ]
    if images.skipped:
        lines += ["Skipped files: " + "; ".join(f"{k} ({v})" for k, v in sorted(images.skipped.items())), ""]
    evaluation = facts.evaluation
    if evaluation is not None:
        inputs = "; ".join(f"{name}: {what}" for name, what in sorted(evaluation.inputs.items()))
        lines += [
            "## Evaluation on the held-out images",
            "",
            "Full-size held-out images, degraded with a fixed seed per image "
            f"({inputs}), run through the studio's comparison engine at fp32 against the task's classical "
            "baselines with their default parameters. Means over the images:",
            "",
            evaluation_table(evaluation, facts.model_id),
            "",
        ]
        no_reference = [m for m in evaluation.metrics if m in NO_REFERENCE[config.task]]
        if no_reference:
            lines += [
                f"{' and '.join(no_reference)}: no-reference, lower is better (how natural, not how faithful).",
                "",
            ]
        margin = evaluation.margin(facts.model_id)
        best = evaluation.best_baseline(facts.model_id)
        if margin is not None and best is not None:
            lines.append(f"Lead over the best baseline ({best[0]}) on {evaluation.headline}: **{margin:+.2f} dB**.")
            gain = evaluation.gain_over_input(facts.model_id)
            if gain is not None:
                lines.append(f"Gain over the degraded input itself: **{gain:+.2f} dB**.")
            lines.append("")
    return "\n".join(lines)
