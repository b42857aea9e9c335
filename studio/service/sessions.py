"""A client's event stream for a Gradio session this server does not know: one log line, a clean end.

Gradio keeps each session's queue in the memory of the server that served it. A client whose server was
restarted, or whose replica died behind a load balancer (deploy/nginx.conf sends it to another one), asks
the new server for its events (GET /gradio_api/queue/data); Gradio answers with its "session not found"
message, then raises inside the already started stream, and uvicorn logged "Exception in ASGI application"
with some 60 lines of traceback and cut the connection. The client's doing (or a lost replica's), not a
fault here: one warning, and the stream ends as a finished response.
"""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

EVENT_STREAM = "/gradio_api/queue/data"
logger = logging.getLogger("studio.service")


def unknown_session(scope: Scope, exc: BaseException) -> bool:
    """Whether `exc` is Gradio refusing an event stream for a session it does not hold (a 404 raised after the
    response started, which starlette wraps in a RuntimeError)."""
    cause = exc if isinstance(exc, HTTPException) else exc.__cause__
    return scope["path"] == EVENT_STREAM and isinstance(cause, HTTPException) and cause.status_code == 404


class StaleSessions:
    """Turns an event stream for an unknown session into one warning and a finished response."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != EVENT_STREAM:
            await self.app(scope, receive, send)
            return
        started = finished = False

        async def watch(message: Message) -> None:
            nonlocal started, finished
            started = started or message["type"] == "http.response.start"
            finished = finished or (message["type"] == "http.response.body" and not message.get("more_body", False))
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:
            if not (started and unknown_session(scope, exc)):
                raise
            logger.warning(
                "stale session: %s asked for the events of a session this server does not hold (it restarted, "
                "or another replica served the session)",
                EVENT_STREAM,
                extra={"event": "stale_session"},
            )
            if not finished:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
