"""The telemetry hook: lower layers emit, the web server listens; no listener means nothing happens."""

from __future__ import annotations

import logging

from studio.core import telemetry


def test_listeners_hear_events_until_they_unsubscribe():
    heard = []
    stop = telemetry.subscribe(lambda event, value, labels: heard.append((event, value, labels)))
    telemetry.emit("model_run", 0.25, model="clahe", backend="classical")
    stop()
    telemetry.emit("model_run", 1.0, model="clahe", backend="classical")
    stop()  # twice is harmless
    assert heard == [("model_run", 0.25, {"model": "clahe", "backend": "classical"})]


def test_a_failing_listener_never_fails_the_caller(caplog):
    def broken(event, value, labels):
        raise RuntimeError("listener bug")

    heard = []
    stops = [telemetry.subscribe(broken), telemetry.subscribe(lambda *args: heard.append(args))]
    try:
        with caplog.at_level(logging.ERROR):
            telemetry.emit("vote", kind="arena", outcome="accepted")
    finally:
        for stop in stops:
            stop()
    assert heard == [("vote", 1.0, {"kind": "arena", "outcome": "accepted"})]
    assert "telemetry listener failed on vote" in caplog.text


def test_emitting_with_no_listener_does_nothing():
    telemetry.emit("event", endpoint="compare", outcome="ok")
