"""`studio train` as a user runs it: a folder of their images, a few steps, a card, a registered model that
`studio compare` runs at once; bad folders and Ctrl-C handled in one line."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import yaml

from studio.core.errors import ChecksumMismatchError
from tests.cli.helpers import save_image, studio
from tests.environment import clean_env, default_sigint
from tests.paths import REPO_ROOT

TINY = ("--steps", "3", "--patch", "16", "--batch", "2", "--validate-every", "1", "--checkpoint-every", "1")


def train(arch: str, task: str, data, *extra: str, env: dict) -> subprocess.CompletedProcess:
    """`studio train ARCH --data DATA --task TASK` for a few steps on tiny patches."""
    return studio("train", arch, "--data", str(data), "--task", task, *TINY, *extra, env=env)


@pytest.fixture
def photos(tmp_path, photo):
    """Seven 96 px crops of a real photo (one or more end up held out by name)."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for index in range(7):
        top, left = 40 + 37 * index, 30 + 41 * index
        save_image(folder / f"crop{index}.png", photo[top : top + 96, left : left + 96])
    return folder


@pytest.fixture
def user_env(tmp_path):
    return {"STUDIO_DATA_DIR": str(tmp_path / "data"), "STUDIO_THREADS": "1"}


def test_train_evaluate_register_and_compare(photos, tmp_path, user_env):
    out = tmp_path / "run"
    result = train("dncnn", "denoise", photos, "--out", str(out), "--register", env=user_env)
    assert result.returncode == 0, result.stderr
    card = (out / "dncnn-denoise.md").read_text()
    for expected in (
        "dncnn",
        "nl-means",
        "bilateral",
        "**dncnn-denoise** (this model)",
        "studio train dncnn",
        "perceptual term skipped",
        "wall time",
        "held out (never trained on)",
    ):
        assert expected in card, expected
    rows = (out / "curve.csv").read_text().splitlines()
    assert rows[0] == "step,loss,psnr,ssim,seconds" and len(rows) == 4
    assert (out / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    registered = yaml.safe_load((tmp_path / "data" / "trained.yaml").read_text())
    entry = registered["models"][0]
    assert entry["id"] == "dncnn-denoise" and entry["source"]["file"] == str(out / "dncnn-denoise.safetensors")
    assert "registered in" in result.stdout

    noisy = photos / "crop0.png"
    shown = studio(
        "compare",
        str(noisy),
        "-m",
        "dncnn-denoise",
        "-m",
        "nl-means",
        "--precision",
        "fp32",
        "--format",
        "json",
        env=user_env,
    )
    assert shown.returncode == 0, shown.stderr
    rows = {row["model"]: row for row in json.loads(shown.stdout)["rows"]}
    assert rows["dncnn-denoise"]["precision"] == "fp32" and rows["dncnn-denoise"]["output"] == "96x96"
    exported = studio("export-onnx", "dncnn-denoise", "-o", str(tmp_path / "dncnn.onnx"), env=user_env)
    assert exported.returncode == 0, exported.stderr  # the ONNX path takes our networks like any other
    assert (tmp_path / "dncnn.onnx").stat().st_size > 10_000


def test_a_changed_weights_file_is_refused_by_its_sha256(photos, tmp_path, user_env, settings):
    out = tmp_path / "run"
    assert (
        train("dae", "denoise", photos, "--out", str(out), "--no-evaluate", "--register", env=user_env).returncode == 0
    )
    from studio.core.config import Settings
    from studio.models.registry import load_registry
    from studio.models.weights.store import WeightStore

    local = Settings.from_env({**user_env, "HF_HUB_OFFLINE": "1", "STUDIO_OFFLINE": "1"})
    spec = load_registry(local).get("dae-denoise")
    assert WeightStore(local).resolve(spec) == out / "dae-denoise.safetensors"
    with open(out / "dae-denoise.safetensors", "ab") as handle:
        handle.write(b"\0")
    with pytest.raises(ChecksumMismatchError, match="dae-denoise"):
        WeightStore(local).resolve(spec)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda folder: None, "no readable images"),
        (lambda folder: (folder / "a.txt").write_text("x"), "no readable images"),
        (
            lambda folder: [save_image(folder / f"s{i}.png", np.zeros((8, 8, 3), np.uint8)) for i in range(3)],
            "smaller than the 16 px patch",
        ),
    ],
)
def test_bad_data_folders_exit_2_with_one_line(tmp_path, user_env, make, message):
    folder = tmp_path / "bad"
    folder.mkdir()
    make(folder)
    result = train("dncnn", "denoise", folder, env=user_env)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0], result.stderr


