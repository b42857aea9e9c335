"""The load test's numbers from made-up records and samples: each figure and each target can fail."""

from __future__ import annotations

import pytest

from studio.loadtest.config import Limits
from studio.loadtest.outcomes import BUSY, ERROR, OK, REFUSED, Record
from studio.loadtest.probes import Sample
from studio.loadtest.summary import (
    MB,
    MemoryGrowth,
    VoteAccount,
    by_kind,
    errors_by_text,
    memory_growth,
    targets,
    windows,
)


def probes(latencies_ms: list[float], every_s: float = 0.2, start_s: float = 0.0) -> list[Record]:
    return [Record("healthz", -1, start_s + i * every_s, ms / 1000, OK) for i, ms in enumerate(latencies_ms)]


def flat_memory(seconds: int, mb: float = 700.0, slope_mb_s: float = 0.0) -> list[Sample]:
    return [Sample(float(t), int((mb + slope_mb_s * t) * MB), float(t)) for t in range(seconds)]


def by_name(found) -> dict:
    return {target.name: target for target in found}


def test_each_kind_counts_outcomes_rates_and_latency_of_what_succeeded():
    records = [
        *(Record("compare", 0, float(i), (i + 1) / 10, OK) for i in range(10)),  # 100..1000 ms
        Record("compare", 1, 1.0, 0.001, BUSY, "Queue is full! Please try again."),
        Record("vote", 1, 2.0, 0.05, ERROR, "timeout: ReadTimeout"),
    ]
    found = {summary.kind: summary for summary in by_kind(records, duration_s=10.0)}
    compare = found["compare"]
    assert compare.outcomes == {OK: 10, BUSY: 1, REFUSED: 0, ERROR: 0} and compare.requests == 11
    assert compare.per_s == pytest.approx(1.1) and compare.ok_per_s == pytest.approx(1.0)
    assert compare.p50_ms == pytest.approx(550.0, abs=1e-9)  # between the 5th and 6th of 100..1000 ms
    assert compare.p95_ms == pytest.approx(955.0, abs=1e-9) and compare.max_ms == pytest.approx(1000.0)
    assert found["vote"].p50_ms is None and found["pair"].requests == 0


def test_windows_cut_by_start_and_a_short_tail_joins_the_last_one():
    records = probes([10.0] * 50 + [90.0] * 50 + [10.0] * 5)  # 5 probes a second: 0-10 s, 10-20 s, 20-21 s
    found = windows(records, flat_memory(21), duration_s=21.0, window_s=10.0)
    assert [(w.start_s, w.end_s) for w in found] == [(0.0, 10.0), (10.0, 21.0)]
    assert [w.ok["healthz"] for w in found] == [50, 55]
    assert found[0].healthz_p95_ms == pytest.approx(10.0) and found[1].healthz_p95_ms == pytest.approx(90.0)
    assert found[0].rss_mb == pytest.approx(700.0, abs=0.01)
    longer_tail = windows(records, [], duration_s=26.0, window_s=10.0)
    assert [(w.start_s, w.end_s) for w in longer_tail] == [(0.0, 10.0), (10.0, 20.0), (20.0, 26.0)]


def test_memory_growth_compares_the_thirds_after_the_warm_up():
    steady = memory_growth(flat_memory(60), warmup_s=10)
    assert steady.samples == 50 and steady.growth_mb == pytest.approx(0.0, abs=0.01)
    growing = memory_growth(flat_memory(60, slope_mb_s=1.0), warmup_s=10)  # 1 MB a second after 10 s
    assert growing.growth_mb == pytest.approx(34.0, abs=1e-6)  # thirds of 16 samples: medians at 17.5 s and 51.5 s
    assert memory_growth(flat_memory(12), warmup_s=10).growth_mb is None  # 2 samples: no thirds


LIMITS = Limits(healthz_p95_ms=50, max_growth_mb=32)


def judged(records, votes=None, growth=None, limits=LIMITS) -> dict:
    votes = votes or VoteAccount(10, 10)
    growth = growth or MemoryGrowth(10.0, 50, 700.0, 710.0)
    return by_name(targets(records, windows(records, [], 20.0, 10.0), growth, votes, limits))


def test_every_target_passes_on_a_calm_run():
    found = judged([*probes([5.0] * 100), Record("vote", 0, 1.0, 0.1, BUSY, "slow down: x (try again in 3 s)")])
    assert all(target.passed for target in found.values()), found
    assert found["0 lost votes"].detail == "10 acknowledged, 10 stored, 0 lost"


def test_a_lost_vote_an_error_an_unclean_refusal_and_memory_growth_each_fail_their_target():
    records = [*probes([5.0] * 100), Record("vote", 0, 1.0, 0.1, REFUSED, "No pair to vote on")]
    records.append(Record("compare", 0, 2.0, 60.0, ERROR, "timeout: ReadTimeout"))
    found = judged(records, votes=VoteAccount(10, 9), growth=MemoryGrowth(10.0, 50, 700.0, 740.0))
    failed = {name for name, target in found.items() if not target.passed}
    memory, clean = "no memory growth after warm-up", 'every rejection a clean "busy"'
    assert failed == {"0 lost votes", "0 server errors", clean, memory}
    assert found["0 lost votes"].detail == "10 acknowledged, 9 stored, 1 lost"
    assert not judged(probes([5.0] * 100), votes=VoteAccount(3, None, "no ratings database"))["0 lost votes"].passed


def test_healthz_must_hold_in_every_window_not_only_over_the_run():
    slow_at_the_end = probes([5.0] * 96 + [80.0] * 4)  # 20 s: 4 % slow over the run, 8 % of the last 10 s
    found = judged(slow_at_the_end)["/healthz under 50 ms p95 throughout"]
    assert not found.passed and "p95 5.0 ms over the run, 80.0 ms in the worst window (10–20 s)" in found.detail
    failed_probe = [*probes([5.0] * 100), Record("healthz", -1, 5.0, 0.0, ERROR, "connection: ConnectError")]
    assert not judged(failed_probe)["/healthz under 50 ms p95 throughout"].passed
    assert not judged([])["/healthz under 50 ms p95 throughout"].passed


def test_refusals_are_grouped_by_their_text_with_the_wait_and_error_ids_left_out():
    records = [
        Record("vote", 0, 0.0, 0.1, BUSY, "slow down: too many votes (try again in 12 s)"),
        Record("vote", 1, 0.0, 0.1, BUSY, "slow down: too many votes (try again in 3 s)"),
        Record("compare", 1, 0.0, 0.1, ERROR, "Something went wrong on the server (error id 3fa9c2)"),
        Record("compare", 2, 0.0, 0.1, ERROR, "Something went wrong on the server (error id 77b1e0)"),
        Record("compare", 2, 0.0, 0.1, OK),
    ]
    assert errors_by_text(records, (BUSY, REFUSED, ERROR)) == [
        ("vote", BUSY, "slow down: too many votes (try again in N s)", 2),
        ("compare", ERROR, "Something went wrong on the server (error id …)", 2),
    ]
