"""Two event loops (service/loops.py): /healthz answered on uvicorn's loop, everything else on the app's loop,
so a liveness probe does not wait behind Gradio's work (issue #13: /healthz p95 under 50 ms under load)."""

from __future__ import annotations

import asyncio
import gc
import socket
import sys
import threading
import time

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from studio.service import http
from studio.service.http import build_app
from studio.service.loops import AppLoop, FrontDoor
from studio.service.server import SWITCH_INTERVAL_S, loop_factory, settle_interpreter
from studio.services import Services


@pytest.fixture
def app_loop():
    loop = AppLoop().start()
    yield loop
    loop.stop()


def recording_app(seen: dict[str, str]) -> FastAPI:
    """Routes that note the thread that served them; /block holds its loop for 2 s as Gradio's longest
    stretches of Python do for tens of milliseconds."""
    app = FastAPI()

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        seen["/healthz"] = threading.current_thread().name
        return {"status": "ok"}

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, object]:
        seen["/echo"] = threading.current_thread().name
        return {"bytes": len(await request.body())}

    @app.get("/fails")
    async def fails() -> None:
        raise RuntimeError("a fault on the app loop")

    @app.get("/block")
    async def block() -> dict[str, str]:
        time.sleep(2.0)  # holds the loop it runs on, as a long synchronous step does
        return {"status": "done"}

    return app


@pytest.fixture
def served(app_loop):
    """A real uvicorn server (its own loop in a thread) serving FrontDoor(recording_app)."""
    seen: dict[str, str] = {}
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(FrontDoor(recording_app(seen), app_loop), port=port, log_config=None, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-front", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}", seen
    server.should_exit = True
    thread.join(10)


def test_healthz_is_served_on_the_front_loop_and_the_rest_on_the_app_loop(served):
    url, seen = served
    assert httpx.get(url + "/healthz").json() == {"status": "ok"}
    body = b"x" * 3_000_000  # many receive() calls, each crossing the loops
    assert httpx.post(url + "/echo", content=body).json() == {"bytes": len(body)}
    assert seen == {"/healthz": "uvicorn-front", "/echo": "studio-app-loop"}


def test_a_fault_on_the_app_loop_is_a_500_and_the_server_keeps_serving(served):
    url, _ = served
    assert httpx.get(url + "/fails").status_code == 500
    assert httpx.get(url + "/healthz").status_code == 200


def test_healthz_answers_while_the_app_loop_is_held(served):
    url, _ = served
    blocked = threading.Thread(target=lambda: httpx.get(url + "/block", timeout=10))
    blocked.start()
    time.sleep(0.3)  # /block now holds the app loop for 2 s
    started = time.monotonic()
    assert httpx.get(url + "/healthz", timeout=5).status_code == 200
    waited = time.monotonic() - started
    blocked.join()
    assert waited < 1.0  # on one loop it would have waited for /block's 2 s to pass


def test_a_request_cancelled_on_the_front_loop_is_cancelled_on_the_app_loop(app_loop):
    cancelled = threading.Event()

    async def endless(scope, receive, send) -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async def front() -> None:
        scope = {"type": "http", "path": "/slow", "method": "GET", "headers": []}
        task = asyncio.create_task(FrontDoor(endless, app_loop)(scope, None, None))
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(front())
    assert cancelled.wait(5)


def test_the_lifespan_runs_on_the_app_loop(app_loop):
    """Gradio's queue starts in the lifespan: its tasks must live on the loop its routes run on."""
    where: list[str] = []

    async def app(scope, receive, send) -> None:
        where.append(threading.current_thread().name)
        assert (await receive())["type"] == "lifespan.startup"
        await send({"type": "lifespan.startup.complete"})

    async def front() -> list[dict]:
        sent: list[dict] = []

        async def receive() -> dict:
            return {"type": "lifespan.startup"}

        async def send(message: dict) -> None:
            sent.append(message)

        await FrontDoor(app, app_loop)({"type": "lifespan"}, receive, send)
        return sent

    assert asyncio.run(front()) == [{"type": "lifespan.startup.complete"}]
    assert where == ["studio-app-loop"]


def test_healthz_says_stalled_once_the_app_loop_has_not_turned_for_long(settings, app_loop, monkeypatch):
    monkeypatch.setattr(http, "STALL_S", 0.5)
    client = TestClient(build_app(Services(settings), app_loop=app_loop))
    assert client.get("/healthz").json() == {"status": "ok"}
    app_loop.loop.call_soon_threadsafe(time.sleep, 3.0)  # one piece of work holds the app loop
    time.sleep(2.0)  # its heartbeat (every second) is now over 0.5 s late
    answer = client.get("/healthz")
    assert answer.status_code == 503
    assert answer.json()["status"] == "stalled" and answer.json()["app_loop_stalled_s"] > 0.5


def test_the_app_loop_is_the_kind_uvicorn_runs():
    """uvloop and httptools are pinned (requirements.txt): uvicorn picks them, and the app loop is a uvloop."""
    loop = loop_factory()()
    try:
        assert type(loop).__module__.startswith("uvloop")
    finally:
        loop.close()


def test_serving_freezes_the_startup_objects_and_hands_the_gil_over_sooner():
    before = sys.getswitchinterval()
    try:
        settle_interpreter()
        assert gc.get_freeze_count() > 10_000  # the objects made before serving: out of the full collections
        assert sys.getswitchinterval() == SWITCH_INTERVAL_S == 0.001
    finally:
        gc.unfreeze()
        sys.setswitchinterval(before)