def test_wrong_task_scale_and_rerun_without_resume(photos, tmp_path, user_env):
    result = train("espcn", "deblur", photos, env=user_env)
    assert result.returncode == 2 and "espcn trains for sr" in result.stderr
    result = train("dmcnn", "deblur", photos, "--scale", "2", env=user_env)
    assert result.returncode == 2 and "super-resolution only" in result.stderr
    out = tmp_path / "run"
    args = ("train", "espcn", "--data", str(photos), "--task", "sr", "--scale", "2", *TINY, "--no-evaluate")
    assert studio(*args, "--out", str(out), env=user_env).returncode == 0
    weights = (out / "espcn-sr-x2.safetensors").read_bytes()
    again = studio(*args, "--out", str(out), env=user_env)
    assert again.returncode == 2 and "add --resume" in again.stderr
    assert (out / "espcn-sr-x2.safetensors").read_bytes() == weights  # nothing saved was touched


def test_ctrl_c_keeps_a_checkpoint_and_resume_finishes(photos, tmp_path, user_env):
    out = tmp_path / "run"
    args = [
        sys.executable,
        "-m",
        "studio",
        "train",
        "dncnn",
        "--data",
        str(photos),
        "--task",
        "denoise",
        "--patch",
        "16",
        "--batch",
        "2",
        "--checkpoint-every",
        "1",
        "--validate-every",
        "5",
        "--no-evaluate",
        "--out",
        str(out),
    ]
    process = subprocess.Popen(
        [*args, "--steps", "100000"],
        preexec_fn=default_sigint,
        cwd=REPO_ROOT,
        env=clean_env(user_env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not (out / "checkpoint.pt").exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    try:
        _, stderr = process.communicate(timeout=120)
    finally:
        process.kill()  # never left training after a failure
    assert process.returncode == 130, stderr
    assert "interrupted at step" in stderr and "--resume" in stderr
    assert (out / "dncnn-denoise.safetensors").stat().st_size > 0
    step = int(stderr.split("interrupted at step ")[1].split("/")[0])
    resumed = subprocess.run(
        [*args, "--steps", str(step + 2), "--resume"],
        cwd=REPO_ROOT,
        env=clean_env(user_env),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert f"| steps | {step + 2} of {step + 2}" in (out / "dncnn-denoise.md").read_text()


def test_resume_finishes_a_run_registers_it_and_refuses_other_data(photos, tmp_path, user_env):
    out = tmp_path / "run"
    args = ("train", "dae", "--task", "denoise", *TINY, "--out", str(out))
    assert studio(*args, "--data", str(photos), "--no-evaluate", env=user_env).returncode == 0
    (out / "dae-denoise.md").unlink()  # as if Ctrl-C had come during the evaluation
    finished = studio(*args, "--data", str(photos), "--resume", "--register", env=user_env)
    assert finished.returncode == 0, finished.stderr
    assert "| steps | 3 of 3, seed 0 |" in (out / "dae-denoise.md").read_text()
    assert "registered in" in finished.stdout
    other = studio(*args, "--data", "builtin", "--resume", env=user_env)
    assert other.returncode == 2 and "data was" in other.stderr
    again = studio(*args, "--data", str(photos), "--resume", "--steps", "4", env=user_env)
    assert again.returncode == 0, again.stderr  # resuming a registered model keeps its entry true
    assert "replaced the entry of the same id" in again.stdout
    listed = studio("enhance", str(photos / "crop0.png"), "-m", "dae-denoise", "-o", str(tmp_path / "o"), env=user_env)
    assert listed.returncode == 0, listed.stderr


def test_a_finished_run_resumed_keeps_its_evaluation_and_its_name(photos, tmp_path, user_env):
    """--resume --register --no-evaluate on a finished run writes the card again with the evaluation it had (same
    weights, same table); --no-perceptual matches a run whose VGG term was skipped; another --name is refused."""
    out = tmp_path / "run"
    args = ("train", "dae", "--task", "denoise", "--data", str(photos), *TINY, "--out", str(out))
    assert studio(*args, env=user_env).returncode == 0
    card = out / "dae-denoise.md"
    table = [line for line in card.read_text().splitlines() if line.startswith("| **dae-denoise** (this model)")]
    assert len(table) == 1
    again = studio(*args, "--resume", "--register", "--no-evaluate", "--no-perceptual", env=user_env)
    assert again.returncode == 0, again.stderr
    assert table[0] in card.read_text().splitlines() and "registered in" in again.stdout
    assert "--no-perceptual" in card.read_text()
    other = studio(*args, "--resume", "--name", "other", env=user_env)
    assert other.returncode == 2 and "trains 'dae-denoise', not 'other'" in other.stderr, other.stderr
    assert len(other.stderr.strip().splitlines()) == 1
    assert not (out / "other.safetensors").exists()


@pytest.mark.parametrize(
    ("flag", "message"),
    [
        (("--lr", "-1"), "--lr must be between"),
        (("--checkpoint-every", "0"), "--checkpoint-every must be"),
        (("--hyper", "features"), "--hyper takes NAME=INTEGER (e.g. features=32), got 'features'"),
        (("--hyper", "blocks=2"), "--hyper: dncnn has no 'blocks' (it has features, depth)"),
        (("--hyper", "depth=4", "--hyper", "depth=5"), "--hyper depth is given twice"),
    ],
)
def test_bad_numbers_exit_2(photos, user_env, flag, message):
    result = train("dncnn", "denoise", photos, *flag, env=user_env)
    assert result.returncode == 2 and message in result.stderr, result.stderr


def test_adversarial_training_is_carded_and_judged_without_a_reference(photo, tmp_path, user_env, model_settings):
    """An adversarial SR run names its loss and command in the card, and the evaluation adds NIQE and BRISQUE
    (their files from the test mirror; NIQE needs two 96 px blocks, so these crops are 192x96); a denoiser
    refuses the option in one line."""
    mirror = {"STUDIO_WEIGHTS_MIRROR": model_settings.weights_mirror}
    photos = tmp_path / "wide"
    photos.mkdir()
    for index in range(5):
        save_image(photos / f"crop{index}.png", photo[60 * index : 60 * index + 96, 40 * index : 40 * index + 192])
    out = tmp_path / "gan"
    result = train(
        "espcn", "sr", photos, "--scale", "2", "--adversarial", "--out", str(out), env={**user_env, **mirror}
    )
    assert result.returncode == 0, result.stderr
    card = (out / "espcn-sr-x2.md").read_text()
    assert "adversarial x0.05 (PatchGAN, LSGAN, spectral norm; from step 0)" in card
    assert "--adversarial" in card
    header = next(line for line in card.splitlines() if line.startswith("| model |"))
    assert header == "| model | psnr_y | ssim_y | psnr | niqe | brisque |"
    assert "niqe and brisque: no-reference, lower is better" in card
    alone = train("espcn", "sr", photos, "--adversarial-weight", "0.1", env=user_env)
    assert alone.returncode == 2 and alone.stderr.strip() == "error: --adversarial-weight needs --adversarial"
    refused = train("dncnn", "denoise", photos, "--adversarial", env=user_env)
    lines = [line for line in refused.stderr.splitlines() if line.strip()]
    assert refused.returncode == 2 and lines == [
        "error: --adversarial is for super-resolution and deblurring networks, not denoise"
    ]
