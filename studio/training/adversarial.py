"""`studio train --adversarial`: a small PatchGAN discriminator and its LSGAN objective.

The discriminator (after Isola et al. 2017, pix2pix) scores overlapping
patches of an image as real or restored; the generator is pushed towards
outputs it scores as real. Least-squares targets (Mao et al. 2017, LSGAN)
keep the gradients steady on a CPU-sized run, and spectral normalisation
keeps the discriminator from overpowering a network of a few hundred
thousand parameters. The adversarial term joins only after a share of the
steps, once the pixel losses have taught the network to restore at all: a
discriminator facing a random network learns nothing useful.

It is offered for the super-resolution and deblurring networks (the tasks
where a sharper-looking guess can beat the blurry mean); PSNR usually falls
a little, so these tasks' evaluations carry no-reference metrics too (training/evaluate.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ADVERSARIAL_TASKS = ("sr", "deblur")
# Of the generator's loss, beside L1 (1) and SSIM (0.2). ESPCN x4, 1000 steps: at 0.005 nothing moved (PSNR-Y
# +0.01 dB, NIQE -0.03, BRISQUE -0.9); at 0.05 it trades 0.34 dB PSNR-Y for NIQE -1.1 and BRISQUE -22 (grain-like
# texture appears): an option asked for to look sharper should do so, so 0.05 is the default.
DEFAULT_WEIGHT = 0.05
START_SHARE = 0.25  # the adversarial term joins after this share of the steps
DISCRIMINATOR_LR_SHARE = 0.5  # the discriminator's peak learning rate, as a share of the generator's
DISCRIMINATOR_WIDTH = 32


def build_discriminator(width: int = DISCRIMINATOR_WIDTH) -> Any:
    """Three stride-2 convolutions, a 3x3 one and a 3x3 scoring layer: one score per 54 px patch, every 8 px."""
    from torch import nn
    from torch.nn.utils.parametrizations import spectral_norm

    def block(cin: int, cout: int) -> list[Any]:
        return [spectral_norm(nn.Conv2d(cin, cout, 4, stride=2, padding=1)), nn.LeakyReLU(0.2, inplace=True)]

    return nn.Sequential(
        *block(3, width),
        *block(width, width * 2),
        *block(width * 2, width * 4),
        spectral_norm(nn.Conv2d(width * 4, width * 4, 3, padding=1)),
        nn.LeakyReLU(0.2, inplace=True),
        spectral_norm(nn.Conv2d(width * 4, 1, 3, padding=1)),
    )


def describe(steps: int, weight: float) -> str:
    """The loss term as the log and the model card name it."""
    return f"adversarial x{weight:g} (PatchGAN, LSGAN, spectral norm; from step {start_step(steps)})"


def start_step(steps: int) -> int:
    return int(steps * START_SHARE)


@dataclass
class Adversary:
    """The discriminator, its optimiser, and the two halves of the LSGAN game."""

    discriminator: Any
    optimizer: Any
    steps: int
    lr: float
    weight: float

    @classmethod
    def create(cls, steps: int, lr: float, weight_decay: float, weight: float = DEFAULT_WEIGHT) -> Adversary:
        import torch

        discriminator = build_discriminator()
        optimizer = torch.optim.AdamW(
            discriminator.parameters(), lr=lr * DISCRIMINATOR_LR_SHARE, weight_decay=weight_decay, betas=(0.5, 0.999)
        )
        return cls(discriminator, optimizer, steps, lr * DISCRIMINATOR_LR_SHARE, weight)

    def active(self, step: int) -> bool:
        return step >= start_step(self.steps)

    def generator_term(self, output: Any, step: int) -> Any:
        """The generator's part: its outputs should score as real (1). Zero before the start step."""
        if not self.active(step):
            return output.new_zeros(())
        for parameter in self.discriminator.parameters():
            parameter.requires_grad_(False)
        score = self.discriminator(output)
        for parameter in self.discriminator.parameters():
            parameter.requires_grad_(True)
        return self.weight * ((score - 1) ** 2).mean()

    def train_discriminator(self, output: Any, target: Any, step: int, lr_factor: float) -> float | None:
        """One discriminator step on this batch: real patches towards 1, restored ones towards 0. Its loss, or
        None before the start step."""
        if not self.active(step):
            return None
        for group in self.optimizer.param_groups:
            group["lr"] = self.lr * lr_factor
        real = self.discriminator(target)
        fake = self.discriminator(output.detach())
        loss = 0.5 * (((real - 1) ** 2).mean() + (fake**2).mean())
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return float(loss.detach())

    def state_dict(self) -> dict[str, Any]:
        return {"discriminator": self.discriminator.state_dict(), "optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, saved: dict[str, Any]) -> None:
        self.discriminator.load_state_dict(saved["discriminator"])
        self.optimizer.load_state_dict(saved["optimizer"])
