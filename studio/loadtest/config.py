"""What a load test runs and the bounds it is judged by: plain values, checked once, importable without any
runtime (the CLI builds its flags' defaults from them)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

from studio.core.errors import UsageError


@dataclass(frozen=True)
class Limits:
    """The targets' bounds: issue #13 asks for /healthz under 50 ms p95 and no memory growth after warm-up."""

    healthz_p95_ms: float = 50.0
    max_growth_mb: float = 32.0  # "no growth": what a server that holds steady moves by (allocator, caches)


QUICK_MODELS = ("lanczos-x2", "clahe", "unsharp-mask")  # classical: milliseconds each on a small image
MAX_CLIENTS = 64  # bounded: a load test, not a flood
MAX_SECONDS = 600
OPENING_AT_ONCE = 4  # sessions opened in parallel (each fetches the page's config)


@dataclass(frozen=True)
class LoadConfig:
    """What to run: `clients` sessions for `seconds` against `url`, a /healthz probe `health_rate` times a second."""

    url: str
    clients: int = 20
    seconds: float = 60.0
    warmup_s: float = 20.0  # memory growth is judged on the samples after this (default_warmup_s)
    health_rate: float = 5.0
    models: tuple[str, ...] = QUICK_MODELS
    compare_share: float = 0.5
    image_side: int = 96
    timeout_s: float = 60.0  # one request's limit: a slower answer counts as a server error
    backoff_s: float = 1.0
    session_actions: int = 10  # a client's session is replaced by a new one after this many actions (0: never)
    window_s: float = 10.0
    seed: int = 0
    limits: Limits = field(default_factory=Limits)

    def checked(self) -> LoadConfig:
        """This config with a trailing slash on the URL, or a UsageError naming what is out of bounds."""
        parts = urlsplit(self.url)
        host = parts.hostname or ""
        if parts.scheme not in ("http", "https") or not host:
            raise UsageError(f"{self.url!r} is not a server URL like http://127.0.0.1:7860/")
        try:
            parts.port  # noqa: B018 - parsing it refuses a port that is not a number
        except ValueError:
            raise UsageError(f"{self.url!r} has no valid port") from None
        if not _loopback(host):
            raise UsageError(f"the load test drives only a server on this machine (127.0.0.1, ::1, localhost): {host}")
        bounds = [
            (1 <= self.clients <= MAX_CLIENTS, f"--clients must be 1 to {MAX_CLIENTS}"),
            (1 <= self.seconds <= MAX_SECONDS, f"--seconds must be 1 to {MAX_SECONDS}"),
            (0 <= self.warmup_s < self.seconds, "--warmup must be at least 0 and shorter than --seconds"),
            (0 < self.health_rate <= 50, "--health-rate must be above 0 and at most 50 a second"),
            (0 <= self.compare_share <= 1, "--compare-share must be 0 to 1"),
            (16 <= self.image_side <= 1024, "the image side must be 16 to 1024 px"),
            (0 < self.window_s <= self.seconds, "the report's time window must be above 0 and at most --seconds"),
            (self.timeout_s > 0 and self.backoff_s >= 0, "the request timeout must be above 0, the backoff at least 0"),
            (self.session_actions >= 0, "--session-actions must be at least 0"),
            (self.limits.healthz_p95_ms > 0, "--healthz-p95-ms must be above 0"),
            (self.limits.max_growth_mb >= 0, "--max-growth-mb must be at least 0"),
            (bool(self.models), "give at least one model"),
        ]
        for ok, message in bounds:
            if not ok:
                raise UsageError(message)
        return replace(self, url=self.url if self.url.endswith("/") else self.url + "/")

    @property
    def port(self) -> int:
        parts = urlsplit(self.url)
        return parts.port or (443 if parts.scheme == "https" else 80)


def default_warmup_s(seconds: float) -> float:
    """20 s, or a third of a shorter run: memory growth is judged on the samples after it. Under 20 clients the
    server's memory rose for about 30 s and then held (medians of 10 s between 897 and 934 MB from 30 s
    to 180 s, measured here)."""
    return min(20.0, seconds / 3)


def default_window_s(seconds: float) -> float:
    """The report's time windows: 10 s, or a sixth of a shorter run (at least 1 s)."""
    return min(10.0, max(seconds / 6, 1.0), seconds)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
