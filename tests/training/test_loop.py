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
from studio.training.checkpoint import CHECKPOINT, check_resume, identity
from studio.training.data import ImageSet
from studio.training.loop import TrainConfig, train
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


def _run(settings, tmp_path, config=CONFIG, saved=None, on_progress=None, run=None):
    tmp_path.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(config.seed)
    model = build(config.arch, scale=config.scale, **config.hyper)
    loss = TrainingLoss(WeightStore(settings), perceptual=False)
    state = train(model, config, _images(), loss, tmp_path, saved, threads=1, on_progress=on_progress, run=run)
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
    deeper = TrainConfig(**{**CONFIG.__dict__, "hyper": {"features": 8, "depth": 4}})
    with pytest.raises(UsageError, match="hyper was --hyper depth=3 --hyper features=8 in .*, now --hyper depth=4 "):
        check_resume(tmp_path, deeper, resume=True)
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


def test_resume_checks_the_model_id_and_the_perceptual_term_as_it_ran(settings, tmp_path):
    """Another --name is refused (the old name's files would be left stale), and the perceptual term compares as
    it really ran: skipped then (its weights missing) and --no-perceptual now train the same loss."""
    asked = TrainConfig(**{**CONFIG.__dict__, "perceptual": True})  # asked for, but VGG16 is missing: skipped
    _run(settings, tmp_path, config=asked, run=identity("mine", perceptual=False))
    assert check_resume(tmp_path, CONFIG, resume=True, run=identity("mine", perceptual=False))["step"] == 4
    with pytest.raises(UsageError, match="trains 'mine', not 'other'.*--name mine"):
        check_resume(tmp_path, CONFIG, resume=True, run=identity("other", perceptual=False))
    with pytest.raises(UsageError, match="without the perceptual .VGG. term, which would now join"):
        check_resume(tmp_path, asked, resume=True, run=identity("mine", perceptual=True))
    _run(settings, tmp_path / "vgg", run=identity("mine", perceptual=True))
    with pytest.raises(UsageError, match="trained with the perceptual .VGG. term, which is now off"):
        check_resume(tmp_path / "vgg", CONFIG, resume=True, run=identity("mine", perceptual=False))


def test_checkpoints_without_an_identity_compare_the_perceptual_setting_as_asked(settings, tmp_path):
    _run(settings, tmp_path)  # as written before checkpoints carried the run's identity
    with pytest.raises(UsageError, match="perceptual was False"):
        check_resume(
            tmp_path, TrainConfig(**{**CONFIG.__dict__, "perceptual": True}), resume=True, run=identity("x", False)
        )


def test_the_curve_knows_what_doing_nothing_scores_and_draws_it(settings, tmp_path):
    """The floor is the noisy input's PSNR on the same crops (below a trained network's, never NaN), and the plot
    draws it as a dashed grey line inside the PSNR axis, however few points the run has."""
    from PIL import Image

    from studio.training.curves import write_png
    from studio.training.loop import floor, validation_set

    config = TrainConfig(**{**CONFIG.__dict__, "steps": 2})
    _, state = _run(settings, tmp_path, config=config)
    name, level = state.curve.floor
    assert name == "input" and (name, level) == floor(config, validation_set(config, _images()))
    assert 10 < level < 40
    sr = TrainConfig("espcn", "sr", scale=2, patch=16, perceptual=False)
    assert floor(sr, validation_set(sr, _images()))[0] == "bicubic"
    write_png(state.curve, tmp_path / "curve.png", "t", "PSNR (dB)")
    pixels = np.asarray(Image.open(tmp_path / "curve.png").convert("RGB"))
    grey_rows = {y for y, x in zip(*np.nonzero(np.all(pixels == (110, 110, 110), axis=2)), strict=True)}
    assert grey_rows and all(48 < y < pixels.shape[0] - 44 for y in grey_rows)


def test_a_flat_curve_keeps_readable_axes():
    """A curve flat to 0.0007 dB once printed the same PSNR at every tick; each axis now spans a readable least."""
    from studio.training.curves import LEAST_SPAN, _axis_range

    low, high = _axis_range([30.0301, 30.0303, 29.79], LEAST_SPAN["psnr"])
    assert high - low >= 0.2 and f"{low:.2f}" != f"{(low + high) / 2:.2f}" != f"{high:.2f}"
    low, high = _axis_range([0.79770, 0.79772], LEAST_SPAN["ssim"])
    assert f"{low:.4f}" != f"{(low + high) / 2:.4f}" != f"{high:.4f}"
    assert _axis_range([20.0, 30.0], 0.2) == pytest.approx((19.2, 30.8))
