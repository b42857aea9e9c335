"""The service's FastAPI app on its own (no Gradio mounted): request ids, body checks, CORS, service
endpoints, housekeeping and the JSON log form. tests/service/test_server.py checks the real server."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import sys
import threading
from typing import Annotated

import pytest
from fastapi import Body, Request
from fastapi.testclient import TestClient

from studio.service.health import Readiness
from studio.service.http import build_app, gradio_app_kwargs
from studio.service.logs import REQUEST_ID, JsonFormatter
from studio.service.metrics import Metrics
from studio.services import Services


@pytest.fixture
def services(settings) -> Services:
    return Services(settings)


def with_stand_ins(app):
    """Stand-ins for Gradio's JSON and upload routes, answering what reached them."""

    @app.post("/gradio_api/queue/join")
    @app.post("/gradio_api/cancel")
    async def reached(body: Annotated[dict | None, Body()] = None) -> dict:
        return {"reached": True, "body": body}

    @app.post("/gradio_api/upload")
    async def upload(request: Request) -> dict:
        return {"reached": True, "bytes": len(await request.body())}

    return app


def test_each_response_carries_a_request_id_and_a_sane_given_one_is_kept(services):
    client = TestClient(build_app(services))
    first, second = client.get("/healthz"), client.get("/healthz")
    assert first.json() == {"status": "ok"}
    assert len(first.headers["x-request-id"]) == 32 and first.headers["x-request-id"] != second.headers["x-request-id"]
    assert client.get("/healthz", headers={"X-Request-ID": "lb-7f3a.42"}).headers["x-request-id"] == "lb-7f3a.42"
    hostile = client.get("/healthz", headers={"X-Request-ID": 'x"\n{"level": "error"}'}).headers["x-request-id"]
    assert len(hostile) == 32 and hostile.isalnum()  # replaced: it would forge log records


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        (
            "multipart/form-data; boundary=x",
            b"--x\r\nContent-Disposition: form-data; name=a\r\n\r\n\xff\xfe\r\n--x--\r\n",
        ),
        ("application/x-www-form-urlencoded", b"a=1"),
        ("text/plain", b'{"data": []}'),
        ("application/octet-stream", bytes(range(256))),
        (None, b"\xff" * 1000),
    ],
)
def test_a_body_that_is_not_json_is_refused_before_it_is_read(services, content_type, body):
    client = TestClient(with_stand_ins(build_app(services)))
    headers = {"content-type": content_type} if content_type else {}
    response = client.post("/gradio_api/queue/join", content=body, headers=headers)
    assert response.status_code == 415
    assert response.json() == {"detail": "this endpoint takes a JSON body (Content-Type: application/json)"}


def test_json_uploads_and_empty_posts_pass(services):
    client = TestClient(with_stand_ins(build_app(services)))
    assert client.post("/gradio_api/queue/join", json={"data": []}).json() == {"reached": True, "body": {"data": []}}
    assert client.post("/gradio_api/upload", files={"files": ("a.png", b"\x89PNG")}).json()["reached"]
    assert client.post("/gradio_api/cancel").json() == {"reached": True, "body": None}


def test_validation_errors_do_not_echo_the_body(services):
    app = build_app(services)

    @app.post("/typed")
    async def typed(data: Annotated[list[int], Body(embed=True)]) -> dict:
        return {"n": len(data)}

    app.exception_handlers.update(gradio_app_kwargs()["exception_handlers"])
    secret = "s3cr3t-" + "x" * 5000
    response = TestClient(app).post("/typed", json={"data": secret})
    assert response.status_code == 422
    assert secret not in response.text and len(response.text) < 500
    assert response.json()["detail"][0]["loc"] == ["body", "data"]


def test_cors_allows_only_the_configured_origins_and_never_credentials(settings):
    configured = Services(dataclasses.replace(settings, cors_origins=("https://studio.example.org",)))
    client = TestClient(build_app(configured))
    foreign = client.get("/healthz", headers={"Origin": "http://localhost:9999"})
    assert "access-control-allow-origin" not in foreign.headers
    assert "access-control-allow-credentials" not in foreign.headers
    preflight = client.options(
        "/healthz", headers={"Origin": "http://localhost:9999", "Access-Control-Request-Method": "POST"}
    )
    assert preflight.status_code == 400 and "access-control-allow-origin" not in preflight.headers
    listed = client.get("/healthz", headers={"Origin": "https://studio.example.org"})
    assert listed.headers["access-control-allow-origin"] == "https://studio.example.org"
    assert "access-control-allow-credentials" not in listed.headers


def test_readyz_answers_503_with_the_reason(services):
    def failing(_services):
        result = Readiness()
        result.record("database", False, "not writable: OperationalError: disk I/O error")
        return result

    response = TestClient(build_app(services, check=failing)).get("/readyz")
    assert response.status_code == 503
    assert response.json()["reason"] == "database: not writable: OperationalError: disk I/O error"


def test_metrics_and_monitoring_routes(services):
    metrics = Metrics(services)
    try:
        client = TestClient(build_app(services, metrics))
        client.get("/healthz")
        text = client.get("/metrics").text
        assert 'studio_http_requests_total{code="200",method="GET",route="/healthz"} 1.0' in text
        for path in ("/monitoring", "/monitoring/abc123", "/monitoring/abc/dashboard"):
            assert client.get(path).status_code == 404
    finally:
        metrics.close()
    assert TestClient(build_app(services)).get("/metrics").status_code == 404  # no Metrics: nothing to show


def test_housekeeping_jobs_run_while_the_server_runs(services):
    ran = threading.Event()
    with TestClient(build_app(services, housekeeping=[ran.set], every_s=0.01)):
        assert ran.wait(timeout=30)


def test_json_records_are_one_line_with_the_request_id_and_traceback():
    formatter = JsonFormatter()
    try:
        raise ValueError("a bug\non two lines")
    except ValueError:
        record = logging.LogRecord("studio.ui", logging.ERROR, __file__, 1, "fault %s", ("abc",), sys.exc_info())
    record.error_id = "abc"
    token = REQUEST_ID.set("req-1")
    try:
        line = formatter.format(record)
    finally:
        REQUEST_ID.reset(token)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "fault abc" and entry["level"] == "error" and entry["request_id"] == "req-1"
    assert entry["error_id"] == "abc" and entry["traceback"].endswith("ValueError: a bug\non two lines")


def test_a_request_cut_off_at_shutdown_is_one_line():
    from studio.service.logs import CutOffAtShutdown

    try:
        raise asyncio.CancelledError("Task cancelled, timeout graceful shutdown exceeded")
    except asyncio.CancelledError:
        record = logging.LogRecord(
            "uvicorn.error", logging.ERROR, __file__, 1, "Exception in ASGI application", (), sys.exc_info()
        )
    assert CutOffAtShutdown().filter(record)
    assert logging.Formatter("%(message)s").format(record) == "a request was cut off at shutdown"
