"""One load test from start to end: check the request, open the sessions, give the arena a pair, run the clients,
the health probe and the memory sampler for the set time, then count the votes in the server's database."""

from __future__ import annotations

import datetime
import os
import random
import resource
import ssl
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studio.core.config import Settings
from studio.core.errors import UsageError
from studio.loadtest import process
from studio.loadtest.config import OPENING_AT_ONCE, LoadConfig
from studio.loadtest.outcomes import ERROR, Record, judge
from studio.loadtest.probes import HealthProbe, MemorySampler, Sample
from studio.loadtest.summary import (
    KindSummary,
    MemoryGrowth,
    Target,
    VoteAccount,
    Window,
    by_kind,
    memory_growth,
    targets,
    windows,
)
from studio.loadtest.workload import Client, Session, Workload, drive, ensure_pairs, write_test_image

if TYPE_CHECKING:
    from studio.ratings.store import Database


@dataclass(frozen=True)
class ServerView:
    """The server under test: its process, and its settings as read from its own environment."""

    pid: int
    settings: Settings
    settings_from: str  # where `settings` came from, for the report
    command: str | None = None  # how the server was started


def find_server(config: LoadConfig, pid: int | None, fallback: Settings, data_dir: Path | None) -> ServerView:
    """The process serving `config.url` and its Settings (from /proc/PID/environ), else `fallback`'s;
    `data_dir` overrides where its ratings database is looked for."""
    found = process.server_pid(config.port, pid)
    env = process.environment(found)
    if env is not None:
        env.pop("STUDIO_AUTH", None)  # its passwords are not needed here (the load test does not log in)
    settings, source = (
        (Settings.from_env(env), "the server's environment")
        if env is not None
        else (fallback, "this command's environment (the server's could not be read)")
    )
    if data_dir is not None:
        settings, source = replace(settings, data_dir=data_dir), f"{source}, with --data-dir"
    return ServerView(found, settings, source, process.command_line(found))


@dataclass(frozen=True)
class LoadResult:
    """Everything the report shows."""

    config: LoadConfig
    server: ServerView
    machine: dict[str, Any]
    setup: list[str]
    started: str  # local wall time, ISO 8601
    duration_s: float
    records: list[Record]
    samples: list[Sample]
    votes: VoteAccount
    kinds: list[KindSummary]
    windows: list[Window]
    growth: MemoryGrowth
    targets: list[Target]
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]
    driver_cpu_s: float
    server_cpu_s: float | None

    @property
    def passed(self) -> bool:
        return all(target.passed for target in self.targets)


def run_load_test(
    config: LoadConfig,
    server: ServerView,
    machine: dict[str, Any],
    open_store: Callable[[Settings], Database | None],
    say: Callable[[str], None] = lambda line: None,
) -> LoadResult:
    """Run the load test and judge it (does not write the report: report.py does)."""
    config = config.checked()
    _check_alive(config)
    with tempfile.TemporaryDirectory(prefix="studio-load-") as folder:
        image = write_test_image(Path(folder) / "load.png", config.image_side, config.seed)
        workload = Workload(
            image, config.models, compare_share=config.compare_share, backoff_s=config.backoff_s,
            session_actions=config.session_actions,
        )  # fmt: skip
        say(f"opening {config.clients} sessions on {config.url}")
        clients = _open_clients(config)
        try:
            setup = _set_up(clients[0].sessions[0], workload)
            for line in setup:
                say(line)
            say(f"running {config.clients} clients for {config.seconds:g} s")
            return _measure(config, server, machine, workload, clients, setup, open_store)
        finally:
            for session in _sessions(clients):
                session.close()


def _check_alive(config: LoadConfig) -> None:
    import httpx

    try:
        httpx.get(config.url + "healthz", timeout=10).raise_for_status()
    except httpx.HTTPError as exc:
        raise UsageError(f"no Enhance Studio server answers /healthz at {config.url}: {judge(exc)[1]}") from None


def _open_clients(config: LoadConfig) -> list[Client]:
    """The clients, each with its first session open."""
    tls = ssl.create_default_context()  # verifies certificates as httpx's default does, loaded once

    def open_one(index: int) -> Client:
        opener = partial(Session, index, config.url, config.timeout_s, tls)
        return Client(index, [opener()], opener)

    try:
        with ThreadPoolExecutor(OPENING_AT_ONCE) as pool:
            return list(pool.map(open_one, range(config.clients)))
    except Exception as exc:
        raise UsageError(f"cannot open a session on {config.url}: {judge(exc)[1]}") from None


