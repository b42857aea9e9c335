"""The `studio` command as a user runs it: a real process, real files."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from tests.paths import REPO_ROOT

ROOT = REPO_ROOT


def studio(*args: str, env: dict[str, str] | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "studio", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=300,
        check=False,
    )


@pytest.fixture
def cli_env(env):
    return env


@pytest.fixture
def photo_file(tmp_path, photo) -> Path:
    path = tmp_path / "astronaut.jpg"
    Image.fromarray(photo[:200, :240]).save(path, quality=92)
    return path


def test_models_lists_classical_ready_and_hub_not_downloaded(cli_env):
    result = studio("models", "--json", env=cli_env)
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    classical = [r for r in rows if r["backend"] == "classical"]
    remote = [r for r in rows if r["source"].startswith(("hf:", "url:"))]
    assert len(classical) >= 12 and all(r["state"] == "ready" for r in classical)
    assert len(remote) >= 5 and all(r["state"] == "not downloaded" for r in remote)


def test_models_never_touches_the_network(cli_env, fake_hub):
    env = {**cli_env, "HF_ENDPOINT": fake_hub.url}
    env.pop("HF_HUB_OFFLINE")
    env.pop("STUDIO_OFFLINE")
    result = studio("models", env=env)
    assert result.returncode == 0, result.stderr
    assert fake_hub.requests == []
    assert "not downloaded" in result.stdout and "(unpinned)" in result.stdout


def test_models_task_filter(cli_env):
    rows = json.loads(studio("models", "--json", "--task", "deblur", env=cli_env).stdout)
    assert rows and {r["task"] for r in rows} == {"deblur"}


def test_enhance_writes_one_correct_file_per_model(cli_env, photo_file, tmp_path):
    out = tmp_path / "out"
    result = studio(
        "enhance",
        str(photo_file),
        "-m",
        "lanczos-x2",
        "-m",
        "unsharp-mask",
        "-m",
        "nl-means",
        "-m",
        "richardson-lucy-gaussian",
        "--set",
        "unsharp-mask.amount=1.5",
        "-o",
        str(out),
        "--json",
        env=cli_env,
    )
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [r["model"] for r in rows] == ["lanczos-x2", "unsharp-mask", "nl-means", "richardson-lucy-gaussian"]
    sizes = {r["model"]: Image.open(r["output"]).size for r in rows}
    assert sizes == {
        "lanczos-x2": (480, 400),
        "unsharp-mask": (240, 200),
        "nl-means": (240, 200),
        "richardson-lucy-gaussian": (240, 200),
    }
    assert all(r["latency_ms"] > 0 for r in rows)


def test_enhance_table_output(cli_env, photo_file, tmp_path):
    result = studio("enhance", str(photo_file), "-m", "bicubic-x3", "-o", str(tmp_path / "o"), env=cli_env)
    assert result.returncode == 0
    assert "bicubic-x3" in result.stdout and "720x600" in result.stdout


def test_a_failing_model_exits_1_and_the_others_still_finish(cli_env, photo_file, tmp_path):
    out = tmp_path / "out"
    result = studio("enhance", str(photo_file), "-m", "realesrgan-x4-hub", "-m", "clahe", "-o", str(out), env=cli_env)
    assert result.returncode == 1
    assert (out / "astronaut_clahe.png").exists()
    assert "error: realesrgan-x4-hub/RealESRGAN_x4.pth" in result.stderr or "studio fetch" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["enhance", "{photo}", "-m", "lanczos-4x", "-o", "{out}"], "did you mean 'lanczos-x4'"),
        (["enhance", "{photo}", "-m", "clahe", "--set", "clahe.clip_limit=99", "-o", "{out}"], "outside"),
        (["enhance", "{photo}", "-m", "clahe", "--set", "clahe-clip", "-o", "{out}"], "ID.PARAM=VALUE"),
        (["enhance", "{missing}", "-m", "clahe", "-o", "{out}"], "no such file"),
        (["enhance", "{truncated}", "-m", "clahe", "-o", "{out}"], "truncated or corrupt"),
        (["fetch", "nope"], "unknown model 'nope'"),
    ],
)
def test_input_errors_are_one_line_and_exit_2(cli_env, photo_file, tmp_path, args, message):
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(photo_file.read_bytes()[:2000])
    names = {"photo": photo_file, "out": tmp_path / "o", "missing": tmp_path / "missing.png", "truncated": truncated}
    result = studio(*[a.format(**names) for a in args], env=cli_env)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]


def test_bad_user_registry_is_one_line(cli_env, tmp_path):
    bad = tmp_path / "user.yaml"
    bad.write_text("models:\n  - id: x\n    colour: red\n")
    result = studio("--registry", str(bad), "models", env=cli_env)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error: user.yaml: model 'x': field")


def test_debug_shows_the_traceback(cli_env, tmp_path):
    result = studio(
        "--debug", "enhance", str(tmp_path / "missing.png"), "-m", "clahe", "-o", str(tmp_path), env=cli_env
    )
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_fetch_reports_builtin_and_offline(cli_env):
    result = studio("fetch", "clahe", "scunet-color-real", env=cli_env)
    assert result.returncode == 1
    assert "clahe: built in" in result.stdout
    assert "STUDIO_OFFLINE=1 is set" in result.stderr


def test_compare_with_degradation_writes_table_outputs_and_csv(cli_env, photo_file, tmp_path):
    import csv

    out = tmp_path / "cmp"
    env = {**cli_env, "STUDIO_WEIGHTS_MIRROR": str(ROOT.parent / "shared" / "weights")}
    result = studio(
        "compare",
        str(photo_file),
        "--degrade",
        "x4,noise=2",
        "-m",
        "bicubic-x4",
        "-m",
        "lanczos-x4",
        "-m",
        "unsharp-mask",
        "--metrics",
        "psnr_y,ssim_y,brisque,sharpness",
        "--repeat",
        "2",
        "-o",
        str(out),
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert "PSNR-Y ↑" in result.stdout and "MP/s" in result.stdout
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert [r["model"] for r in rows] == ["bicubic-x4", "lanczos-x4", "unsharp-mask"]
    assert float(rows[0]["PSNR-Y ↑"]) > 15 and rows[2]["notes"].startswith("reference resized")
    assert (out / "astronaut_lanczos-x4.png").exists() and (out / "astronaut_input.png").exists()
    assert json.loads((out / "results.json").read_text())["degradation"]["text"] == "x4,noise=2,seed=0"


def test_compare_rejects_a_bad_recipe_and_a_bad_metric(cli_env, photo_file):
    bad_recipe = studio("compare", str(photo_file), "--degrade", "x5", "-m", "clahe", env=cli_env)
    assert bad_recipe.returncode == 2 and "scale must be" in bad_recipe.stderr
    bad_metric = studio("compare", str(photo_file), "--metrics", "vmaf", "-m", "clahe", env=cli_env)
    assert bad_metric.returncode == 2 and "unknown metric 'vmaf'" in bad_metric.stderr


def test_export_onnx_writes_a_model_with_dynamic_size(cli_env, tmp_path, model_settings):
    import numpy as np
    import onnxruntime

    env = {**cli_env, "STUDIO_WEIGHTS_MIRROR": model_settings.weights_mirror}
    target = tmp_path / "compact.onnx"
    result = studio("export-onnx", "realesr-animevideov3-x4", "-o", str(target), env=env)
    assert result.returncode == 0, result.stderr
    session = onnxruntime.InferenceSession(str(target), providers=["CPUExecutionProvider"])
    (output,) = session.run(None, {"input": np.random.default_rng(0).random((1, 3, 24, 40), dtype=np.float32)})
    assert output.shape == (1, 3, 96, 160)
    refused = studio("export-onnx", "lanczos-x4", "-o", str(tmp_path / "x.onnx"), env=env)
    assert refused.returncode == 2 and "no PyTorch form" in refused.stderr


def test_bench_writes_every_cell_the_baseline_and_the_target_table(cli_env, tmp_path, model_settings):
    import pandas as pd

    env = {**cli_env, "STUDIO_WEIGHTS_MIRROR": model_settings.weights_mirror}
    args = ("bench", "-m", "realesr-animevideov3-x4", "--sizes", "32", "--repeat", "1", "--tiled-side", "96")
    result = studio(*args, "--out", str(tmp_path / "bench"), env=env)
    assert result.returncode == 0, result.stderr
    cells = pd.read_csv(tmp_path / "bench" / "neural-cpu.csv")
    assert list(cells["backend"]) == ["spandrel eager", "ncnn", "ncnn", "torch", "torch", "onnx"]
    assert (cells["min ms"] > 0).all()
    text = (tmp_path / "bench" / "neural-cpu.md").read_text()
    assert "## Default path against spandrel + torch fp32 eager" in text
    assert re.search(r"\| realesr-animevideov3-x4 \| 32x32 \| \w+ \w+ \| [\d.]+ \| [\d.]+ \| [\d.]+x \|", text)
    assert "## Tiled 96x96 through x4" in text
