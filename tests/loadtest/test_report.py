"""The report: targets first with PASS or FAIL, every section, numbers as measured; written atomically."""

from __future__ import annotations

import os

import pytest

from studio.core.config import Settings
from studio.core.errors import UsageError
from studio.loadtest.config import LoadConfig
from studio.loadtest.outcomes import BUSY, OK, Record
from studio.loadtest.probes import Sample
from studio.loadtest.report import render, write_report
from studio.loadtest.run import LoadResult, ServerView
from studio.loadtest.summary import MB, VoteAccount, by_kind, memory_growth, targets, windows


def a_result(stored: int = 2, load_before: tuple[float, float, float] = (0.5, 0.4, 0.3)) -> LoadResult:
    config = LoadConfig("http://127.0.0.1:7860/", clients=2, seconds=20, warmup_s=5)
    records = [
        *(Record("healthz", -1, i * 0.2, 0.004, OK) for i in range(100)),
        Record("compare", 0, 1.0, 0.35, OK),
        Record("pair", 1, 1.0, 0.1, OK),
        Record("vote", 1, 1.2, 0.05, OK),
        Record("vote", 1, 3.0, 0.01, BUSY, "slow down: too many votes from this address (try again in 7 s)"),
        Record("session", 0, 12.0, 0.3, OK),
    ]
    samples = [Sample(float(t), (700 + t % 2) * MB, float(t)) for t in range(20)]
    votes = VoteAccount(2, stored, "read from SQLite under /data/ratings")
    found, growth = windows(records, samples, 20.0, 10.0), memory_growth(samples, 5.0)
    return LoadResult(
        config=config,
        server=ServerView(4242, Settings(), "the server's environment", "python app.py"),
        machine={"cpu": "Test CPU", "cpu_count": 2, "class": "cpu", "class_from": "forced", "python": "3.11"},
        setup=["the arena already had pairs to vote on"],
        started="2026-01-01T00:00:00+00:00",
        duration_s=20.0,
        records=records,
        samples=samples,
        votes=votes,
        kinds=by_kind(records, 20.0),
        windows=found,
        growth=growth,
        targets=targets(records, found, growth, votes, config.limits),
        load_before=load_before,
        load_after=(1.5, 0.6, 0.4),
        driver_cpu_s=1.25,
        server_cpu_s=12.0,
    )


def test_the_report_opens_with_the_targets_and_has_every_section():
    text = render(a_result(), "studio load-test http://127.0.0.1:7860/ --clients 2 --seconds 20")
    assert text.startswith("# Load test: 2 clients for 20 s\n\nWritten by `studio load-test http://127.0.0.1:7860/")
    assert "every target met" in text
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert headings == [
        "## Targets (issue #13)", "## How it ran", "## Throughput and latency per kind", "## Refusals and errors",
        "## Votes", "## Over time", "## Memory",
    ]  # fmt: skip
    assert "| 0 lost votes | PASS | 2 acknowledged, 2 stored, 0 lost |" in text
    assert "| compare | 1 | 1 | 0 | 0 | 0 | 0.05 | 0.05 | 350.0 | 350.0 | 350.0 |" in text
    refusal = "`slow down: too many votes from this address (try again in N s)`"
    assert f"| vote | clean busy refusal | {refusal} | 1 |" in text
    assert "| 0–10 s | 1 | 1 | 1 | 0 | 50 | 4.0 | 700.5 |" in text and "| 10–20 s | 0 | 0 | 0 | 1 | 50 |" in text
    assert "1 new sessions opened during the run, 1 of them after the warm-up." in text
    assert "After 10 actions a client's visitor leaves" in text
    assert "Load average (1, 5, 15 min) 0.50, 0.40, 0.30 before the run, 1.50, 0.60, 0.40 after it" in text
    assert "12.0 s of CPU (60 % of one core)" in text and "used 1.2 s of CPU" in text
    assert "vote limits 30 per session, 120 per address a minute" in text
    assert "(pid 4242, started as `python app.py`)" in text
    assert "the server's per-address vote limit (120 a minute, STUDIO_RATE_VOTES) caps the votes" in text
    assert "The machine was not idle" not in text


def test_a_busy_machine_is_said_under_the_targets():
    text = render(a_result(load_before=(3.9, 2.0, 1.0)), "studio load-test URL")
    notes = text.split("## How it ran")[0]
    assert "- The machine was not idle: its load average was 3.90 over the minute before the run, on 2 cores" in notes


def test_a_failed_target_is_marked_in_the_opening_and_its_row():
    text = render(a_result(stored=1), "studio load-test URL")
    assert "**some target failed**" in text and "| 0 lost votes | FAIL | 2 acknowledged, 1 stored, 1 lost |" in text


def test_the_report_is_written_whole_or_not_at_all(tmp_path):
    out = write_report(a_result(), tmp_path / "bench" / "load.md", "studio load-test URL")
    assert out.read_text(encoding="utf-8").startswith("# Load test") and os.listdir(out.parent) == ["load.md"]
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(UsageError, match=r"^cannot write the report .*a-file/load\.md: "):
        write_report(a_result(), blocker / "load.md", "studio load-test URL")
