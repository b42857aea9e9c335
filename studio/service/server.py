"""Running the app: uvicorn on the settings' address, logging through studio/service/logs.py."""

from __future__ import annotations

import logging
from typing import Any

from studio.core.config import Settings

GRACE_S = 5  # seconds in-flight requests get to finish once the server is asked to stop


def serve(app: Any, settings: Settings) -> None:
    """Serve `app` until interrupted (Ctrl-C or SIGTERM stop it cleanly, running Gradio's shutdown cleaning)."""
    import uvicorn

    host = settings.server_name
    shown = "127.0.0.1" if host == "0.0.0.0" else host
    logger = logging.getLogger("studio.server")
    logger.info("* Running on local URL:  http://%s:%s", shown, settings.server_port)
    if settings.login_users:  # who may log in, never how
        logger.info("* Login required (STUDIO_AUTH): %d user(s)", len(settings.login_users))
    uvicorn.run(
        app,
        host=host,
        port=settings.server_port,
        log_config=None,  # our handlers (studio/service/logs.py), not uvicorn's own
        log_level="warning",
        access_log=False,  # RequestContext writes the access lines (JSON form only)
        server_header=False,
        timeout_graceful_shutdown=GRACE_S,  # an open page's event stream would otherwise hold shutdown forever
        **proxy_settings(settings),
    )


def proxy_settings(settings: Settings) -> dict[str, Any]:
    """uvicorn's X-Forwarded-For handling: the client address comes from that header only when the connection
    comes from one of STUDIO_TRUSTED_PROXIES (uvicorn's own default believes any sender on 127.0.0.1, so a local
    caller could pick the address its rate limits are counted under)."""
    if not settings.trusted_proxies:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": ",".join(settings.trusted_proxies)}
