"""The load test's report (benchmarks/load.md): targets first, then how it ran, the numbers per kind of request,
every refusal and error by its text, the votes, and the run over time with the server's memory."""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path

from studio.core.errors import UsageError
from studio.core.markdown import markdown_table
from studio.loadtest.outcomes import BUSY, ERROR, OK, REFUSED
from studio.loadtest.run import LoadResult
from studio.loadtest.summary import MB, errors_by_text

BUSY_LOAD = 0.5  # a 1-minute load average above this share of the cores means other work was running
OUTCOME_WORDS = {BUSY: "clean busy refusal", REFUSED: "other refusal (not a clean busy)", ERROR: "server error"}


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def _load(values: tuple[float, float, float]) -> str:
    return ", ".join(f"{value:.2f}" for value in values)


def _rate(rate: object) -> str:
    session, address = getattr(rate, "per_session", 0), getattr(rate, "per_address", 0)
    return f"{session or 'no limit'} per session, {address or 'no limit'} per address a minute"


def _server_lines(result: LoadResult) -> list[str]:
    settings = result.server.settings
    database = (
        f"{settings.db_url.split('://', 1)[0]} (STUDIO_DB_URL)"
        if settings.db_url
        else f"SQLite in {settings.data_dir / 'ratings'}"
    )
    timeout = f"{settings.run_timeout_s:g} s" if settings.run_timeout_s else "none"
    budget = f"{settings.run_budget_s:g} s" if settings.run_budget_s else "none"
    cpu = result.server_cpu_s
    share = f"{cpu:.1f} s of CPU ({100 * cpu / result.duration_s:.0f} % of one core)" if cpu is not None else "unknown"
    started = f", started as `{result.server.command}`" if result.server.command else ""
    return [
        f"- **Server**: {result.config.url} (pid {result.server.pid}{started}); settings read from "
        f"{result.server.settings_from}: ratings database {database}; vote limits {_rate(settings.rate_votes)}; "
        f"run limits {_rate(settings.rate_runs)}; run time limit {timeout}; run budget {budget}; "
        f"{settings.threads} model threads. During the run it used {share}.",
    ]


def _setup_lines(result: LoadResult) -> list[str]:
    config, machine = result.config, result.machine
    lines = [
        f"- **Machine**: {machine.get('cpu', 'unknown CPU')}, {machine.get('cpu_count')} cores, class "
        f"**{machine.get('class')}** (from {machine.get('class_from')}); Python {machine.get('python')}; "
        f"{machine.get('platform')}. Load average (1, 5, 15 min) {_load(result.load_before)} before the run, "
        f"{_load(result.load_after)} after it.",
        *_server_lines(result),
        f"- **Clients**: {config.clients} sessions (each its own gradio_client Client, so its own rater), each in a "
        f"closed loop for {config.seconds:g} s: with probability {config.compare_share:g} a `/compare` of a "
        f"{config.image_side}x{config.image_side} PNG with {', '.join(config.models)} (metric: sharpness), "
        f"otherwise `/new_pair` then a random `/vote_*` at once. {_turnover(config.session_actions)} After a "
        f"refusal or an error a client waits {config.backoff_s:g} s. One request may take {config.timeout_s:g} s.",
        f"- **Probes**: `GET /healthz` {config.health_rate:g} times a second over one kept-alive connection, from a "
        "process of its own (as a load balancer's probe: not among the clients' threads); the "
        f"server's resident memory (VmRSS) and CPU time from /proc every second. Warm-up: the first "
        f"{config.warmup_s:g} s. The driver ran on the same machine (loopback) and used "
        f"{result.driver_cpu_s:.1f} s of CPU.",
        f"- **Before the clock started**: {'; '.join(result.setup)}.",
        f"- Started {result.started}; the clients' last answers came {result.duration_s:.1f} s after the start.",
    ]
    return lines


def _notes(result: LoadResult) -> list[str]:
    """What a reader needs to weigh the numbers: other work on the machine, and why votes were refused."""
    notes = []
    cores = result.machine.get("cpu_count") or 1
    if result.load_before[0] >= BUSY_LOAD * cores:
        notes.append(
            f"The machine was not idle: its load average was {result.load_before[0]:.2f} over the minute before "
            f"the run, on {cores} cores, so other work shared the CPUs with the server and the clients. Rerun on a "
            "quiet machine for the server's own numbers."
        )
    if any(r.outcome == BUSY and "from this address" in r.text for r in result.records if r.kind == "vote"):
        votes = result.server.settings.rate_votes
        notes.append(
            f"Every client connects from the same address, so the server's per-address vote limit "
            f"({votes.per_address} a minute, STUDIO_RATE_VOTES) caps the votes it stores; the rest are refused "
            'with its one-line "slow down", as a crowd behind one proxy would be.'
        )
    return [f"- {note}" for note in notes]


def _turnover(actions: int) -> str:
    if not actions:
        return "Each client keeps its session for the whole run."
    return (
        f"After {actions} actions a client's visitor leaves (its session closed) and a new one comes: a new "
        "session, opened as gradio_client opens one (the page's config), timed as `session`."
    )


