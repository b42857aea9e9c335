"""`studio train ARCH`: train one of our small networks on a folder of sharp images, on the CPU.

Exit codes: 0 trained (and evaluated), 2 bad input (folder, sizes, a --resume that
does not match), 130 interrupted by Ctrl-C (a usable checkpoint and weights are saved).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from studio.cli.common import add_command
from studio.core.errors import UsageError
from studio.core.vocabulary import TRAIN_ARCHITECTURES, TRAIN_DOWNSCALES, TRAIN_TASKS
from studio.training.adversarial import DEFAULT_WEIGHT

if TYPE_CHECKING:
    from studio.services import Services


def register(commands: argparse._SubParsersAction) -> None:
    command = add_command(commands, "train", cmd_train, "train a small deblur / denoise / SR network on your images")
    command.add_argument("arch", choices=TRAIN_ARCHITECTURES, help="espcn (SR), dae, deblurnet, dmcnn, dncnn")
    command.add_argument("--data", default="builtin", help="a folder of sharp images, or 'builtin' (the default)")
    command.add_argument("--task", required=True, choices=TRAIN_TASKS)
    command.add_argument("--scale", type=int, default=None, help="super-resolution factor: 2, 3 or 4 (default 2)")
    command.add_argument("--steps", type=int, default=2000, help="optimiser steps (default 2000)")
    command.add_argument(
        "--patch", type=int, default=48, metavar="PX", help="input patch side, a multiple of 4 (default 48)"
    )
    command.add_argument("--batch", type=int, default=16, help="patches per step (default 16)")
    command.add_argument("--lr", type=float, default=2e-3, help="peak learning rate, AdamW (default 0.002)")
    command.add_argument(
        "--seed", type=int, default=0, help="the same seed gives the same weights on a CPU (default 0)"
    )
    command.add_argument(
        "--checkpoint-every", type=int, default=200, metavar="N", help="steps between checkpoints (default 200)"
    )
    command.add_argument(
        "--validate-every", type=int, default=100, metavar="N", help="steps between validations (default 100)"
    )
    command.add_argument(
        "--hyper",
        action="append",
        default=[],
        metavar="NAME=N",
        help="a network size, repeatable: espcn features, depth, relu; dae features; deblurnet features, blocks; "
        "dmcnn features, kernel; dncnn features, depth (README: studio train)",
    )
    command.add_argument(
        "--downscale",
        choices=TRAIN_DOWNSCALES,
        default="matlab",
        help="super-resolution inputs: matlab (antialiased, as papers; the default) or mixed (half matlab, half "
        "OpenCV bicubic as the studio's own xN degradation makes them, which aliases)",
    )
    command.add_argument("--out", type=Path, help="output folder (default STUDIO_DATA_DIR/trained/NAME)")
    command.add_argument("--name", help="the model id (default ARCH-TASK[-xN])")
    command.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    command.add_argument("--register", action="store_true", help="add the trained model to your user registry")
    command.add_argument("--no-perceptual", action="store_true", help="leave the VGG perceptual term out")
    command.add_argument(
        "--adversarial",
        action="store_true",
        help="add a PatchGAN discriminator (LSGAN loss) for sr and deblur: sharper-looking, a little less faithful",
    )
    command.add_argument(
        "--adversarial-weight",
        type=float,
        metavar="W",
        help=f"the adversarial term's weight beside L1 (1) (default with --adversarial: {DEFAULT_WEIGHT:g})",
    )
    command.add_argument(
        "--no-evaluate",
        action="store_true",
        help="skip the held-out comparison at the end (a card keeps one made before for the same weights)",
    )


def _hyper(values: list[str]) -> dict[str, int]:
    """--hyper NAME=N pairs as a dict (their names are checked against the architecture by the run)."""
    hyper = {}
    for text in values:
        name, _, number = text.partition("=")
        if not name or not number.strip().lstrip("-").isdigit():
            raise UsageError(f"--hyper takes NAME=INTEGER (e.g. features=32), got '{text}'")
        if name.strip() in hyper:
            raise UsageError(f"--hyper {name.strip()} is given twice")
        hyper[name.strip()] = int(number)
    return hyper


def cmd_train(args: argparse.Namespace, services: Services) -> int:
    from studio.training.loop import TrainConfig
    from studio.training.request import TrainRequest
    from studio.training.run import run_training

    if args.adversarial_weight is not None and not args.adversarial:
        raise UsageError("--adversarial-weight needs --adversarial")

    scale = args.scale if args.scale is not None else (2 if args.task == "sr" else 1)
    config = TrainConfig(
        arch=args.arch,
        task=args.task,
        scale=scale,
        steps=args.steps,
        patch=args.patch,
        batch=args.batch,
        lr=args.lr,
        seed=args.seed,
        checkpoint_every=args.checkpoint_every,
        validate_every=args.validate_every,
        perceptual=not args.no_perceptual,
        adversarial=args.adversarial,
        adversarial_weight=DEFAULT_WEIGHT if args.adversarial_weight is None else args.adversarial_weight,
        data=args.data,
        hyper=_hyper(args.hyper),
        downscale=args.downscale,
    )
    request = TrainRequest(
        config=config,
        out=args.out,
        name=args.name,
        resume=args.resume,
        register=args.register,
        evaluate=not args.no_evaluate,
    )
    bar = _ProgressBar(args.steps)

    def note(text: str) -> None:
        bar.close()  # a note after the steps (the evaluation) goes below the finished bar
        print(text, file=sys.stderr)

    try:
        outcome = run_training(request, services.settings, services.registry, services.loader, bar.update, note)
    finally:
        bar.close()
    state = outcome.state
    if state.interrupted:
        print(
            f"interrupted at step {state.step}/{config.steps}: checkpoint and usable weights saved in {outcome.out} "
            "(add --resume to continue)",
            file=sys.stderr,
        )
        return 130
    print(f"weights: {outcome.weights}")
    print(f"card:    {outcome.card}")
    if outcome.evaluation is not None:
        from studio.training.card import evaluation_table

        print("\n" + evaluation_table(outcome.evaluation, request.model_id) + "\n")
    if outcome.registered:
        verb = "replaced the entry of the same id in" if outcome.replaced else "registered in"
        print(f"{verb} {outcome.registered}: try `studio compare IMAGE -m {request.model_id}` (a running app shows it")
        print("after a restart); its entry:\n")
        print(outcome.entry.rstrip())
    else:
        print(
            "registry entry (add it to a registry file, or register it: the same command with --resume --register):\n"
        )
        print(outcome.entry.rstrip())
    return 0


class _ProgressBar:
    """tqdm on stderr, with the loss; created at the first step (so data errors print cleanly)."""

    def __init__(self, steps: int):
        self.steps = steps
        self._bar = None

    def update(self, step: int, steps: int, loss: float, seconds: float) -> None:
        from tqdm import tqdm

        if self._bar is None:
            self._bar = tqdm(total=steps, initial=step - 1, unit="step", dynamic_ncols=True, file=sys.stderr)
        self._bar.set_postfix(loss=f"{loss:.4f}", refresh=False)
        self._bar.update(step - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
