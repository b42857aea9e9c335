"""`studio train --adversarial`: the PatchGAN discriminator, its place in the loop (deterministic, resumable,
checkpointed), and the one-line refusals."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from studio.core.errors import UsageError
from studio.models.archs.baselines import build
from studio.models.registry import Registry
from studio.models.weights.store import WeightStore
from studio.training import adversarial
from studio.training.checkpoint import check_resume
from studio.training.loop import TrainConfig, train
from studio.training.losses import TrainingLoss
from studio.training.request import TrainRequest, check
from tests.training.test_loop import _images

CONFIG = TrainConfig(
    "espcn",
    "sr",
    scale=2,
    steps=8,
    patch=16,
    batch=2,
    checkpoint_every=4,
    validate_every=4,
    perceptual=False,
    adversarial=True,
    hyper={"features": 8},
)


def _run(settings, out, config=CONFIG, saved=None, stop_at=None):
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(config.seed)
    model = build(config.arch, scale=config.scale, **config.hyper)
    loss = TrainingLoss(WeightStore(settings), perceptual=False)

    def interrupt(step, steps, loss, seconds):
        if step == stop_at:
            raise KeyboardInterrupt

    state = train(model, config, _images(), loss, out, saved, threads=1, on_progress=interrupt)
    return model, state


@pytest.mark.parametrize("side", [32, 96])
def test_the_discriminator_scores_patches(side):
    torch.manual_seed(0)
    discriminator = adversarial.build_discriminator()
    scores = discriminator(torch.rand(2, 3, side, side))
    assert scores.shape == (2, 1, side // 8, side // 8)
    assert 50_000 < sum(p.numel() for p in discriminator.parameters()) < 1_000_000


def test_the_adversarial_term_waits_then_pushes_towards_real():
    torch.manual_seed(0)
    adversary = adversarial.Adversary.create(steps=8, lr=1e-3, weight_decay=0.0)
    output = torch.rand(2, 3, 32, 32, requires_grad=True)
    assert float(adversary.generator_term(output, step=1)) == 0.0  # before 25 % of the steps
    term = adversary.generator_term(output, step=2)
    term.backward()
    assert float(term.detach()) > 0 and output.grad is not None and output.grad.abs().sum() > 0
    assert all(p.grad is None for p in adversary.discriminator.parameters())  # the generator's step leaves D alone
    before = {k: v.clone() for k, v in adversary.discriminator.state_dict().items()}
    assert adversary.train_discriminator(output, torch.rand(2, 3, 32, 32), step=1, lr_factor=1.0) is None
    assert np.isfinite(adversary.train_discriminator(output, torch.rand(2, 3, 32, 32), step=2, lr_factor=1.0))
    assert any(not torch.equal(v, adversary.discriminator.state_dict()[k]) for k, v in before.items())


def test_an_adversarial_run_is_deterministic_and_resumes_exactly(settings, tmp_path):
    whole, state = _run(settings, tmp_path / "whole")
    again, _ = _run(settings, tmp_path / "again")
    plain, _ = _run(settings, tmp_path / "plain", config=TrainConfig(**{**CONFIG.__dict__, "adversarial": False}))
    assert all(torch.equal(v, again.state_dict()[k]) for k, v in whole.state_dict().items())
    assert not all(torch.equal(v, plain.state_dict()[k]) for k, v in whole.state_dict().items())
    assert all(np.isfinite(row["loss"]) for row in state.curve.rows)

    _, stopped = _run(settings, tmp_path / "split", stop_at=5)  # Ctrl-C after the discriminator has trained
    assert stopped.interrupted
    saved = check_resume(tmp_path / "split", CONFIG, resume=True)
    assert saved["step"] == 5
    assert set(saved["adversary"]) == {"discriminator", "optimizer"}
    resumed, _ = _run(settings, tmp_path / "split", saved=saved)
    assert all(torch.equal(v, resumed.state_dict()[k]) for k, v in whole.state_dict().items())


def test_resume_refuses_to_switch_the_adversary_on_or_off(settings, tmp_path):
    _run(settings, tmp_path, config=TrainConfig(**{**CONFIG.__dict__, "steps": 4}))
    with pytest.raises(UsageError, match="adversarial was True"):
        check_resume(tmp_path, TrainConfig(**{**CONFIG.__dict__, "adversarial": False}), resume=True)


def test_a_checkpoint_from_before_the_option_resumes_as_not_adversarial(settings, tmp_path):
    plain = TrainConfig(**{**CONFIG.__dict__, "adversarial": False, "steps": 4})
    _run(settings, tmp_path, config=plain)
    saved = torch.load(str(tmp_path / "checkpoint.pt"), weights_only=True)
    del saved["config"]["adversarial"]
    torch.save(saved, str(tmp_path / "checkpoint.pt"))
    assert check_resume(tmp_path, TrainConfig(**{**plain.__dict__, "steps": 8}), resume=True)["step"] == 4


def test_adversarial_denoising_is_refused_in_one_line():
    config = TrainConfig("dncnn", "denoise", adversarial=True)
    with pytest.raises(
        UsageError, match="^--adversarial is for super-resolution and deblurring networks, not denoise$"
    ):
        check(TrainRequest(config), Registry([]))


def test_the_weight_is_checked_and_part_of_the_run(settings, tmp_path):
    for weight in (0.0, -0.1, 1.5):
        config = TrainConfig("espcn", "sr", scale=2, adversarial=True, adversarial_weight=weight)
        with pytest.raises(UsageError, match="^--adversarial-weight must be above 0 and at most 1"):
            check(TrainRequest(config), Registry([]))
    _run(settings, tmp_path, config=TrainConfig(**{**CONFIG.__dict__, "steps": 4}))
    with pytest.raises(UsageError, match="adversarial_weight was 0.05"):
        check_resume(tmp_path, TrainConfig(**{**CONFIG.__dict__, "adversarial_weight": 0.2}), resume=True)
