"""What a batch report says about its run: the pictures the models really received (degraded input, reference),
the not-comparable flag, the failed cells, where the run ran (engine, Ray cluster) and how it ended.

Runs are real (`studio batch`, or `run_batch` in this process where a session must be cut short).
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from PIL import Image

from studio.batch.dataset import load_dataset
from studio.batch.job import BatchJob, runner_for
from studio.batch.run import run_batch, run_settings
from studio.core.config import Settings
from studio.core.degrade import crop_to_multiple
from studio.core.media import decode
from studio.core.resize import limit_long_side
from studio.engine import compare as engine
from studio.engine.replay import pixels_sha256
from studio.engine.request import CompareRequest
from studio.report.page import render
from studio.report.run_data import load_run
from studio.report.run_recipe import recipe
from studio.report.run_report import run_inputs, run_report
from studio.services import Services
from tests.batch.data import MODELS, make_dataset, make_pairs, not_an_image
from tests.cli.helpers import studio
from tests.report.runs import IMAGES, make_run
from tests.report.test_html import parse

MAX_PIXELS = 16_000_000
RECIPE = "x2,noise=5,jpeg=80,seed=3"


def strip_labels(text: str) -> list[str]:
    page = parse(text)
    return [attrs["alt"] for name, attrs in page.tags if name == "img" and attrs.get("src", "").startswith("data:")]


def test_the_degraded_input_is_the_one_studio_compare_gives_the_models(tmp_path):
    """Preview, crop to the scale, then the seeded degradation: the report rebuilds exactly those pixels."""
    from skimage import data

    (tmp_path / "ds").mkdir()
    photo = np.ascontiguousarray(data.astronaut()[:203, :301])  # odd sides, larger than the preview
    Image.fromarray(photo).save(tmp_path / "ds" / "astronaut.png")
    shared = ("-m", "bicubic-x2", "--degrade", RECIPE, "--preview", "128", "--metrics", "psnr_y")
    run_dir, out = tmp_path / "run", tmp_path / "compare"
    batch = studio("batch", str(tmp_path / "ds"), *shared, "-o", str(run_dir), "--save-outputs")
    assert batch.returncode == 0, batch.stderr
    compare = studio("compare", str(tmp_path / "ds" / "astronaut.png"), *shared, "-o", str(out))
    assert compare.returncode == 0, compare.stderr

    run = load_run(run_dir)
    loaded, notes = run_inputs(run, "astronaut.png", MAX_PIXELS)
    assert notes == []
    assert [p.label for p in loaded] == [f"input (degraded: {RECIPE})", "original (reference)"]
    given = decode(out / "astronaut_input.png", MAX_PIXELS).rgb  # what `studio compare` ran its models on
    assert loaded[0].rgb.shape == given.shape == (43, 64, 3)  # 128x86 at the preview, degraded x2
    assert np.array_equal(loaded[0].rgb, given)
    cell = run.records[0]
    assert cell["input_size"] == "64x43"
    assert cell["source_sha256"] == pixels_sha256(decode(tmp_path / "ds" / "astronaut.png", MAX_PIXELS).rgb)
    sharp = crop_to_multiple(limit_long_side(photo, 128), 2)  # the reference the outputs were scored against
    assert np.array_equal(loaded[1].rgb, sharp)
    assert cell["output_size"] == f"{sharp.shape[1]}x{sharp.shape[0]}"

    text = render(run_report(run, MAX_PIXELS))
    assert strip_labels(text) == [f"input (degraded: {RECIPE})", "original (reference)", "bicubic-x2"]
    right = re.search(r'<select class="right"[^>]*>(.*?)</select>', text)[1]
    assert re.search(r'<option value="2" selected>bicubic-x2</option>', right)  # the input against the first output

    # A dataset image changed since the run is named: what is shown is no longer what the models got.
    Image.fromarray(photo[::-1].copy()).save(tmp_path / "ds" / "astronaut.png")
    _, notes = run_inputs(run, "astronaut.png", MAX_PIXELS)
    assert len(notes) == 1 and "is no longer the image the run read" in notes[0]


def test_with_pairs_the_dataset_image_is_the_input_and_the_ground_truth_the_reference(tmp_path):
    make_pairs(tmp_path / "ds", tmp_path / "gt", IMAGES[:1])
    run_dir = tmp_path / "run"
    result = studio(
        "batch", str(tmp_path / "ds"), "-m", "bicubic-x2", "--pairs", str(tmp_path / "gt"), "--metrics", "psnr_y",
        "-o", str(run_dir), "--save-outputs",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    run = load_run(run_dir)
    loaded, notes = run_inputs(run, IMAGES[0], MAX_PIXELS)
    assert notes == [] and [p.label for p in loaded] == ["input", "ground truth (reference)"]
    assert np.array_equal(loaded[0].rgb, decode(tmp_path / "ds" / IMAGES[0], MAX_PIXELS).rgb)
    assert np.array_equal(loaded[1].rgb, decode(tmp_path / "gt" / IMAGES[0], MAX_PIXELS).rgb)
    assert strip_labels(render(run_report(run, MAX_PIXELS))) == ["input", "ground truth (reference)", "bicubic-x2"]


def test_without_outputs_the_failed_cells_and_the_flag_are_shown(tmp_path):
    (tmp_path / "ds").mkdir()
    not_an_image(tmp_path / "ds" / "notes.png")
    run_dir = make_run(tmp_path, "-m", "unsharp-mask", exit_code=1)  # x1 against an x2 degradation: flagged
    assert studio("report", str(run_dir), "-o", str(tmp_path / "r.html")).returncode == 0
    text = (tmp_path / "r.html").read_text(encoding="utf-8")
    page = parse(text)
    assert "Outputs were not saved in this run" in text
    assert "3 failed" in text

    # Failed cells: one row for the image, since one error covers every model.
    failures = text[text.index('<section id="failures">') : text.index('<section id="plot">')]
    rows = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>", failures)
    assert rows == [("notes.png", "every model (3)", "not a supported image: expected PNG, JPEG, WebP, BMP or TIFF")]

    # The flag: marked on the model's row with its note, drawn hollow in the plot with a legend line.
    flag = "x1 output scored against a x2 degradation: not comparable with the x2 rows"
    row = re.search(r'<tr data-model="unsharp-mask">(.*?)</tr>', text)[1]
    assert "<td>unsharp-mask ⚑</td>" in row and f"⚑ {flag}" in row
    assert "⚑" not in re.search(r'<tr data-model="bicubic-x2">(.*?)</tr>', text)[1]
    hollow = [attrs["data-model"] for attrs in page.having("g", "point") if "flagged" in attrs["class"].split()]
    assert hollow == ["unsharp-mask"]
    assert [attrs["data-model"] for attrs in page.having("g", "point")] == [*MODELS, "unsharp-mask"]
    assert "not comparable with the others (see the table): unsharp-mask" in text

    # Headers are buttons carrying their column's better direction (the first press sorts best first).
    headers = re.findall(r'<th scope="col"([^>]*)><button type="button"[^>]*>([^<]*)</button></th>', text)
    directions = {name: attributes for attributes, name in headers}
    assert directions["PSNR-Y ↑ mean [95% CI]"] == ' data-better="higher"'
    assert directions["latency ms (median)"] == ' data-better="lower"'
    assert directions["model"] == "" and directions["backend"] == ""
    # Yes/no for flags, never Python's True/False.
    recipe_section = text[text.index('<section id="recipe">') :]
    assert "<dt>outputs saved</dt><dd>no</dd>" in recipe_section and "<dt>with_reference</dt><dd>no</dd>" in text
    assert "False" not in recipe_section and "True" not in recipe_section


@pytest.fixture
def services(env) -> Services:
    return Services(Settings.from_env(env))


def batch_session(services, tmp_path, monkeypatch, stop_at=None, stop=KeyboardInterrupt, resume=False):
    """One `studio batch` session in this process (MODELS on three images, x2), cut at model call `stop_at`."""
    request = CompareRequest.build(services.registry, MODELS, metrics="psnr_y", degrade="x2", preview=0)
    dataset = load_dataset(tmp_path / "ds")
    job = BatchJob(request, dataset.images, None, services.settings.max_pixels)
    runner = runner_for("local", services.registry, services.loader)
    calls = {"n": 0}
    real = engine.run_enhancer

    def counted(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == stop_at:
            raise stop
        return real(*args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(engine, "run_enhancer", counted)
        return run_batch(
            job, dataset.describe(), tmp_path / "run", runner, run_settings(job, None, False),
            machine=lambda: {"class": "test"}, resume=resume,
        )  # fmt: skip


def test_an_interrupted_then_stopped_run_and_where_it_ran(services, tmp_path, monkeypatch):
    make_dataset(tmp_path / "ds", IMAGES)
    with pytest.raises(KeyboardInterrupt):
        batch_session(services, tmp_path, monkeypatch, stop_at=3)  # two cells finish
    run = load_run(tmp_path / "run")
    assert "2 of 6 cells, 0 failed · run interrupted · `studio batch --resume" in run_report(run, MAX_PIXELS).line
    with pytest.raises(SystemExit):  # not Ctrl-C: the run records "stopped"
        batch_session(services, tmp_path, monkeypatch, stop_at=3, stop=SystemExit, resume=True)  # two more
    run = load_run(tmp_path / "run")
    line = run_report(run, MAX_PIXELS).line
    assert "3 images × 2 models · 4 of 6 cells, 0 failed · run stopped (2 sessions: interrupted, stopped)" in line
    sessions = dict(recipe(run))["Sessions"]
    assert [text.split(";")[:3] for _, text in sessions] == [
        ["interrupted", " 2 of 6 cells run", " engine local"],
        ["stopped", " 2 of 4 cells run", " engine local"],
    ]
    batch_session(services, tmp_path, monkeypatch, resume=True)
    line = run_report(load_run(tmp_path / "run"), MAX_PIXELS).line
    assert "6 of 6 cells, 0 failed · run finished (3 sessions: interrupted, stopped, finished)" in line
    assert "--resume" not in line

    # The same run as Ray records it: the engine and each session's cluster; the machine is the driver.
    path = tmp_path / "run" / "run.json"
    recorded = json.loads(path.read_text(encoding="utf-8"))
    cluster = {"address": "10.0.0.5:6379", "nodes": 3, "cpus": 24.0, "actors_per_model": 12, "cpus_per_actor": 1.0}
    recorded["engine"] = recorded["sessions"][-1]["engine"] = "ray"
    recorded["sessions"][-1]["cluster"] = cluster
    path.write_text(json.dumps(recorded), encoding="utf-8")
    text = render(run_report(load_run(tmp_path / "run"), MAX_PIXELS))
    described = "address 10.0.0.5:6379, nodes 3, CPUs 24, actors per model 12, CPUs per actor 1"
    assert "<dt>engine</dt><dd>local, ray</dd>" in text
    assert f"<dt>Ray cluster (last session)</dt><dd>{described}</dd>" in text
    assert f"finished; 2 of 2 cells run; engine ray; cluster: {described}" in text
    assert "<h3>Machine: the driver process" in text
