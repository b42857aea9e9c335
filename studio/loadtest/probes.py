"""What runs beside the clients at a steady rate: /healthz probes (a liveness check, timed) and samples of the
server's resident memory and CPU time (process.py)."""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Protocol

from studio.loadtest import process
from studio.loadtest.outcomes import Record, UnexpectedAnswer, timed_call

HEALTH_CLIENT = -1  # the Record.client of a health probe
PROBE_EXIT_S = 30.0  # how long the probe process gets to send its records and end (a probe in flight: its timeout)


class StopFlag(Protocol):
    """A threading.Event, or a multiprocessing one."""

    def is_set(self) -> bool: ...

    def wait(self, timeout: float | None = None) -> bool: ...


@dataclass(frozen=True)
class Sample:
    """The server process at one moment: seconds after the run began, resident memory, CPU seconds used so far."""

    at_s: float
    rss_bytes: int
    cpu_s: float


def run_every(every_s: float, tick: Callable[[], None], stopped: StopFlag) -> None:
    """Call `tick()` every `every_s` seconds on a fixed schedule until `stopped` is set (a slow tick delays the
    next one, never piles them up)."""
    due = time.monotonic()
    while not stopped.is_set():
        tick()
        due = max(due + every_s, time.monotonic())
        stopped.wait(due - time.monotonic())


class Ticker(threading.Thread):
    """A thread that calls `tick()` every `every_s` seconds (run_every) until stopped."""

    def __init__(self, every_s: float, name: str):
        super().__init__(name=name, daemon=True)
        self.every_s = every_s
        self.stopped = threading.Event()

    def run(self) -> None:
        run_every(self.every_s, self.tick, self.stopped)

    def tick(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        self.stopped.set()
        self.join()


class HealthProbe:
    """GET /healthz `rate` times a second over one kept-alive connection, as a load balancer's probe does.

    From a process of its own: in a thread of the driver its times also held the wait for the driver's GIL
    among the clients' threads (up to half a second as 20 sessions closed at the end of a run), which is no
    time of the server's.
    """

    def __init__(self, url: str, rate: float, origin: float, timeout_s: float):
        context = multiprocessing.get_context("spawn")  # the driver has threads by now: never fork it
        self._stopped = context.Event()
        self._receiving, sending = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_probe,
            args=(url, rate, origin, timeout_s, self._stopped, sending),
            name="healthz-probe",
            daemon=True,
        )
        self.records: list[Record] = []

    def start(self) -> None:
        self._process.start()

    def stop(self) -> None:
        self._stopped.set()
        self.records = self._receiving.recv() if self._receiving.poll(PROBE_EXIT_S) else []
        self._process.join(PROBE_EXIT_S)


def _probe(url: str, rate: float, origin: float, timeout_s: float, stopped: StopFlag, sending: Connection) -> None:
    """The probe process: its records go back through `sending` once `stopped` is set."""
    import httpx

    records: list[Record] = []
    with httpx.Client(base_url=url, timeout=timeout_s) as http:

        def check() -> None:
            response = http.get("healthz")
            response.raise_for_status()
            if response.json() != {"status": "ok"}:
                raise UnexpectedAnswer(f"/healthz said {response.text[:80]!r}")

        run_every(1.0 / rate, lambda: records.append(timed_call("healthz", HEALTH_CLIENT, origin, check)), stopped)
    sending.send(records)


class MemorySampler(Ticker):
    """The server's resident memory and CPU time every `every_s` seconds."""

    def __init__(self, pid: int, origin: float, every_s: float = 1.0):
        super().__init__(every_s, "memory-sampler")
        self.pid = pid
        self.origin = origin
        self.samples: list[Sample] = []

    def tick(self) -> None:
        rss, cpu = process.rss_bytes(self.pid), process.cpu_seconds(self.pid)
        if rss is not None and cpu is not None:
            self.samples.append(Sample(time.monotonic() - self.origin, rss, cpu))
