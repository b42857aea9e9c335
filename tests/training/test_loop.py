"""The training loop: deterministic with a seed, a resumed run equal to one that never stopped, Ctrl-C leaving
a usable checkpoint, and --resume refusing what it cannot continue."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from studio.core.errors import UsageError
from studio.models.archs.baselines import build
from studio.models.weights.store import WeightStore
from studio.training.data import ImageSet
from studio.training.loop import CHECKPOINT, TrainConfig, check_resume, train
from studio.training.losses import TrainingLoss, ssim_map


def _images() -> ImageSet:
    rng = np.random.default_rng(0)
    pictures = {}
    for index in range(4):
        small = rng.integers(0, 256, (12, 12, 3), dtype=np.uint8)
        pictures[f"p{index}"] = cv2.resize(small, (72, 72), interpolation=cv2.INTER_CUBIC)
    return ImageSet("test", train={k: pictures[k] for k in ("p0", "p1", "p2")}, held_out={"p3": pictures["p3"]})


CONFIG = TrainConfig(
    "dncnn",
    "denoise",
    steps=4,
    patch=16,
    batch=2,
    checkpoint_every=2,
    validate_every=2,
    perceptual=False,
    hyper={"features": 8, "depth": 3},
)


def _run(settings, tmp_path, config=CONFIG, saved=None, on_progress=None):
    tmp_path.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(config.seed)
    model = build(config.arch, scale=config.scale, **config.hyper)
    loss = TrainingLoss(WeightStore(settings), perceptual=False)
    state = train(model, config, _images(), loss, tmp_path, saved, threads=1, on_progress=on_progress)
    return model, state


def _weights(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_same_seed_same_weights_and_another_seed_differs(settings, tmp_path):
    first, state = _run(settings, tmp_path / "a")
    second, _ = _run(settings, tmp_path / "b")
    third, _ = _run(settings, tmp_path / "c", config=TrainConfig(**{**CONFIG.__dict__, "seed": 1}))
    assert all(torch.equal(v, second.state_dict()[k]) for k, v in first.state_dict().items())
    assert not all(torch.equal(v, third.state_dict()[k]) for k, v in first.state_dict().items())
    assert [row["step"] for row in state.curve.rows] == [2, 4]
    assert all(np.isfinite(row["psnr"]) and 0 < row["ssim"] <= 1 for row in state.curve.rows)


def test_a_resumed_run_equals_an_uninterrupted_one(settings, tmp_path):
    whole, _ = _run(settings, tmp_path / "whole")
    half = TrainConfig(**{**CONFIG.__dict__, "steps": 2})
    _run(settings, tmp_path / "split", config=half)
    saved = check_resume(tmp_path / "split", CONFIG, resume=True)
    assert saved["step"] == 2
    resumed, state = _run(settings, tmp_path / "split", saved=saved)
    assert state.step == 4
    assert all(torch.equal(v, resumed.state_dict()[k]) for k, v in _weights(whole).items())


def test_ctrl_c_saves_a_checkpoint_that_resumes(settings, tmp_path):
    def interrupt(step, steps, loss, seconds):
        if step == 3:
            raise KeyboardInterrupt

    _, state = _run(settings, tmp_path, on_progress=interrupt)
    assert state.interrupted and state.step == 3
    saved = check_resume(tmp_path, CONFIG, resume=True)
    assert saved["step"] == 3
    _, resumed = _run(settings, tmp_path, saved=saved)
    assert resumed.step == 4 and not resumed.interrupted


def test_resume_refuses_what_it_cannot_continue(settings, tmp_path):
    with pytest.raises(UsageError, match="holds no checkpoint.pt"):
        check_resume(tmp_path, CONFIG, resume=True)
    _run(settings, tmp_path)
    with pytest.raises(UsageError, match="add --resume"):
        check_resume(tmp_path, CONFIG, resume=False)
    with pytest.raises(UsageError, match="patch was 16"):
        check_resume(tmp_path, TrainConfig(**{**CONFIG.__dict__, "patch": 24}), resume=True)
    (tmp_path / CHECKPOINT).write_bytes(b"garbage")
    with pytest.raises(UsageError, match="cannot read"):
        check_resume(tmp_path, CONFIG, resume=True)


def test_ssim_loss_term_matches_the_ssim_metric():
    """The loss's SSIM is the metric's SSIM (11x11 Gaussian, sigma 1.5, valid region), on the same images."""
    from studio.metrics.fullref import ssim

    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)
    b = np.clip(a + rng.normal(0, 20, a.shape), 0, 255).astype(np.uint8)
    to = lambda x: torch.from_numpy(x).permute(2, 0, 1)[None].double() / 255  # noqa: E731
    assert float(ssim_map(to(a), to(b)).mean()) == pytest.approx(ssim(a, b), abs=1e-6)


def test_perceptual_term_runs_when_vgg_weights_are_in_the_mirror(tmp_path, env):
    """The VGG16 path is real: a features-only weight file under the official name in the weights mirror."""
    import torchvision

    from studio.core.config import Settings
    from studio.training.losses import VGG_SOURCE, VGG_TAPS

    mirror = tmp_path / "mirror"
    mirror.mkdir()
    features = torchvision.models.vgg16(weights=None).features[: VGG_TAPS[-1] + 1]
    torch.save({f"features.{k}": v for k, v in features.state_dict().items()}, mirror / VGG_SOURCE.url.filename)
    settings = Settings.from_env({**env, "STUDIO_WEIGHTS_MIRROR": str(mirror)})
    loss = TrainingLoss(WeightStore(settings), perceptual=True)
    assert loss.report.skipped is None and "VGG16 perceptual" in loss.report.describe()
    x = torch.rand(1, 3, 32, 32, requires_grad=True)
    value = loss(x, torch.rand(1, 3, 32, 32))
    value.backward()
    assert x.grad is not None and torch.isfinite(value)
    elsewhere = {**env, "STUDIO_WEIGHTS_DIR": str(tmp_path / "empty-weights")}
    offline = TrainingLoss(WeightStore(Settings.from_env(elsewhere)), perceptual=True)
    assert offline.report.skipped and "vgg16-397923af.pth" in offline.report.skipped
