"""Two event loops: uvicorn's, which reads and writes the sockets and answers /healthz, and the app's own, in
a thread, which runs everything else (Gradio's routes and queue, and our middleware around them).

Why: Gradio runs tens of milliseconds of Python at a time on its loop (measured on this 2-core machine: a
new session's state 28 ms, the serialisation of a /config answer 55 ms, the file checks of an event's
outputs), and with one loop a liveness probe waited behind all of it: /healthz p95 was 104 ms under the
load test. On a loop of its own the probe waits only for the GIL, which a busy thread hands over every 5 ms.

Every ASGI message of a request served on the app loop crosses to uvicorn's loop and back
(`asyncio.run_coroutine_threadsafe`); a cancelled request is cancelled on both loops.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

TICK_S = 1.0  # how often the app loop proves it turns
STALL_S = 30.0  # /healthz answers 503 once the app loop has not turned for this long (service/http.py)
FRONT_PATHS = frozenset({"/healthz"})


class AppLoop:
    """The app's event loop, run in a daemon thread, with a heartbeat for liveness."""

    def __init__(self, loop_factory: Callable[[], asyncio.AbstractEventLoop] = asyncio.new_event_loop) -> None:
        self.loop = loop_factory()
        self._beat = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="studio-app-loop", daemon=True)

    def start(self) -> AppLoop:
        self._thread.start()
        return self

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.create_task(self._heartbeat())
        self.loop.run_forever()

    async def _heartbeat(self) -> None:
        while True:
            self._beat = time.monotonic()
            await asyncio.sleep(TICK_S)

    def stalled_s(self) -> float:
        """Seconds the loop is late on its heartbeat: 0 while it keeps turning, growing while one piece of work
        holds it."""
        return max(0.0, time.monotonic() - self._beat - TICK_S)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)


def _on_loop(call: Callable[..., Awaitable[Any]], loop: asyncio.AbstractEventLoop) -> Callable[..., Awaitable[Any]]:
    """`call`, run on `loop` whichever loop awaits it."""

    async def hop(*args: Any) -> Any:
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(call(*args), loop))

    return hop


class FrontDoor:
    """The ASGI app uvicorn serves: requests for `front_paths` are served on uvicorn's loop, every other
    request (and the lifespan, so Gradio's queue starts there) on `app_loop`. `app` is the same app either
    way: /healthz passes through the same middleware (request id, access line, metrics)."""

    def __init__(self, app: ASGIApp, app_loop: AppLoop, front_paths: frozenset[str] = FRONT_PATHS):
        self.app = app
        self.app_loop = app_loop
        self.front_paths = front_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in self.front_paths:
            await self.app(scope, receive, send)
            return
        front = asyncio.get_running_loop()
        served = asyncio.run_coroutine_threadsafe(
            self.app(scope, _on_loop(receive, front), _on_loop(send, front)), self.app_loop.loop
        )
        try:
            await asyncio.wrap_future(served)
        except asyncio.CancelledError:  # uvicorn gave up on the request (shutdown): stop it on the app loop too
            served.cancel()
            raise
