"""/metrics in Prometheus text format: the only home of prometheus_client.

Counters fed while the server works (HTTP requests, app endpoint calls and their errors, model run
latency, votes, rate-limit refusals: see studio/core/telemetry.py for the events) and gauges read when
Prometheus scrapes (the queue, the loaded-model cache). Every series is named `studio_...`; README, "Deploying safely",
lists them with their labels. Each Metrics object has its own registry, so tests can build several.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from studio.core import telemetry
from studio.services import Services

# Seconds: a classical filter takes milliseconds, a large network on a CPU minutes.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)


class _Scraped:
    """Values read at scrape time: Gradio's queue and the load-once model cache."""

    def __init__(self, services: Services, queue_length: Callable[[], int]):
        self.services = services
        self.queue_length = queue_length

    def collect(self) -> Iterator[Any]:
        yield GaugeMetricFamily("studio_queue_length", "Events waiting in the app's queue", value=self.queue_length())
        cache = self.services.loader.cache
        yield CounterMetricFamily("studio_model_cache_hits", "Model loads served by the cache", value=cache.hits)
        yield CounterMetricFamily("studio_model_cache_misses", "Model loads not in the cache", value=cache.misses)
        loaded = GaugeMetricFamily(
            "studio_models_loaded", "Models held in the load-once cache", labels=["model", "backend"]
        )
        for key in cache.loaded_keys():
            loaded.add_metric([str(getattr(key, "model_id", key)), str(getattr(key, "backend", ""))], 1)
        yield loaded


class Metrics:
    """The server's series and the telemetry listener that feeds them."""

    def __init__(self, services: Services, queue_length: Callable[[], int] = lambda: 0):
        self.registry = CollectorRegistry()
        self.http_requests = Counter(
            "studio_http_requests",
            "HTTP requests by route template",
            ["route", "method", "code"],
            registry=self.registry,
        )
        self.requests = Counter("studio_requests", "Calls of each app endpoint", ["endpoint"], registry=self.registry)
        self.errors = Counter(
            "studio_errors", "Failed app endpoint calls (user: refused input; fault: a bug)", ["endpoint", "kind"],
            registry=self.registry,
        )  # fmt: skip
        self.model_latency = Histogram(
            "studio_model_latency_seconds", "One model's run on one image", ["model", "backend"],
            buckets=LATENCY_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self.votes = Counter("studio_votes", "Votes and MOS scores", ["kind", "outcome"], registry=self.registry)
        self.rate_limited = Counter(
            "studio_rate_limited", "Requests refused by a rate limit", ["kind", "scope"], registry=self.registry
        )
        self.registry.register(_Scraped(services, queue_length))
        self._unsubscribe = telemetry.subscribe(self.on_event)

    def on_event(self, event: str, value: float, labels: dict[str, str]) -> None:
        if event == "model_run":
            self.model_latency.labels(labels.get("model", ""), labels.get("backend", "")).observe(value)
        elif event == "event":
            endpoint = labels.get("endpoint", "")
            self.requests.labels(endpoint).inc()
            outcome = labels.get("outcome", "ok")
            if outcome != "ok":
                self.errors.labels(endpoint, "user" if outcome == "user_error" else "fault").inc()
        elif event == "vote":
            self.votes.labels(labels.get("kind", ""), labels.get("outcome", "")).inc()
        elif event == "rate_limited":
            self.rate_limited.labels(labels.get("kind", ""), labels.get("scope", "")).inc()

    def http_request(self, route: str, method: str, code: int) -> None:
        self.http_requests.labels(route, method, str(code)).inc()

    def render(self) -> tuple[bytes, str]:
        """The text exposition and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    def close(self) -> None:
        self._unsubscribe()
