"""`studio score` as a user runs it: images made elsewhere, scored with the comparison's own metric code."""

from __future__ import annotations

import csv
import io
import json

import cv2
import pytest

from studio.core.media import decode
from studio.metrics import METRICS, MetricContext
from tests.cli.helpers import save_image, stderr_lines, studio


@pytest.fixture
def pair(tmp_path, photo):
    """A sharp 128x128 crop (the reference) and a blurred copy (another tool's output)."""
    sharp = photo[100:228, 150:278]
    return (
        save_image(tmp_path / "blurred.png", cv2.GaussianBlur(sharp, (5, 5), 1.5)),
        save_image(tmp_path / "sharp.png", sharp),
    )


def expected(metric_id, image, reference=None, scale=1):
    output = decode(image, 10**8).rgb
    truth = decode(reference, 10**8).rgb if reference else None
    return round(METRICS[metric_id](output, truth, MetricContext(scale=scale)), 4)


def test_json_scores_equal_the_metric_code(pair):
    blurred, sharp = pair
    result = studio(
        "score",
        str(blurred),
        str(sharp),
        "--reference",
        str(sharp),
        str(sharp),
        "--metrics",
        "psnr,ssim_y,sharpness",
        "--scale",
        "2",
        "--format",
        "json",
    )
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [row["image"] for row in rows] == [str(blurred), str(sharp)]
    assert rows[0]["psnr"] == expected("psnr", blurred, sharp, scale=2)
    assert rows[0]["ssim_y"] == expected("ssim_y", blurred, sharp, scale=2)
    assert rows[0]["sharpness"] == expected("sharpness", blurred)
    assert rows[1]["psnr"] is None and rows[1]["ssim_y"] == 1.0  # identical: infinite PSNR is null in JSON


def test_no_reference_defaults_and_csv(pair):
    blurred, _ = pair
    result = studio("score", str(blurred), "--metrics", "sharpness,colourfulness", "--format", "csv")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert float(rows[0]["colourfulness"]) == expected("colourfulness", blurred)
    table = studio("score", str(blurred), "--metrics", "sharpness")
    assert "Sharpness ↑" in table.stdout and str(expected("sharpness", blurred)) in table.stdout


def test_bad_input_is_one_line_and_exit_2(tmp_path, pair):
    blurred, sharp = pair
    small = save_image(tmp_path / "small.png", decode(sharp, 10**8).rgb[:64])
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    cases = [
        (("score", str(blurred), "--metrics", "psnr"), "psnr need a reference"),
        (("score", str(blurred), str(sharp), "--reference", str(sharp)), "one reference per image"),
        (("score", str(blurred), "--reference", str(small)), "give a reference of the same size"),
        (("score", str(text)), "not a supported image"),
        (("score", str(blurred), "--metrics", "vmaf"), "unknown metric 'vmaf'"),
    ]
    for args, words in cases:
        result = studio(*args)
        assert result.returncode == 2, (args, result.stderr)
        lines = stderr_lines(result)
        assert len(lines) == 1 and words in lines[0], lines


def test_an_unavailable_metric_leaves_its_values_empty_and_exits_1(pair):
    blurred, sharp = pair
    result = studio("score", str(blurred), "--reference", str(sharp), "--metrics", "psnr,lpips", "--format", "json")
    assert result.returncode == 1
    assert json.loads(result.stdout)[0]["lpips"] is None
    assert any(line.startswith("error: lpips: ") for line in stderr_lines(result))