def _targets_table(result: LoadResult) -> str:
    rows = [(t.name, "PASS" if t.passed else "FAIL", t.detail) for t in result.targets]
    return markdown_table(["target", "result", "numbers"], rows)


def _kinds_table(result: LoadResult) -> str:
    rows = [
        (k.kind, k.requests, k.outcomes[OK], k.outcomes[BUSY], k.outcomes[REFUSED], k.outcomes[ERROR],
         f"{k.per_s:.2f}", f"{k.ok_per_s:.2f}", _ms(k.p50_ms), _ms(k.p95_ms), _ms(k.max_ms))
        for k in result.kinds
    ]  # fmt: skip
    headers = ["kind", "requests", "ok", "busy", "other refusals", "server errors", "requests/s", "ok/s",
               "p50 ms", "p95 ms", "max ms"]  # fmt: skip
    return markdown_table(headers, rows)


def _errors_section(result: LoadResult) -> list[str]:
    found = errors_by_text(result.records, (BUSY, REFUSED, ERROR))
    if not found:
        return ["No request was refused and none failed."]
    rows = [(kind, OUTCOME_WORDS[outcome], f"`{text}`", count) for kind, outcome, text, count in found]
    return [markdown_table(["kind", "judged", "text (first line)", "count"], rows)]


def _votes_lines(result: LoadResult) -> list[str]:
    votes = result.votes
    if votes.stored is None:
        return [f"{votes.acknowledged} votes acknowledged; stored votes not counted: {votes.note}."]
    return [
        f"{votes.acknowledged} votes acknowledged to the sessions; {votes.stored} stored for them ({votes.note}); "
        f"**{votes.lost} lost**; {votes.unacknowledged} stored whose acknowledgement did not reach the client. "
        "A vote is acknowledged when `/vote_*` returns the reveal; stored votes are counted by the sessions' "
        "rater ids, flagged ones (cast within 2 s of the pair) included."
    ]


def _windows_table(result: LoadResult) -> str:
    rows = [
        (f"{w.start_s:.0f}–{w.end_s:.0f} s", w.ok["compare"], w.ok["pair"], w.ok["vote"], w.ok["session"],
         w.ok["healthz"], _ms(w.healthz_p95_ms), _ms(w.rss_mb))
        for w in result.windows
    ]  # fmt: skip
    headers = ["window", "compare ok", "pair ok", "vote ok", "sessions opened", "healthz ok", "healthz p95 ms",
               "server RSS MB (median)"]  # fmt: skip
    return markdown_table(headers, rows)


def _memory_lines(result: LoadResult) -> list[str]:
    samples = result.samples
    if not samples:
        return ["No memory sample was taken (the server's process could not be read)."]
    first, last = samples[0].rss_bytes / MB, samples[-1].rss_bytes / MB
    peak = max(sample.rss_bytes for sample in samples) / MB
    growth = result.growth
    judged = (
        f"after the {growth.warmup_s:g} s warm-up, the median of the last third of the samples is "
        f"{growth.last_mb:.1f} MB against {growth.first_mb:.1f} MB in the first third: {growth.growth_mb:+.1f} MB"
        if growth.growth_mb is not None
        else "too few samples after the warm-up to judge growth"
    )
    opened = [r for r in result.records if r.kind == "session" and r.outcome == OK]
    later = sum(record.start_s >= growth.warmup_s for record in opened)
    return [
        f"{len(samples)} samples: {first:.1f} MB at the start, {last:.1f} MB at the end, {peak:.1f} MB at most; "
        f"{judged}. {len(opened)} new sessions opened during the run, {later} of them after the warm-up."
    ]


def render(result: LoadResult, command: str) -> str:
    """The report as markdown; `command` is the command line that ran the test."""
    verdict = "every target met" if result.passed else "**some target failed**"
    parts = [
        f"# Load test: {result.config.clients} clients for {result.config.seconds:g} s",
        f"Written by `{command}`: {verdict}. Latencies are from the client's request to its answer (for "
        "`/compare` the upload of the image included), over the answers that succeeded; percentiles interpolate "
        "linearly between ranks.",
        "## Targets (issue #13)",
        _targets_table(result),
        *(["\n".join(_notes(result))] if _notes(result) else []),
        "## How it ran",
        "\n".join(_setup_lines(result)),
        "## Throughput and latency per kind",
        "`pair` is `/new_pair` (drawing the two images to vote on), `vote` the `/vote_*` after it, `session` a new "
        "visitor's session opening, `healthz` the probe.",
        _kinds_table(result),
        "## Refusals and errors",
        *_errors_section(result),
        "## Votes",
        *_votes_lines(result),
        "## Over time",
        _windows_table(result),
        "## Memory",
        *_memory_lines(result),
    ]
    return "\n\n".join(parts) + "\n"


def write_report(result: LoadResult, out: Path, command: str) -> Path:
    """Write the report atomically (a hidden file beside `out`, renamed over it): a reader never sees half."""
    text = render(result, command)
    partial = out.with_name(f".{out.name}.{uuid.uuid4().hex}.partial")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, out)
    except OSError as exc:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        raise UsageError(f"cannot write the report {out}: {exc.strerror or exc}") from None
    return out
