"""The load test's numbers from its records and samples: per kind, per time window, memory growth, the votes,
and the targets of issue #13, each passed or failed with the numbers that decide it. Pure: no I/O."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from studio.loadtest.config import Limits
from studio.loadtest.outcomes import BUSY, ERROR, OK, OUTCOMES, REFUSED, Record
from studio.loadtest.probes import Sample

KINDS = ("compare", "pair", "vote", "session", "healthz")
MB = 2**20


def percentile_ms(latencies_s: Sequence[float], q: float) -> float | None:
    """The q-th percentile in milliseconds (linear between the closest ranks, numpy's default), None when empty."""
    import numpy as np

    return float(np.percentile(np.asarray(latencies_s) * 1000, q)) if len(latencies_s) else None


def median(values: Sequence[float]) -> float | None:
    import numpy as np

    return float(np.median(values)) if len(values) else None


@dataclass(frozen=True)
class KindSummary:
    """One kind of request over the whole run; latencies are of the answers that succeeded."""

    kind: str
    outcomes: dict[str, int]
    per_s: float
    ok_per_s: float
    p50_ms: float | None
    p95_ms: float | None
    max_ms: float | None

    @property
    def requests(self) -> int:
        return sum(self.outcomes.values())


@dataclass(frozen=True)
class Window:
    """A stretch of the run: successful answers per kind, the /healthz p95 and the server's median memory."""

    start_s: float
    end_s: float
    ok: dict[str, int]
    healthz_p95_ms: float | None
    rss_mb: float | None


@dataclass(frozen=True)
class MemoryGrowth:
    """Median resident memory in the first and the last third of the samples taken after the warm-up."""

    warmup_s: float
    samples: int
    first_mb: float | None
    last_mb: float | None

    @property
    def growth_mb(self) -> float | None:
        return None if self.first_mb is None or self.last_mb is None else self.last_mb - self.first_mb


@dataclass(frozen=True)
class VoteAccount:
    """Votes the server acknowledged to the load test's sessions, and those its ratings database holds for them
    (None when the database could not be read: `note` says why)."""

    acknowledged: int
    stored: int | None
    note: str = ""

    @property
    def lost(self) -> int | None:
        return None if self.stored is None else max(0, self.acknowledged - self.stored)

    @property
    def unacknowledged(self) -> int:
        """Stored without the client hearing so (its answer timed out or failed on the way): not lost."""
        return 0 if self.stored is None else max(0, self.stored - self.acknowledged)


@dataclass(frozen=True)
class Target:
    name: str
    passed: bool
    detail: str


def by_kind(records: Sequence[Record], duration_s: float) -> list[KindSummary]:
    """Each kind's counts per outcome, rates over `duration_s` and latency percentiles."""
    summaries = []
    for kind in KINDS:
        mine = [record for record in records if record.kind == kind]
        counts = Counter(record.outcome for record in mine)
        ok = [record.latency_s for record in mine if record.outcome == OK]
        summaries.append(
            KindSummary(
                kind=kind,
                outcomes={outcome: counts.get(outcome, 0) for outcome in OUTCOMES},
                per_s=len(mine) / duration_s if duration_s > 0 else 0.0,
                ok_per_s=len(ok) / duration_s if duration_s > 0 else 0.0,
                p50_ms=percentile_ms(ok, 50),
                p95_ms=percentile_ms(ok, 95),
                max_ms=max(ok) * 1000 if ok else None,
            )
        )
    return summaries


def windows(records: Sequence[Record], samples: Sequence[Sample], duration_s: float, window_s: float) -> list[Window]:
    """The run cut into `window_s` stretches by when each request started; a last stretch shorter than half a
    window (the requests in flight at the end) joins the one before it."""
    bounds = [0.0]
    while bounds[-1] + window_s < duration_s - 1e-9:
        bounds.append(bounds[-1] + window_s)
    if len(bounds) > 1 and duration_s - bounds[-1] < window_s / 2:
        bounds.pop()
    bounds.append(duration_s)
    found = []
    for start, end in pairwise(bounds):
        inside = [record for record in records if start <= record.start_s < end]
        health = [r.latency_s for r in inside if r.kind == "healthz" and r.outcome == OK]
        memory = [sample.rss_bytes / MB for sample in samples if start <= sample.at_s < end]
        ok = Counter(record.kind for record in inside if record.outcome == OK)
        counts = {kind: ok.get(kind, 0) for kind in KINDS}
        found.append(Window(start, end, counts, percentile_ms(health, 95), median(memory)))
    return found


def memory_growth(samples: Sequence[Sample], warmup_s: float) -> MemoryGrowth:
    """Growth after the warm-up: the last third's median against the first third's (medians shrug off a spike)."""
    after = [sample.rss_bytes / MB for sample in samples if sample.at_s >= warmup_s]
    third = len(after) // 3
    if third == 0:
        return MemoryGrowth(warmup_s, len(after), None, None)
    return MemoryGrowth(warmup_s, len(after), median(after[:third]), median(after[-third:]))


def text_shape(text: str) -> str:
    """`text` with what varies between otherwise equal messages replaced: the seconds to wait, an error id."""
    text = re.sub(r"error id [0-9a-fA-F-]+", "error id …", text)
    return re.sub(r"\(try again in \d+ s\)", "(try again in N s)", text)


def errors_by_text(records: Sequence[Record], outcomes: tuple[str, ...]) -> list[tuple[str, str, str, int]]:
    """(kind, outcome, text shape, count) of the requests that ended in one of `outcomes`, most frequent first."""
    counts = Counter((r.kind, r.outcome, text_shape(r.text)) for r in records if r.outcome in outcomes)
    return [(kind, outcome, text, n) for (kind, outcome, text), n in counts.most_common()]


def _votes_target(votes: VoteAccount) -> Target:
    if votes.stored is None:
        return Target("0 lost votes", False, f"not checked: {votes.note}")
    detail = f"{votes.acknowledged} acknowledged, {votes.stored} stored, {votes.lost} lost"
    return Target("0 lost votes", votes.lost == 0, detail)


def _memory_target(growth: MemoryGrowth, limits: Limits) -> Target:
    name = "no memory growth after warm-up"
    if growth.growth_mb is None or growth.first_mb is None or growth.last_mb is None:
        return Target(name, False, f"not measured: {growth.samples} samples after the warm-up")
    detail = (
        f"{growth.growth_mb:+.1f} MB (median of the last third {growth.last_mb:.1f} MB vs the first "
        f"{growth.first_mb:.1f} MB, {growth.samples} samples after {growth.warmup_s:g} s; bound "
        f"{limits.max_growth_mb:g} MB)"
    )
    return Target(name, growth.growth_mb <= limits.max_growth_mb, detail)


def _health_target(records: Sequence[Record], found: Sequence[Window], limits: Limits) -> Target:
    """Every probe answered, and the p95 of every window under the bound ("throughout")."""
    name = f"/healthz under {limits.healthz_p95_ms:g} ms p95 throughout"
    probes = [record for record in records if record.kind == "healthz"]
    overall = percentile_ms([r.latency_s for r in probes if r.outcome == OK], 95)
    measured = [window for window in found if window.healthz_p95_ms is not None]
    if overall is None or not measured:
        return Target(name, False, "no /healthz probe answered")
    worst = max(measured, key=lambda window: window.healthz_p95_ms or 0.0)
    worst_ms = worst.healthz_p95_ms or 0.0
    failed = sum(record.outcome != OK for record in probes)
    detail = (
        f"p95 {overall:.1f} ms over the run, {worst_ms:.1f} ms in the worst window ({worst.start_s:.0f}–"
        f"{worst.end_s:.0f} s); {len(probes)} probes, {failed} failed"
    )
    return Target(name, worst_ms < limits.healthz_p95_ms and failed == 0, detail)


def targets(
    records: Sequence[Record], found: Sequence[Window], growth: MemoryGrowth, votes: VoteAccount, limits: Limits
) -> list[Target]:
    """Issue #13's targets, each with the numbers that decide it."""
    outcomes = Counter(record.outcome for record in records)
    clean = f"{outcomes[BUSY]} clean busy refusals, {outcomes[REFUSED]} other refusals"
    return [
        _votes_target(votes),
        Target("0 server errors", outcomes[ERROR] == 0, f"{outcomes[ERROR]} of {len(records)} requests"),
        Target('every rejection a clean "busy"', outcomes[REFUSED] == 0, clean),
        _memory_target(growth, limits),
        _health_target(records, found, limits),
    ]
