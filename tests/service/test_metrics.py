"""/metrics' series: fed by telemetry events and read from the model cache and queue when scraped."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from studio.core import telemetry
from studio.models.cache import EnhancerCache
from studio.service.metrics import Metrics
from studio.services import Services


def samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    body, content_type = metrics.render()
    assert content_type.startswith("text/plain; version=")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }


def test_events_become_studio_series(settings):
    metrics = Metrics(Services(settings), queue_length=lambda: 3)
    try:
        telemetry.emit("model_run", 0.2, model="clahe", backend="classical")
        telemetry.emit("event", endpoint="compare", outcome="ok")
        telemetry.emit("event", endpoint="compare", outcome="user_error")
        telemetry.emit("event", endpoint="leaderboard", outcome="fault")
        telemetry.emit("vote", kind="arena", outcome="accepted")
        telemetry.emit("vote", kind="mos", outcome="rejected")
        metrics.http_request("/healthz", "GET", 200)
        found = samples(metrics)
    finally:
        metrics.close()
    assert found[("studio_model_latency_seconds_count", (("backend", "classical"), ("model", "clahe")))] == 1
    assert found[("studio_model_latency_seconds_sum", (("backend", "classical"), ("model", "clahe")))] == 0.2
    assert found[("studio_requests_total", (("endpoint", "compare"),))] == 2
    assert found[("studio_errors_total", (("endpoint", "compare"), ("kind", "user")))] == 1
    assert found[("studio_errors_total", (("endpoint", "leaderboard"), ("kind", "fault")))] == 1
    assert found[("studio_votes_total", (("kind", "arena"), ("outcome", "accepted")))] == 1
    assert found[("studio_votes_total", (("kind", "mos"), ("outcome", "rejected")))] == 1
    assert found[("studio_http_requests_total", (("code", "200"), ("method", "GET"), ("route", "/healthz")))] == 1
    assert found[("studio_queue_length", ())] == 3
    assert all(name.startswith("studio_") for name, _ in found)


def test_cache_hits_misses_and_loaded_models_are_read_when_scraped(settings):
    services = Services(settings)
    services.loader.cache = EnhancerCache(64)  # its own, not the process-wide one other tests fill
    metrics = Metrics(services)
    try:
        before = samples(metrics)
        for _ in range(3):
            services.loader.load(services.registry.get("lanczos-x2"))
        after = samples(metrics)
    finally:
        metrics.close()
    hits, misses = ("studio_model_cache_hits_total", ()), ("studio_model_cache_misses_total", ())
    assert after[misses] - before[misses] == 1 and after[hits] - before[hits] == 2
    assert after[("studio_models_loaded", (("backend", "classical"), ("model", "lanczos-x2")))] == 1


def test_a_closed_metrics_object_stops_listening(settings):
    metrics = Metrics(Services(settings))
    metrics.close()
    telemetry.emit("event", endpoint="compare", outcome="ok")
    assert ("studio_requests_total", (("endpoint", "compare"),)) not in samples(metrics)
