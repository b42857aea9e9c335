"""Running the app: uvicorn on the settings' address, logging through studio/service/logs.py."""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
from collections.abc import Callable
from typing import Any

from studio.core.config import Settings
from studio.service.loops import AppLoop, FrontDoor

GRACE_S = 5  # seconds in-flight requests get to finish once the server is asked to stop
# How long a thread may hold the GIL while another waits for it (Python's default: 5 ms). /healthz is answered
# on its own loop (service/loops.py) and waits only for the GIL: under the load test its p95 went from 31.6
# to 20.8 ms at 1 ms, with the same throughput of comparisons.
SWITCH_INTERVAL_S = 0.001


def serve(app: Any, settings: Settings, app_loop: AppLoop) -> None:
    """Serve `app` until interrupted (Ctrl-C or SIGTERM stop it cleanly, running Gradio's shutdown cleaning):
    on `app_loop`, but for /healthz, which uvicorn's own loop answers (service/loops.py)."""
    import uvicorn

    host = settings.server_name
    shown = "127.0.0.1" if host == "0.0.0.0" else host
    logger = logging.getLogger("studio.server")
    settle_interpreter()
    logger.info("* Running on local URL:  http://%s:%s", shown, settings.server_port)
    if settings.login_users:  # who may log in, never how
        logger.info("* Login required (STUDIO_AUTH): %d user(s)", len(settings.login_users))
    uvicorn.run(
        FrontDoor(app, app_loop),
        host=host,
        port=settings.server_port,
        log_config=None,  # our handlers (studio/service/logs.py), not uvicorn's own
        log_level="warning",
        access_log=False,  # RequestContext writes the access lines (JSON form only)
        server_header=False,
        timeout_graceful_shutdown=GRACE_S,  # an open page's event stream would otherwise hold shutdown forever
        **proxy_settings(settings),
    )


def settle_interpreter() -> None:
    """Once the app is built, before serving: leave its objects out of the garbage collector's full passes,
    and hand the GIL over sooner.

    Every full collection walked all of torch's, Gradio's and the app's objects with every thread stopped:
    200-350 ms pauses under the load test, its slowest /healthz answers. After gc.freeze() they took 60-130 ms
    (objects made later are collected as ever; the frozen ones live as long as the process anyway).
    """
    gc.collect()
    gc.freeze()
    sys.setswitchinterval(SWITCH_INTERVAL_S)


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop]:
    """The kind of event loop uvicorn runs (uvloop when installed), for the app's own loop too."""
    import uvicorn

    return uvicorn.Config(app=None).get_loop_factory() or asyncio.new_event_loop


def proxy_settings(settings: Settings) -> dict[str, Any]:
    """uvicorn's X-Forwarded-For handling: the client address comes from that header only when the connection
    comes from one of STUDIO_TRUSTED_PROXIES (uvicorn's own default believes any sender on 127.0.0.1, so a local
    caller could pick the address its rate limits are counted under)."""
    if not settings.trusted_proxies:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": ",".join(settings.trusted_proxies)}
