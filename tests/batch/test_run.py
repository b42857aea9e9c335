"""A batch run in this process: the files, the aggregates, errors kept in their cells, crash and resume."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from scipy import stats

import studio.engine.compare
from studio.batch.dataset import ground_truths, load_dataset
from studio.batch.job import BatchJob, runner_for
from studio.batch.run import run_batch, run_settings
from studio.core.config import Settings
from studio.core.errors import UsageError
from studio.core.media import decode
from studio.engine.compare import run as run_comparison
from studio.engine.request import CompareRequest
from studio.services import Services
from tests.batch.data import CROPS, METRICS, MODELS, make_dataset, make_pairs, not_an_image

METRIC_IDS = METRICS.split(",")


@pytest.fixture
def services(env) -> Services:
    return Services(Settings.from_env(env))


def batch(services, dataset_path, run_dir, pairs=None, degrade="x2", resume=False, save=False, models=MODELS):
    """What `studio batch` does once the flags are parsed (full size: these images are tiny)."""
    request = CompareRequest.build(
        services.registry, models, metrics=METRICS, degrade=degrade, with_reference=pairs is not None, preview=0
    )
    dataset = load_dataset(dataset_path)
    references = ground_truths(dataset, pairs) if pairs else None
    job = BatchJob(request, dataset.images, references, services.settings.max_pixels)
    runner = runner_for("local", services.registry, services.loader)
    settings = run_settings(job, pairs, save)
    return run_batch(
        job, dataset.describe(), run_dir, runner, settings, machine=lambda: {"class": "test"}, resume=resume
    )


@pytest.fixture
def count_runs(monkeypatch):
    """Counts model invocations (the engine's run_enhancer); raises KeyboardInterrupt on call `crash_at`."""
    calls = {"n": 0, "crash_at": None}
    real = studio.engine.compare.run_enhancer

    def counted(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == calls["crash_at"]:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(studio.engine.compare, "run_enhancer", counted)
    return calls


def test_the_summary_is_the_mean_of_the_rows_with_t_intervals(services, tmp_path):
    make_dataset(tmp_path / "ds")
    run = batch(services, tmp_path / "ds", tmp_path / "run")
    assert not run.failed and run.ran == run.total == len(CROPS) * len(MODELS)
    cells = pd.read_parquet(tmp_path / "run" / "cells.parquet")
    from_csv = pd.read_csv(tmp_path / "run" / "cells.csv")
    pd.testing.assert_frame_equal(from_csv[cells.columns[:8]], cells[cells.columns[:8]], check_dtype=False)
    assert list(cells.columns[:5]) == ["image", "model", *METRIC_IDS]
    assert len(cells) == 8 and set(cells["error"].isna()) == {True}
    summary = pd.read_csv(tmp_path / "run" / "summary.csv").set_index("model")
    for model, rows in cells.groupby("model"):
        for metric in METRIC_IDS:
            values = rows[metric].to_numpy()
            mean = values.mean()
            low, high = stats.t.interval(0.95, len(values) - 1, loc=mean, scale=stats.sem(values))
            assert summary.loc[model, f"{metric}_mean"] == pytest.approx(mean, rel=1e-12)
            assert summary.loc[model, f"{metric}_ci95_low"] == pytest.approx(low, rel=1e-9)
            assert summary.loc[model, f"{metric}_ci95_high"] == pytest.approx(high, rel=1e-9)
            assert summary.loc[model, f"{metric}_n"] == len(values)
        latency = rows["latency_ms"].to_numpy()
        assert summary.loc[model, "latency_ms_median"] == pytest.approx(np.median(latency))
        assert summary.loc[model, "latency_ms_p95"] == pytest.approx(np.percentile(latency, 95))
        assert summary.loc[model, "failed"] == 0
    markdown = (tmp_path / "run" / "summary.md").read_text(encoding="utf-8")
    assert "PSNR-Y ↑ mean [95% CI]" in markdown and "Student t-interval over images" in markdown
    recorded = json.loads((tmp_path / "run" / "run.json").read_text(encoding="utf-8"))
    assert recorded["state"] == "finished" and recorded["cells"] == {"total": 8, "finished": 8, "ok": 8, "failed": 0}
    assert recorded["request"]["degrade"] == "x2,seed=0" and recorded["dataset"]["images"] == sorted(CROPS)


def test_cells_equal_what_compare_reports_for_the_same_image(services, tmp_path):
    """The same engine: one cell's numbers are those of `compare.run` on that image with that request."""
    make_dataset(tmp_path / "ds")
    batch(services, tmp_path / "ds", tmp_path / "run")
    cells = pd.read_parquet(tmp_path / "run" / "cells.parquet").set_index(["image", "model"])
    request = CompareRequest.build(services.registry, MODELS, metrics=METRICS, degrade="x2", preview=0)
    image = decode(tmp_path / "ds" / "rocket.png", services.settings.max_pixels)
    results = run_comparison(request, image, services.registry, services.loader)
    for row in results.rows:
        for metric in METRIC_IDS:
            assert cells.loc[("rocket.png", row.model_id), metric] == row.metrics[metric]
        assert cells.loc[("rocket.png", row.model_id), "output_size"] == "80x64"


def test_a_crash_loses_nothing_finished_and_resume_repeats_nothing(services, tmp_path, count_runs):
    make_dataset(tmp_path / "ds")
    count_runs["crash_at"] = 4  # three cells finish, the fourth is interrupted inside the model
    with pytest.raises(KeyboardInterrupt):
        batch(services, tmp_path / "ds", tmp_path / "run")
    journal = tmp_path / "run" / "cells.jsonl"
    first = journal.read_text(encoding="utf-8").splitlines()
    assert len(first) == 3
    recorded = json.loads((tmp_path / "run" / "run.json").read_text(encoding="utf-8"))
    assert recorded["state"] == "interrupted" and recorded["cells"]["finished"] == 3
    assert len(pd.read_csv(tmp_path / "run" / "cells.csv")) == 3  # the tables show what finished
    title = (tmp_path / "run" / "summary.md").read_text(encoding="utf-8").splitlines()[0]
    assert title.endswith("4 images × 2 models (interrupted: 3 of 8 cells; `--resume` continues it)"), title

    count_runs.update(n=0, crash_at=None)
    run = batch(services, tmp_path / "ds", tmp_path / "run", resume=True)
    assert count_runs["n"] == 8 - 3  # only the cells that had not finished ran
    assert (run.before, run.ran, len(run.records)) == (3, 5, 8)
    lines = journal.read_text(encoding="utf-8").splitlines()
    assert lines[:3] == first and len(lines) == 8
    assert len({(json.loads(line)["image"], json.loads(line)["model"]) for line in lines}) == 8
    recorded = json.loads((tmp_path / "run" / "run.json").read_text(encoding="utf-8"))
    assert recorded["state"] == "finished" and [s["state"] for s in recorded["sessions"]] == ["interrupted", "finished"]

    count_runs["n"] = 0
    again = batch(services, tmp_path / "ds", tmp_path / "run", resume=True)
    assert count_runs["n"] == 0 and again.ran == 0 and len(again.records) == 8


def test_a_torn_journal_line_reruns_only_that_cell(services, tmp_path, count_runs):
    make_dataset(tmp_path / "ds")
    batch(services, tmp_path / "ds", tmp_path / "run")
    journal = tmp_path / "run" / "cells.jsonl"
    lines = journal.read_text(encoding="utf-8").splitlines(keepends=True)
    journal.write_text("".join(lines[:5]) + lines[5][:40], encoding="utf-8")  # a crash in the middle of a write
    count_runs["n"] = 0
    run = batch(services, tmp_path / "ds", tmp_path / "run", resume=True)
    assert count_runs["n"] == 3 and run.ran == 3 and len(run.records) == 8
    assert journal.read_text(encoding="utf-8").splitlines(keepends=True)[:5] == lines[:5]


def test_a_bad_image_fails_its_cells_and_the_run_goes_on(services, tmp_path):
    make_dataset(tmp_path / "ds", ("astronaut.png", "rocket.png"))
    not_an_image(tmp_path / "ds" / "broken.png")
    run = batch(services, tmp_path / "ds", tmp_path / "run", save=True)
    assert [(r["image"], r["model"]) for r in run.failed] == [("broken.png", m) for m in MODELS]
    assert {r["error"] for r in run.failed} == {"not a supported image: expected PNG, JPEG, WebP, BMP or TIFF"}
    cells = pd.read_parquet(tmp_path / "run" / "cells.parquet")
    assert cells["error"].notna().sum() == 2 and cells[cells["error"].isna()]["psnr_y"].notna().all()
    summary = pd.read_csv(tmp_path / "run" / "summary.csv").set_index("model")
    assert list(summary["failed"]) == [1, 1] and list(summary["ok"]) == [2, 2]
    assert list(summary["psnr_y_n"]) == [2, 2]
    for model in MODELS:  # outputs of the good images only, lossless at the output's size
        saved = sorted(p.name for p in (tmp_path / "run" / "outputs" / model).iterdir())
        assert saved == ["astronaut.png", "rocket.png"]
        with Image.open(tmp_path / "run" / "outputs" / model / "rocket.png") as output:
            assert output.size == (80, 64)
    row = cells[(cells["image"] == "rocket.png") & (cells["model"] == MODELS[0])].iloc[0]
    assert row["output_file"] == f"outputs/{MODELS[0]}/rocket.png"


def test_pairs_score_against_the_ground_truth_and_a_missing_one_fails_its_cells(services, tmp_path):
    make_pairs(tmp_path / "inputs", tmp_path / "gt")
    (tmp_path / "gt" / "coffee.png").unlink()
    run = batch(services, tmp_path / "inputs", tmp_path / "run", pairs=tmp_path / "gt", degrade=None)
    missing = f"no ground truth for 'coffee.png': {tmp_path / 'gt' / 'coffee.png'} does not exist"
    assert {(r["image"], r["error"]) for r in run.failed} == {("coffee.png", missing)}
    request = CompareRequest.build(services.registry, MODELS, metrics=METRICS, with_reference=True, preview=0)
    image = decode(tmp_path / "inputs" / "astronaut.png", services.settings.max_pixels)
    truth = decode(tmp_path / "gt" / "astronaut.png", services.settings.max_pixels)
    expected = run_comparison(request, image, services.registry, services.loader, truth)
    cells = {(r["image"], r["model"]): r for r in run.records}
    for row in expected.rows:
        assert cells[("astronaut.png", row.model_id)]["metrics"] == {m: row.metrics[m] for m in METRIC_IDS}
        assert 20 < row.metrics["psnr_y"] < 60  # scored against the real ground truth, not a degradation


def test_a_run_folder_is_never_mixed(services, tmp_path):
    make_dataset(tmp_path / "ds", ("rocket.png",))
    batch(services, tmp_path / "ds", tmp_path / "run")
    with pytest.raises(UsageError, match="is not empty: add --resume"):
        batch(services, tmp_path / "ds", tmp_path / "run")
    with pytest.raises(UsageError, match="holds a run with degrade x2,seed=0, not x4,seed=0"):
        batch(services, tmp_path / "ds", tmp_path / "run", degrade="x4", resume=True)
    with pytest.raises(UsageError, match="holds a run with save_outputs False, not True"):
        batch(services, tmp_path / "ds", tmp_path / "run", resume=True, save=True)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(UsageError, match="holds no batch run to resume"):
        batch(services, tmp_path / "ds", tmp_path / "other", resume=True)
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match="holds no batch run to resume"):
        batch(services, tmp_path / "ds", tmp_path / "empty", resume=True)
    with pytest.raises(UsageError, match="typo does not exist, so there is no run to continue"):
        batch(services, tmp_path / "ds", tmp_path / "typo", resume=True)
    assert not (tmp_path / "typo").exists()


def test_an_unknown_engine_is_refused(services):
    with pytest.raises(UsageError) as caught:
        runner_for("spark", services.registry, services.loader)
    assert str(caught.value) == "unknown engine 'spark' (use local or ray)"


def test_summary_md_says_once_why_a_metric_is_missing(services, tmp_path):
    """Offline without the BRISQUE files every cell notes it; summary.md says it once, as the terminal does."""
    make_dataset(tmp_path / "ds", ("rocket.png", "coffee.png"))
    request = CompareRequest.build(services.registry, MODELS, metrics="psnr_y,brisque", degrade="x2", preview=0)
    dataset = load_dataset(tmp_path / "ds")
    job = BatchJob(request, dataset.images, None, services.settings.max_pixels)
    runner = runner_for("local", services.registry, services.loader)
    run_batch(job, dataset.describe(), tmp_path / "run", runner, run_settings(job, None, False), machine=lambda: {})
    lines = (tmp_path / "run" / "summary.md").read_text(encoding="utf-8").splitlines()
    notes = [line for line in lines if line.startswith("Metric brisque unavailable: ")]
    assert len(notes) == 1 and "STUDIO_OFFLINE" in notes[0], lines
