"""The report's human-ratings section over a real SQLite ratings store filled through the store's API.

Three models of the run are voted on by a rater who always prefers alpha to beta to gamma (so the
Bradley-Terry order is alpha, beta, gamma); a fourth model outside the run and a vote cast too fast must
be left out. The metric agreement is checked against Spearman and Kendall worked out by hand.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from studio.batch.stats import summarize
from studio.report.page import render
from studio.report.run_data import RunData
from studio.report.run_report import run_ratings, run_report
from tests.report.ratings import SLOW_VIEW, add_outputs, open_store, score_every_output, vote
from tests.report.test_html import parse

MODELS = ("alpha-x2", "beta-x2", "gamma-x2")  # the raters' order, best first
OUTSIDER = "delta-x2"  # rated, but not in the run
METRICS = ("psnr_y", "niqe", "sharpness")
# Per-model values (one image): PSNR-Y orders alpha, gamma, beta; NIQE (lower is better) alpha, beta, gamma.
VALUES = {
    "alpha-x2": {"psnr_y": 30.0, "niqe": 3.0, "sharpness": 100.0},
    "beta-x2": {"psnr_y": 28.0, "niqe": 4.0, "sharpness": 90.0},
    "gamma-x2": {"psnr_y": 29.0, "niqe": 5.0, "sharpness": None},  # no sharpness: not compared
}
MAX_PIXELS = 10_000_000


def run_data(tmp_path: Path, models=MODELS) -> RunData:
    """A finished run in memory (one image, outputs not saved): what `load_run` would read back."""
    records = [
        {
            "image": "a.png",
            "model": model,
            "metrics": VALUES[model],
            "latency_ms": 10.0 * (index + 1),
            "output_size": "64x64",
            "backend": "classical",
            "precision": "fp32",
        }
        for index, model in enumerate(models)
    ]
    run = {
        "request": {"models": list(models), "metrics": list(METRICS), "preview": 512},
        "dataset": {"source": str(tmp_path), "kind": "folder", "images": ["a.png"]},
        "cells": {"finished": len(records), "total": len(records), "failed": 0},
        "state": "finished",
    }
    return RunData(tmp_path / "run", run, records, summarize(records, list(models), list(METRICS)))


def table_rows(text: str, css: str) -> list[list[str]]:
    """The text of each body cell of the table with class `css`, row by row."""
    table = re.search(rf'<table class="[^"]*\b{css}\b[^"]*">(.*?)</table>', text, re.S)
    assert table, f"no {css} table"
    body = table.group(1).split("<tbody>")[1]
    return [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body)]


def sort_keys(text: str, css: str, column: int) -> list[str]:
    table = re.search(rf'<table class="[^"]*\b{css}\b[^"]*">(.*?)</table>', text, re.S).group(1)
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table.split("<tbody>")[1])
    return [re.findall(r"<td([^>]*)>", row)[column] for row in rows]


@pytest.fixture
def store(tmp_path):
    db = open_store(tmp_path / "data")
    files = add_outputs(db, "photo", MODELS)
    winners = [vote(db, files, MODELS) for _ in range(9)]  # the pair with the fewest votes first: 3 each
    assert sorted(winners) == ["alpha-x2"] * 6 + ["beta-x2"] * 3
    vote(db, files, MODELS[::-1], SLOW_VIEW)  # a contrary vote cast too fast: stored flagged, left out
    outside = add_outputs(db, "other photo", (MODELS[0], OUTSIDER))
    assert vote(db, outside, (OUTSIDER, MODELS[0])) == OUTSIDER  # between a run model and one outside the run
    score_every_output(db, {**files, **outside}, {"alpha-x2": 5, "beta-x2": 4, "gamma-x2": 2, OUTSIDER: 1})
    return db


def test_leaderboard_mos_and_agreement_of_the_runs_models(tmp_path, store):
    data = run_data(tmp_path)
    text = render(run_report(data, MAX_PIXELS, run_ratings(data, lambda: store)))
    section = text[text.index('<section id="ratings">') : text.index('<section id="recipe">')]
    assert "9 counted arena vote(s) between 3 of these 3 models" in section
    assert "1 flagged vote(s) between them left out" in section
    assert OUTSIDER not in section  # its vote and its score are not about this run's models

    board = table_rows(section, "leaderboard")
    assert [row[:2] for row in board] == [["1", "alpha-x2"], ["2", "beta-x2"], ["3", "gamma-x2"]]
    ratings = [float(row[2]) for row in board]
    assert ratings[0] > ratings[1] > ratings[2]
    assert all(re.fullmatch(r"-?\d+ – -?\d+", row[3]) for row in board)  # the 95 % interval
    assert [int(row[4]) for row in board] == [6, 6, 6]  # 9 votes, each between two of the three
    assert [int(row[5]) for row in board] == [6, 3, 0]  # wins: alpha beats both, beta beats gamma

    mos = table_rows(section, "mos")
    assert [(row[1], row[2], row[4]) for row in mos] == [
        ("alpha-x2", "5.00", "2"),  # scored on both items
        ("beta-x2", "4.00", "1"),
        ("gamma-x2", "2.00", "1"),
    ]

    # By hand: the raters rank alpha 1, beta 2, gamma 3. PSNR-Y ranks alpha 1, gamma 2, beta 3: rank
    # differences 0, 1, 1, so Spearman = 1 - 6 * 2 / (3 * (9 - 1)) = 0.5; of the three pairs, (alpha, beta)
    # and (alpha, gamma) agree and (beta, gamma) does not: Kendall = (2 - 1) / 3. NIQE is lower-is-better:
    # flipped, it ranks them exactly as the raters do (+1 for both). Sharpness has no value for gamma.
    agreement = {row[0]: row for row in table_rows(section, "agreement")}
    assert set(agreement) == {"PSNR-Y", "NIQE"}
    psnr, niqe = agreement["PSNR-Y"], agreement["NIQE"]
    assert (psnr[1], psnr[2], psnr[3], psnr[5]) == ("higher", "3", "0.50", "0.33")
    assert niqe[1] == "lower (sign-flipped)" and niqe[3] == "1.00" and niqe[5] == "1.00"
    keys = sort_keys(section, "agreement", 3)
    assert 'data-sort="0.5"' in keys[0] and 'data-sort="1.0"' in keys[1]
    assert "Not compared (no value for some rated model): Sharpness." in section
    assert "its mean over this run&#x27;s images" in section


def test_two_rated_models_get_a_leaderboard_but_no_agreement(tmp_path, store):
    data = run_data(tmp_path, MODELS[:2])
    text = render(run_report(data, MAX_PIXELS, run_ratings(data, lambda: store)))
    section = text[text.index('<section id="ratings">') : text.index('<section id="recipe">')]
    assert [row[1] for row in table_rows(section, "leaderboard")] == ["alpha-x2", "beta-x2"]
    assert "needs counted votes between at least 3 of the models" in section and "there are 2" in section
    assert 'class="agreement' not in section


def test_no_ratings_for_the_runs_models_is_one_line(tmp_path):
    db = open_store(tmp_path / "data")
    files = add_outputs(db, "photo", ("someone-else", OUTSIDER))
    vote(db, files, (OUTSIDER,))
    data = run_data(tmp_path)
    for store in (lambda: db, lambda: None):  # votes for other models only; no store on this machine at all
        text = render(run_report(data, MAX_PIXELS, run_ratings(data, store)))
        section = text[text.index('<section id="ratings">') : text.index('<section id="recipe">')]
        page = parse(section)
        assert [name for name, _ in page.tags] == ["section", "h2", "p"], section  # a heading and one line
        assert "No human ratings" in section and "Arena" in section


def test_an_unreadable_store_is_one_line_and_the_report_still_renders(tmp_path):
    def broken():
        raise OSError("disk on fire")

    data = run_data(tmp_path)
    text = render(run_report(data, MAX_PIXELS, run_ratings(data, broken)))
    assert "The ratings store could not be read (disk on fire): no human ratings shown." in text
    assert '<section id="summary">' in text and '<section id="recipe">' in text
    assert '<section id="ratings">' not in render(run_report(data, MAX_PIXELS, None))  # --no-ratings


def test_studio_report_reads_the_store_named_by_the_environment_and_never_creates_one(tmp_path):
    from tests.batch.data import MODELS as RUN_MODELS
    from tests.cli.helpers import studio
    from tests.report.runs import make_run

    run_dir = make_run(tmp_path)
    empty, rated = tmp_path / "empty", tmp_path / "rated"
    db = open_store(rated)
    files = add_outputs(db, "photo", RUN_MODELS)
    for _ in range(3):
        vote(db, files, ("lanczos-x2", "bicubic-x2"))
    db.dispose()

    def report(data_dir: Path, *flags: str) -> str:
        out = tmp_path / "report.html"
        result = studio("report", str(run_dir), "-o", str(out), *flags, env={"STUDIO_DATA_DIR": str(data_dir)})
        assert result.returncode == 0, result.stderr
        return out.read_text(encoding="utf-8")

    text = report(empty)
    assert "No human ratings: this machine has no ratings store yet" in text
    assert not (empty / "ratings").exists()  # reading a report's ratings creates no store
    text = report(rated)
    assert [row[1] for row in table_rows(text, "leaderboard")] == ["lanczos-x2", "bicubic-x2"]
    assert "3 counted arena vote(s) between 2 of these 2 models" in text
    assert '<section id="ratings">' not in report(rated, "--no-ratings")
