"""The FastAPI app the Gradio app is mounted on: service endpoints, request ids, CORS, body checks, rate limits.

Layers, outermost first: RequestContext (X-Request-ID, counts per route, the access log), CORS (only
the origins in STUDIO_CORS_ORIGINS, never with credentials; its presence also turns Gradio's own
permissive CORS off), JsonBodiesOnly (a body sent to a JSON endpoint must be JSON), RateLimitedPosts (429
with Retry-After for an address over its limit), StaleSessions (an event stream for a session this server
does not hold: one line), then the routes: /healthz, /readyz, /metrics (never
behind STUDIO_AUTH's login: probes and scrapers have none), and the Gradio app at "/".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import ClientDisconnect, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from studio.core.errors import RateLimitedError
from studio.core.ratelimit import LOGINS, RateLimiter
from studio.service.health import Readiness, readiness
from studio.service.logs import ACCESS_LOGGER, REQUEST_ID
from studio.service.loops import STALL_S, AppLoop
from studio.service.metrics import Metrics
from studio.service.sessions import StaleSessions
from studio.services import Services

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
# Gradio's routes that take a form or multipart body; every other POST under /gradio_api/ reads JSON.
FORM_ROUTES = ("/gradio_api/upload", "/gradio_api/process_recording")
WRITE_METHODS = ("POST", "PUT", "PATCH")
# Gradio's routes that name the event in the path (the page and gradio_client name it in queue/join's body).
NAMED_EVENT = re.compile(r"/gradio_api/(?:call/v2|call|run|api)/([^/]+)/?")
LOGIN_PATHS = ("/login", "/login/")  # Gradio's login form posts here; a wrong password is answered 400
HOUSEKEEPING_EVERY_S = 1800  # like Gradio's delete_cache in ui/app.py: every 30 minutes
CLIENT_CLOSED = 499  # the status counted and logged for a request its client dropped (nginx's word for it)
access_log = logging.getLogger(ACCESS_LOGGER)
logger = logging.getLogger("studio.service")


def request_id(headers: Headers) -> str:
    """The caller's X-Request-ID when it is a short plain token (so it is safe in logs), else a new one."""
    given = headers.get(REQUEST_ID_HEADER, "")
    return given if _SANE_ID.fullmatch(given) else uuid.uuid4().hex


def route_label(scope: Scope) -> str:
    """The matched route's template (/gradio_api/file={path_or_url:path}): bounded, unlike raw paths."""
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) and path else "unmatched"


class RequestContext:
    """Gives each HTTP request an id (in the X-Request-ID response header and in every log record made
    while it is served), counts it by route, method and status, and writes its access line.

    A client that goes away while its body is read (an upload dropped half-way) is the client's doing, not a
    fault: one log line and status 499, where uvicorn logged "Exception in ASGI application" and a traceback
    of some 100 lines through every layer of the stack.
    """

    def __init__(self, app: ASGIApp, metrics: Metrics | None = None):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id(Headers(scope=scope))
        token = REQUEST_ID.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = rid
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except ClientDisconnect:
            status = CLIENT_CLOSED
            logger.warning(
                "client went away: %s %s was cut off before its request body arrived",
                scope["method"],
                scope["path"],
                extra={"event": "client_disconnect"},
            )
        finally:
            route = route_label(scope)
            if self.metrics is not None:
                self.metrics.http_request(route, scope["method"], status)
            client = scope.get("client")
            access_log.info(
                "%s %s %s",
                scope["method"],
                scope["path"],
                status,
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "route": route,
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    "client": client[0] if client else None,
                },
            )
            REQUEST_ID.reset(token)


class JsonBodiesOnly:
    """Refuses (415, one line) a body that is not JSON sent to a Gradio JSON endpoint, before reading it.

    Gradio parses such a body as bytes, fails validation and echoes the whole body back (422); when the
    bytes are not UTF-8 it fails again while encoding that answer (500) and logs the body's repr, about
    three times its size: 60 MB uploads grew the log by 542 MB. Requiring JSON also makes a cross-site
    POST a CORS preflight that the CORS layer refuses.
    """

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self._refused(scope):
            body = {"detail": "this endpoint takes a JSON body (Content-Type: application/json)"}
            await JSONResponse(body, status_code=415)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    @staticmethod
    def _refused(scope: Scope) -> bool:
        path = scope["path"].rstrip("/")
        if scope["method"] not in WRITE_METHODS or not path.startswith("/gradio_api/") or path in FORM_ROUTES:
            return False
        headers = Headers(scope=scope)
        has_body = headers.get("content-length", "0").strip() not in ("", "0") or "transfer-encoding" in headers
        media_type = headers.get("content-type", "").split(";")[0].strip().lower()
        return has_body and media_type != "application/json"


