"""Access in-process: the 429 layer (RateLimitedPosts) on stand-in routes, uvicorn's proxy settings, the
rate-limit series, and the login callable Gradio is mounted with. tests/service/test_access.py checks the
real server."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from fastapi import Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient

from studio.core import telemetry
from studio.core.accounts import Accounts
from studio.core.ratelimit import FAILED_LOGINS, RUNS, VOTES, Rate, RateLimiter
from studio.service.http import build_app
from studio.service.metrics import Metrics
from studio.service.server import proxy_settings
from studio.services import Services
from tests.service.test_metrics import samples

EVENTS = {"compare": RUNS, "vote_a": VOTES}


@pytest.fixture
def services(settings) -> Services:
    return Services(dataclasses.replace(settings, rate_runs=Rate(1, 2)))


def with_stand_ins(app):
    """Stand-ins for Gradio's event and login routes; the login accepts only the password "right"."""

    @app.post("/gradio_api/call/{api_name}")
    @app.post("/gradio_api/run/{api_name}")
    async def call(api_name: str) -> dict:
        return {"reached": api_name}

    @app.post("/login")
    async def login(request: Request) -> JSONResponse:
        form = await request.form()
        ok = form.get("password") == "right"
        return JSONResponse({"success": True} if ok else {"detail": "Incorrect credentials."}, 200 if ok else 400)

    return app


def test_a_named_event_over_its_address_limit_is_429_with_retry_after(services):
    client = TestClient(with_stand_ins(build_app(services, limited_events=EVENTS)))
    assert client.post("/gradio_api/call/compare", json={"data": []}).json() == {"reached": "compare"}
    services.limits.take(RUNS, "one", "testclient")  # the event itself counts: this layer only looks
    services.limits.take(RUNS, "two", "testclient")
    for path in ("/gradio_api/call/compare", "/gradio_api/call/compare/", "/gradio_api/run/compare"):
        refused = client.post(path, json={"data": []})
        assert refused.status_code == 429, path
        assert refused.json()["detail"].startswith("slow down: too many runs from this address in the last minute")
        assert 1 <= int(refused.headers["retry-after"]) <= 60 and refused.headers["x-request-id"]
    assert client.post("/gradio_api/call/vote_a", json={"data": []}).status_code == 200  # votes: their own budget
    assert client.post("/gradio_api/call/models", json={"data": []}).status_code == 200  # not limited
    assert client.get("/healthz").status_code == 200


def test_failed_logins_are_counted_and_then_refused_before_any_hash(services):
    client = TestClient(with_stand_ins(build_app(services)))
    for _ in range(3):
        assert client.post("/login", data={"username": "alice", "password": "right"}).status_code == 200
    for _ in range(FAILED_LOGINS):
        assert client.post("/login", data={"username": "alice", "password": "wrong"}).status_code == 400
    refused = client.post("/login", data={"username": "alice", "password": "right"})
    assert refused.status_code == 429 and 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.json() == {
        "detail": f"slow down: too many failed logins from this address in the last minute "
        f"(try again in {refused.headers['retry-after']} s)"
    }


def test_x_forwarded_for_is_believed_only_from_the_trusted_proxies(settings):
    assert proxy_settings(settings) == {"proxy_headers": False}  # uvicorn's default believed 127.0.0.1
    trusted = dataclasses.replace(settings, trusted_proxies=("127.0.0.1", "10.0.0.0/8"))
    assert proxy_settings(trusted) == {"proxy_headers": True, "forwarded_allow_ips": "127.0.0.1,10.0.0.0/8"}


def test_refusals_become_the_rate_limited_series(settings):
    metrics = Metrics(Services(settings))
    try:
        limiter = RateLimiter({VOTES: Rate(1, 0)})
        limiter.take(VOTES, "s", "10.0.0.1")
        for _ in range(2):
            with pytest.raises(Exception, match="slow down"):
                limiter.take(VOTES, "s", "10.0.0.1")
        telemetry.emit("rate_limited", kind="runs", scope="address")
        found = samples(metrics)
    finally:
        metrics.close()
    assert found[("studio_rate_limited_total", (("kind", "votes"), ("scope", "session")))] == 2
    assert found[("studio_rate_limited_total", (("kind", "runs"), ("scope", "address")))] == 1


def test_gradio_is_mounted_with_a_login_that_checks_the_hashes_off_the_event_loop(settings):
    from studio.ui.app import LOGIN_MESSAGE, mount_settings

    assert mount_settings(settings)["auth"] is None  # no STUDIO_AUTH: no login
    with_logins = dataclasses.replace(settings, accounts=Accounts.parse("alice:right"))
    mounted = mount_settings(with_logins)
    check = mounted["auth"]
    assert asyncio.iscoroutinefunction(check) and mounted["auth_message"] == LOGIN_MESSAGE
    assert asyncio.run(check("alice", "right")) is True
    assert asyncio.run(check("alice", "wrong")) is False and asyncio.run(check("mallory", "right")) is False
