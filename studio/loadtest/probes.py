"""What runs beside the clients at a steady rate: /healthz probes (a liveness check, timed) and samples of the
server's resident memory and CPU time (process.py)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from studio.loadtest import process
from studio.loadtest.outcomes import Record, UnexpectedAnswer, timed_call

HEALTH_CLIENT = -1  # the Record.client of a health probe


@dataclass(frozen=True)
class Sample:
    """The server process at one moment: seconds after the run began, resident memory, CPU seconds used so far."""

    at_s: float
    rss_bytes: int
    cpu_s: float


class Ticker(threading.Thread):
    """Calls `tick()` every `every_s` seconds on a fixed schedule until stopped (a slow tick delays the next one,
    never piles them up)."""

    def __init__(self, every_s: float, name: str):
        super().__init__(name=name, daemon=True)
        self.every_s = every_s
        self.stopped = threading.Event()

    def run(self) -> None:
        due = time.monotonic()
        while not self.stopped.is_set():
            self.tick()
            due = max(due + self.every_s, time.monotonic())
            self.stopped.wait(due - time.monotonic())

    def tick(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        self.stopped.set()
        self.join()


class HealthProbe(Ticker):
    """GET /healthz `rate` times a second over one kept-alive connection, as a load balancer's probe does."""

    def __init__(self, url: str, rate: float, origin: float, timeout_s: float):
        import httpx

        super().__init__(1.0 / rate, "healthz-probe")
        self.http = httpx.Client(base_url=url, timeout=timeout_s)
        self.origin = origin
        self.records: list[Record] = []

    def check(self) -> None:
        response = self.http.get("healthz")
        response.raise_for_status()
        if response.json() != {"status": "ok"}:
            raise UnexpectedAnswer(f"/healthz said {response.text[:80]!r}")

    def tick(self) -> None:
        self.records.append(timed_call("healthz", HEALTH_CLIENT, self.origin, self.check))

    def stop(self) -> None:
        super().stop()
        self.http.close()


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
