"""`studio compare --from results.json`: a recorded run repeated, as a user does it (real processes, real files)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from PIL import Image

from tests.cli.helpers import save_image, stderr_lines, studio

RECORDED = (
    "-m",
    "bicubic-x4",
    "-m",
    "lanczos-x4",
    "-m",
    "unsharp-mask",
    "--set",
    "unsharp-mask.amount=2",
    "--degrade",
    "x4,noise=3,seed=7",
    "--metrics",
    "psnr_y,ssim_y,sharpness",
    "--preview",
    "96",
    "--tile",
    "0",
)
METRICS = ("PSNR-Y ↑", "SSIM-Y ↑", "Sharpness ↑")


@pytest.fixture
def recorded(env, photo, tmp_path) -> tuple[Path, dict]:
    """A run of deterministic classical models on a JPEG, written with -o; returns (its folder, its results.json)."""
    source = save_image(tmp_path / "photo.jpg", photo[100:228, 80:240], quality=90)
    out = tmp_path / "run"
    result = studio("compare", str(source), *RECORDED, "-o", str(out), "--format", "json", env=env)
    assert result.returncode == 0, result.stderr
    return out, json.loads((out / "results.json").read_text(encoding="utf-8"))


def numbers(report: dict) -> list[tuple]:
    return [(row["model"], row["output"], *(row[m] for m in METRICS)) for row in report["rows"]]


def test_a_run_folder_repeats_its_run_with_the_same_numbers(env, recorded, tmp_path):
    out, first = recorded
    assert first["source"] == "photo.jpg" and first["request"]["params"]["unsharp-mask"]["amount"] == 2.0
    assert first["request"]["degrade"] == "x4,noise=3,seed=7" and first["request"]["preview"] == 96
    # -o kept the source itself, byte for byte under its name, beside the prepared (degraded) input
    assert (out / "photo.jpg").read_bytes() == (tmp_path / "photo.jpg").read_bytes()
    assert Image.open(out / "photo_input.png").size == (24, 19)  # 160x128 previewed to 96x77, then x4 down
    shared = shutil.copytree(out, tmp_path / "elsewhere" / "shared-run")  # a folder people keep and share
    (tmp_path / "photo.jpg").unlink()
    again = studio("compare", "--from", str(shared / "results.json"), "--format", "json", env=env, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    second = json.loads(again.stdout)
    assert numbers(second) == numbers(first) and len(second["rows"]) == 3
    assert [row["PSNR-Y ↑"] > 10 for row in second["rows"]] == [True] * 3  # real scores, not empty cells
    assert second["request"] == first["request"] and second["source_sha256"] == first["source_sha256"]
    assert [row["params"] for row in second["rows"]] == [row["params"] for row in first["rows"]]
    assert "differ" not in again.stderr


def test_a_replay_written_into_its_own_folder_keeps_it_whole(env, recorded):
    out, first = recorded
    again = studio("compare", "--from", str(out / "results.json"), "-o", str(out), "--format", "json", env=env)
    assert again.returncode == 0, again.stderr
    assert numbers(json.loads(again.stdout)) == numbers(first)
    assert sorted(path.name for path in out.iterdir()) == [
        "photo.jpg",
        "photo_bicubic-x4.png",
        "photo_input.png",
        "photo_lanczos-x4.png",
        "photo_unsharp-mask.png",
        "results.csv",
        "results.json",
        "results.md",
    ]


def test_flags_given_with_from_override_the_recorded_values(env, recorded, tmp_path):
    out, first = recorded
    args = ("compare", str(tmp_path / "photo.jpg"), "--from", str(out / "results.json"), "--format", "json")
    result = studio(
        *args, "-m", "unsharp-mask", "-m", "clahe", "--set", "unsharp-mask.sigma=1", "--preview", "0", env=env
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    request = report["request"]
    assert request["models"] == ["unsharp-mask", "clahe"] and request["preview"] is None
    assert request["params"]["unsharp-mask"]["amount"] == 2.0 and request["params"]["unsharp-mask"]["sigma"] == 1.0
    assert request["degrade"] == "x4,noise=3,seed=7" and request["metrics"] == list(first["request"]["metrics"])
    assert report["original_size"] == [160, 128] and report["input_size"] == [40, 32]  # full size, then x4 down


def test_an_input_that_cannot_be_found_is_one_clear_line_and_another_input_is_noted(env, recorded, photo, tmp_path):
    out, _ = recorded
    (out / "photo.jpg").unlink()
    result = studio("compare", "--from", str(out / "results.json"), env=env)
    assert result.returncode == 2
    assert stderr_lines(result) == [
        f"error: the recorded input 'photo.jpg' is not next to {out / 'results.json'}: give INPUT "
        f"(studio compare INPUT --from {out / 'results.json'})"
    ]
    other = save_image(tmp_path / "other.png", photo[:128, :160])
    result = studio("compare", str(other), "--from", str(out / "results.json"), env=env)
    assert result.returncode == 0, result.stderr
    assert f"note: INPUT's pixels differ from those of the run recorded in {out / 'results.json'}" in stderr_lines(
        result
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),
        ("{not json", "is not JSON (Expecting property name enclosed in double quotes, line 1)"),
        ('{"rows": []}', "records no request (not a results.json from this version of studio)"),
    ],
)
def test_a_file_that_is_not_a_results_json_is_refused(env, tmp_path, content, message):
    path = tmp_path / "results.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    result = studio("compare", "--from", str(path), env=env)
    assert result.returncode == 2
    (line,) = stderr_lines(result)
    assert line.startswith("error: --from: ") and line.endswith(message) and "Traceback" not in result.stderr


def test_a_ground_truth_run_repeats_from_its_folder_and_needs_its_ground_truth(env, photo, tmp_path):
    gt = save_image(tmp_path / "gt.png", photo[40:104, 200:296])
    small = save_image(tmp_path / "in.png", photo[40:104:2, 200:296:2])
    out = tmp_path / "run"
    args = ("-m", "bicubic-x2", "-m", "lanczos-x2", "--metrics", "psnr,ssim", "--format", "json")
    first = studio("compare", str(small), "--reference", str(gt), *args, "-o", str(out), env=env)
    assert first.returncode == 0, first.stderr
    assert (out / "gt.png").read_bytes() == gt.read_bytes() and (out / "in.png").read_bytes() == small.read_bytes()
    alone = studio("compare", "--from", str(out / "results.json"), "--format", "json", env=env)
    assert alone.returncode == 0, alone.stderr
    scores = [
        [(row["model"], row["PSNR ↑"], row["SSIM ↑"]) for row in json.loads(run.stdout)["rows"]]
        for run in (first, alone)
    ]
    assert scores[0] == scores[1] and all(psnr > 20 for _, psnr, _ in scores[1])
    assert json.loads(alone.stdout)["reference_source"] == "gt.png"
    (out / "gt.png").unlink()
    missing = studio("compare", str(small), "--from", str(out / "results.json"), env=env)
    assert missing.returncode == 2
    assert stderr_lines(missing) == [
        f"error: {out / 'results.json'} was scored against a ground truth ('gt.png', not found next to it): "
        "give it with --reference GT"
    ]
    given = studio(
        "compare", str(small), "--from", str(out / "results.json"), "--reference", str(gt), "--format", "json", env=env
    )
    assert given.returncode == 0, given.stderr
    assert json.loads(given.stdout)["rows"][0]["PSNR ↑"] == json.loads(first.stdout)["rows"][0]["PSNR ↑"]


def test_help_says_how_from_combines_with_flags(env):
    result = studio("compare", "--help", env=env)
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert "--from RESULTS_JSON" in text and "Flags given as well override the recorded values" in text
    assert "so `--from OUTDIR/results.json` alone repeats the run" in text
    assert "and INPUT (and GT) itself, copied byte for byte under its own name, so that" in text
