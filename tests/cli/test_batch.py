"""`studio batch` as a user runs it: real processes, real files, a real crash and Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pandas as pd
import pytest

from tests.batch.data import METRICS, MODELS, make_dataset, make_pairs, not_an_image
from tests.cli.helpers import stderr_lines, studio
from tests.environment import clean_env, default_sigint
from tests.paths import REPO_ROOT

MODEL_FLAGS = tuple(flag for model in MODELS for flag in ("-m", model))
RUN_FLAGS = (*MODEL_FLAGS, "--metrics", METRICS)


def journal_lines(run_dir: Path) -> list[str]:
    return (run_dir / "cells.jsonl").read_text(encoding="utf-8").splitlines()


def test_a_folder_run_writes_every_file_and_a_bad_image_exits_1(tmp_path):
    make_dataset(tmp_path / "ds", ("astronaut.png", "coffee.png", "rocket.png"))
    not_an_image(tmp_path / "ds" / "notes.png")
    run_dir = tmp_path / "run"
    result = studio("batch", str(tmp_path / "ds"), *RUN_FLAGS, "--degrade", "x2", "-o", str(run_dir), "--save-outputs")
    assert result.returncode == 1, result.stderr
    errors = [line for line in stderr_lines(result) if line.startswith("error: ")]
    assert errors == ["error: notes.png (every model): not a supported image: expected PNG, JPEG, WebP, BMP or TIFF"]
    assert "Traceback" not in result.stderr
    progress = [line for line in stderr_lines(result) if line.startswith("[")]
    assert progress[-1].startswith("[########################] cells 8/8 · ") and "cells/s" in progress[-1]
    assert len(progress) <= 11  # a line per tenth when stderr is not a terminal
    assert "PSNR-Y ↑ mean [95% CI]" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == f"8 cells (8 run now), 2 failed: {run_dir}"
    names = {path.relative_to(run_dir).as_posix() for path in run_dir.rglob("*") if path.is_file()}
    outputs = {f"outputs/{model}/{stem}.png" for model in MODELS for stem in ("astronaut", "coffee", "rocket")}
    files = {"run.json", "cells.jsonl", "cells.parquet", "cells.csv", "summary.csv", "summary.md"}
    assert names == files | outputs
    cells = pd.read_parquet(run_dir / "cells.parquet")
    assert len(cells) == 8 and list(cells["image"].unique()) == [
        "astronaut.png",
        "coffee.png",
        "notes.png",
        "rocket.png",
    ]
    assert cells.groupby("model")["psnr_y"].mean().to_dict() == pytest.approx(
        pd.read_csv(run_dir / "summary.csv").set_index("model")["psnr_y_mean"].to_dict()
    )
    recorded = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    assert recorded["machine"]["class"] and recorded["tool"]["name"] == "enhance-studio"
    assert recorded["request"]["models"] == list(MODELS) and recorded["dataset"]["kind"] == "folder"


def test_a_list_file_and_pairs_score_against_the_ground_truth(tmp_path):
    make_pairs(tmp_path / "inputs", tmp_path / "gt", ("astronaut.png", "rocket.png"))
    listing = tmp_path / "set.txt"
    listing.write_text("# two images and one without a ground truth\ninputs/rocket.png\n\ninputs/astronaut.png\n")
    (tmp_path / "gt" / "astronaut.png").rename(tmp_path / "gt-astronaut.png")
    result = studio("batch", str(listing), *RUN_FLAGS, "--pairs", str(tmp_path / "gt"), "-o", str(tmp_path / "run"))
    assert result.returncode == 1
    missing = f"no ground truth for 'inputs/astronaut.png': {tmp_path / 'gt' / 'astronaut.png'} does not exist"
    assert [line for line in stderr_lines(result) if line.startswith("error")] == [
        f"error: inputs/astronaut.png (every model): {missing}"
    ]
    cells = pd.read_csv(tmp_path / "run" / "cells.csv")
    assert list(cells["image"]) == ["inputs/rocket.png"] * 2 + ["inputs/astronaut.png"] * 2
    rocket = cells[cells["image"] == "inputs/rocket.png"]
    assert rocket["error"].isna().all() and (rocket["psnr_y"] > 20).all() and set(rocket["output_size"]) == {"80x64"}


OUT = ("-o", "{tmp}/run")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("{ds}", "-m", "bicubic-x2", "--degrade", "x2", "--pairs", "{ds}", *OUT), "give either --degrade or --pairs"),
        (("{tmp}/missing", "-m", "bicubic-x2", *OUT), "no such dataset: {tmp}/missing (give a folder of images or"),
        (("{tmp}/empty", "-m", "bicubic-x2", *OUT), "no images in {tmp}/empty (looked for .png"),
        (("{ds}", "-m", "bicubic-x9", *OUT), "unknown model 'bicubic-x9'"),
        (("{ds}", "-m", "bicubic-x2", "--resume"), "--resume needs -o RUN_DIR: the folder of the run to continue"),
        (("{ds}", "-m", "bicubic-x2", "--degrade", "x2,blur=box", *OUT), "cannot read degradation 'blur=box'"),
        (("{ds}", "-m", "bicubic-x2", "--pairs", "{tmp}/nope", *OUT), "--pairs expects a folder of ground-truth"),
    ],
)
def test_bad_usage_is_one_line_exit_2_and_writes_nothing(tmp_path, args, message):
    make_dataset(tmp_path / "ds", ("rocket.png",))
    (tmp_path / "empty").mkdir()
    values = {"ds": str(tmp_path / "ds"), "tmp": str(tmp_path)}
    result = studio("batch", *(arg.format(**values) for arg in args), cwd=tmp_path)
    assert result.returncode == 2
    (line,) = stderr_lines(result)
    assert line.startswith("error: " + message.format(**values)), line
    assert not (tmp_path / "run").exists() and not (tmp_path / "runs").exists()


def test_the_default_run_folder_is_runs_timestamp(tmp_path):
    make_dataset(tmp_path / "ds", ("rocket.png",))
    result = studio("batch", "ds", "-m", "bicubic-x2", "--metrics", "sharpness", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert len(run_dir.name) == len("20250101-120000") and (run_dir / "summary.md").exists()


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGINT])
def test_a_crash_or_ctrl_c_keeps_finished_cells_and_resume_repeats_none(tmp_path, signum):
    """The third listed image is a FIFO: the run blocks reading it after two images are journalled, and is
    killed there (SIGKILL: a crash; SIGINT: Ctrl-C). Resuming runs exactly the cells that were left."""
    make_dataset(tmp_path / "ds")
    fifo = tmp_path / "ds" / "waiting.png"
    os.mkfifo(fifo)
    listing = tmp_path / "set.txt"
    listing.write_text("ds/astronaut.png\nds/chelsea.png\nds/waiting.png\nds/rocket.png\n")
    run_dir = tmp_path / "run"
    command = [sys.executable, "-m", "studio", "batch", str(listing), *RUN_FLAGS, "--degrade", "x2", "-o", str(run_dir)]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
        cwd=REPO_ROOT,
        preexec_fn=default_sigint,
    )
    writer: list[int] = []
    opener = threading.Thread(target=lambda: writer.append(os.open(fifo, os.O_WRONLY)), daemon=True)
    opener.start()
    opener.join(timeout=120)  # returns once the run opened the FIFO: the first two images are done
    if not writer:
        process.kill()
        os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))
        pytest.fail(f"the run never reached the third image: {process.communicate()[1]}")
    try:
        before = journal_lines(run_dir)
        assert [json.loads(line)["image"] for line in before] == ["ds/astronaut.png"] * 2 + ["ds/chelsea.png"] * 2
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=60)
    finally:
        os.close(writer[0])
    if signum == signal.SIGINT:
        assert process.returncode == 130, stderr
        lines = stderr.strip().splitlines()
        assert lines[-2:] == [
            f"note: finished cells are kept: add --resume -o {run_dir} to continue",
            "error: interrupted",
        ]
        recorded = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
        assert recorded["state"] == "interrupted" and recorded["cells"]["finished"] == 4
        assert len(pd.read_parquet(run_dir / "cells.parquet")) == 4
    else:
        assert process.returncode == -signal.SIGKILL
    assert journal_lines(run_dir) == before  # nothing finished was lost, nothing half-written was kept

    fifo.unlink()
    make_dataset(tmp_path / "tmp", ("coffee.png",))
    (tmp_path / "tmp" / "coffee.png").rename(fifo)
    result = studio("batch", str(listing), *RUN_FLAGS, "--degrade", "x2", "-o", str(run_dir), "--resume")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == f"8 cells (4 run now, 4 from before), 0 failed: {run_dir}"
    lines = journal_lines(run_dir)
    assert lines[:4] == before and len(lines) == 8
    keys = [(json.loads(line)["image"], json.loads(line)["model"]) for line in lines]
    assert len(set(keys)) == 8
    assert len(pd.read_csv(run_dir / "cells.csv")) == 8


def test_a_resume_with_another_request_is_refused(tmp_path):
    make_dataset(tmp_path / "ds", ("rocket.png",))
    run_dir = tmp_path / "run"
    assert studio("batch", str(tmp_path / "ds"), *RUN_FLAGS, "--degrade", "x2", "-o", str(run_dir)).returncode == 0
    result = studio("batch", str(tmp_path / "ds"), *RUN_FLAGS, "--degrade", "x4", "-o", str(run_dir), "--resume")
    assert result.returncode == 2
    assert stderr_lines(result) == [
        f"error: {run_dir} holds a run with degrade x2,seed=0, not x4,seed=0: "
        "resume with the same settings or choose another -o"
    ]
    result = studio("batch", str(tmp_path / "ds"), *RUN_FLAGS, "--degrade", "x2", "-o", str(run_dir))
    assert stderr_lines(result) == [
        f"error: {run_dir} is not empty: add --resume to continue the run there, or choose another -o"
    ]
    assert len(journal_lines(run_dir)) == 2