class RateLimitedPosts:
    """429 with Retry-After, before Gradio queues or hashes anything, for a client address at its limit: a POST
    naming a limited event in its path (/gradio_api/call/compare), and a login after too many failed ones.

    This layer only looks at the counts for events: the event itself counts its run or vote (ui/limits.py), so
    nothing is counted twice. The page and gradio_client join Gradio's queue, whose answer comes before the
    event runs; for them the refusal is the event's one-line error, which names the wait in seconds.
    """

    def __init__(self, app: ASGIApp, limiter: RateLimiter, events: Mapping[str, str]):
        self.app = app
        self.limiter = limiter
        self.events = dict(events)  # api_name -> kind of limit (runs, votes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        address = client[0] if client else None
        kind = self.kind_of(scope["path"])
        if kind is None:
            await self.app(scope, receive, send)
            return
        try:
            self.limiter.check_address(kind, address)
        except RateLimitedError as exc:
            headers = {"Retry-After": str(exc.retry_after_s)}
            await JSONResponse({"detail": str(exc)}, status_code=429, headers=headers)(scope, receive, send)
            return
        if kind != LOGINS:
            await self.app(scope, receive, send)
            return

        async def count_failures(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 400:  # wrong user or password
                self.limiter.count_address(LOGINS, address)
            await send(message)

        await self.app(scope, receive, count_failures)

    def kind_of(self, path: str) -> str | None:
        """The limit a POST to `path` is under (logins, or the event's kind), or None."""
        if path in LOGIN_PATHS:
            return LOGINS
        named = NAMED_EVENT.fullmatch(path)
        return self.events.get(named.group(1)) if named else None


async def short_validation_error(_request: Request, exc: Exception) -> Response:
    """FastAPI's 422 without the `input` it echoes (a whole request body, possibly megabytes)."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    detail = [
        {"loc": list(error.get("loc", ())), "msg": error.get("msg", ""), "type": error.get("type", "")}
        for error in errors[:10]
    ]
    return JSONResponse({"detail": detail}, status_code=422)


def gradio_app_kwargs() -> dict[str, Any]:
    """Keyword arguments for the FastAPI app Gradio builds for itself (mount_gradio_app's app_kwargs)."""
    return {"exception_handlers": {RequestValidationError: short_validation_error}}


async def run_every(seconds: float, jobs: Sequence[Callable[[], None]]) -> None:
    """Run each job in a worker thread every `seconds`, for as long as the server runs; a failing job is logged."""
    while True:
        await asyncio.sleep(seconds)
        for job in jobs:
            try:
                await asyncio.to_thread(job)
            except Exception:
                logger.exception("housekeeping job %s failed", getattr(job, "__name__", job))


def build_app(
    services: Services,
    metrics: Metrics | None = None,
    check: Callable[[Services], Readiness] = readiness,
    housekeeping: Sequence[Callable[[], None]] = (),
    every_s: float = HOUSEKEEPING_EVERY_S,
    limited_events: Mapping[str, str] | None = None,
    at_exit: Sequence[Callable[[], None]] = (),
    app_loop: AppLoop | None = None,
) -> FastAPI:
    """The server's FastAPI app with /healthz, /readyz, /metrics and its middleware; Gradio is mounted on it later.

    `housekeeping` jobs (cleaning our temp folders) run every `every_s` seconds while the server runs, and
    `at_exit` jobs when it stops cleanly, after Gradio's own cleaning (uvicorn ends the process right after a
    SIGTERM shutdown, so code after `serve` never runs).
    `limited_events` (api_name -> runs or votes, from the UI) are answered 429 over their address's limit.
    `app_loop` is the loop the app runs on when /healthz is answered on another (service/loops.py): /healthz
    then says 503 once it has stalled for STALL_S.
    """

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(run_every(every_s, housekeeping)) if housekeeping else None
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
            if metrics is not None:
                metrics.close()
            for job in at_exit:
                job()

    app = FastAPI(title="Enhance Studio", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        """Liveness, touching nothing else: ok while the app's loop keeps turning."""
        stalled = app_loop.stalled_s() if app_loop is not None else 0.0
        if stalled > STALL_S:
            return JSONResponse({"status": "stalled", "app_loop_stalled_s": round(stalled, 1)}, status_code=503)
        return JSONResponse({"status": "ok"})

    @app.get("/readyz", include_in_schema=False)
    def readyz() -> JSONResponse:  # a plain def: FastAPI runs it in a worker thread (it touches disk and database)
        result = check(services)
        return JSONResponse(result.as_json(), status_code=200 if result.ready else 503)

    @app.get("/monitoring", include_in_schema=False)
    @app.get("/monitoring/{rest:path}", include_in_schema=False)
    async def no_monitoring(rest: str = "") -> JSONResponse:
        """Gradio's traffic dashboard is off (ui/app.py): its routes answer 404 here, before they reach Gradio."""
        return JSONResponse({"detail": "Not Found"}, status_code=404)

    @app.get("/metrics", include_in_schema=False)
    def prometheus_metrics() -> Response:
        if metrics is None:
            return Response("metrics are off\n", status_code=404, media_type="text/plain")
        body, content_type = metrics.render()
        return Response(body, media_type=content_type)

    app.add_middleware(StaleSessions)  # the innermost: its one line carries the request id
    app.add_middleware(RateLimitedPosts, limiter=services.limits, events=limited_events or {})
    app.add_middleware(JsonBodiesOnly)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(services.settings.cors_origins),
        allow_credentials=False,
        allow_methods=["GET", "POST"],
        allow_headers=["Content-Type", REQUEST_ID_HEADER],
        expose_headers=[REQUEST_ID_HEADER],
    )
    app.add_middleware(RequestContext, metrics=metrics)  # added last: the outermost layer
    return app