def _sessions(clients: Sequence[Client]) -> list[Session]:
    """Every session the clients used (list() first: a client may be adding one)."""
    return [session for client in clients for session in list(client.sessions)]


def _set_up(session: Session, workload: Workload) -> list[str]:
    """A pair to vote on, and the models loaded (a first /compare), before the clock starts."""
    try:
        arena = ensure_pairs(session, workload)
        started = time.monotonic()
        session.compare(workload)
    except UsageError:
        raise
    except Exception as exc:
        raise UsageError(f"the setup failed: {judge(exc)[1]}") from None
    return [arena, f"a first /compare of {', '.join(workload.models)} took {time.monotonic() - started:.2f} s"]


def _measure(
    config: LoadConfig,
    server: ServerView,
    machine: dict[str, Any],
    workload: Workload,
    clients: Sequence[Client],
    setup: list[str],
    open_store: Callable[[Settings], Database | None],
) -> LoadResult:
    load_before, driver_before = os.getloadavg(), _own_cpu_s()
    server_before = process.cpu_seconds(server.pid)
    started = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    origin = time.monotonic()
    deadline = origin + config.seconds
    sampler = MemorySampler(server.pid, origin)
    probe = HealthProbe(config.url, config.health_rate, origin, config.timeout_s)
    records: list[Record] = []
    stop = threading.Event()
    threads = [
        threading.Thread(
            target=drive,
            args=(client, workload, origin, deadline, _rng(config, client), records, stop),
            name=f"load-client-{client.index}",
            daemon=True,
        )
        for client in clients
    ]
    for thread in (sampler, probe, *threads):
        thread.start()
    try:
        for thread in threads:  # the last requests end within their timeout
            thread.join(max(0.0, deadline + config.timeout_s + 10 - time.monotonic()))
    finally:
        stop.set()
        duration_s = time.monotonic() - origin
        probe.stop()
        sampler.stop()
    server_after = process.cpu_seconds(server.pid)
    sessions = _sessions(clients)
    unanswered = [_unanswered(session, origin) for session in sessions if session.waiting is not None]
    everything = sorted([*records, *probe.records, *unanswered], key=lambda record: record.start_s)
    votes = _count_votes(sessions, server.settings, open_store)
    found = windows(everything, sampler.samples, duration_s, config.window_s)
    growth = memory_growth(sampler.samples, config.warmup_s)
    return LoadResult(
        config=config,
        server=server,
        machine=machine,
        setup=setup,
        started=started,
        duration_s=duration_s,
        records=everything,
        samples=list(sampler.samples),
        votes=votes,
        kinds=by_kind(everything, duration_s),
        windows=found,
        growth=growth,
        targets=targets(everything, found, growth, votes, config.limits),
        load_before=load_before,
        load_after=os.getloadavg(),
        driver_cpu_s=_own_cpu_s() - driver_before,
        server_cpu_s=None if server_before is None or server_after is None else server_after - server_before,
    )


def _unanswered(session: Session, origin: float) -> Record:
    """A request still without an answer when the run gave up waiting (Gradio's event stream sends heartbeats, so
    a stuck event never times out on the client's side): a server error."""
    kind, since = session.waiting or ("unknown", time.monotonic())
    waited = time.monotonic() - since
    return Record(kind, session.index, since - origin, waited, ERROR, f"no answer after {waited:.0f} s")


def _rng(config: LoadConfig, client: Client) -> random.Random:
    """Each client's own choices, the same on every run with the same seed."""
    return random.Random(config.seed * 1000 + client.index)


def _own_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _count_votes(
    sessions: Sequence[Session], settings: Settings, open_store: Callable[[Settings], Database | None]
) -> VoteAccount:
    """The votes acknowledged to the sessions, and those the server's ratings database holds from them."""
    acknowledged = sum(session.acknowledged for session in sessions)
    raters = {session.rater_id for session in sessions}
    where = settings.db_url.split("://", 1)[0] if settings.db_url else f"SQLite under {settings.data_dir / 'ratings'}"
    try:
        store = open_store(settings)
    except Exception as exc:
        return VoteAccount(acknowledged, None, f"cannot open the ratings database ({where}): {judge(exc)[1]}")
    if store is None:
        return VoteAccount(acknowledged, None, f"no ratings database ({where})")
    from studio.ratings.store_transfer import votes_frame

    try:
        stored = int(votes_frame(store, include_flagged=True)["rater"].isin(raters).sum())
    finally:
        store.dispose()
    return VoteAccount(acknowledged, stored, f"read from {where}")
