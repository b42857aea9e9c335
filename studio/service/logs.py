"""The server's log: plain lines (the default) or one JSON object per line (STUDIO_LOG_FORMAT=json).

Plain keeps the log as people read it: a user's mistake is one `user error: ...` line, a fault is one
`fault <error id> ...` line followed by its traceback, and requests are not logged. JSON is for log
collectors: every record is one object on one line (a traceback becomes its `traceback` field), each
HTTP request is logged once when it ends (`studio.access`), and a record made while a request is served
carries that request's `request_id` (the X-Request-ID the response also carries).
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from contextvars import ContextVar

REQUEST_ID: ContextVar[str | None] = ContextVar("studio_request_id", default=None)
ACCESS_LOGGER = "studio.access"
# Attributes a record may carry through `extra=` that the JSON form writes as fields of their own.
FIELDS = ("event", "error_id", "endpoint", "method", "path", "route", "status", "duration_ms", "client")


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, message, request_id and FIELDS."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"
        entry: dict[str, object] = {
            "time": stamp,
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or REQUEST_ID.get()
        if request_id:
            entry["request_id"] = request_id
        for name in FIELDS:
            if (value := getattr(record, name, None)) is not None:
                entry[name] = value
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class CutOffAtShutdown(logging.Filter):
    """uvicorn logs each request it cancels when the shutdown grace ends (an open page's event stream) as an
    ASGI exception with a traceback; that is expected, not a fault, so it becomes one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], asyncio.CancelledError):
            record.msg, record.args = "a request was cut off at shutdown", ()
            record.exc_info = record.exc_text = None
        return True


def configure_logging(log_format: str) -> None:
    """Send every record (ours, uvicorn's, warnings from libraries) to stderr in `log_format` ("plain"/"json").

    Our loggers ("studio.*") log from INFO; libraries only from WARNING, as before. Access lines are on in
    JSON only, where a collector can filter them; in plain form the log stays readable.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter("%(message)s"))
    handler.addFilter(CutOffAtShutdown())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger("studio").setLevel(logging.INFO)
    logging.getLogger(ACCESS_LOGGER).setLevel(logging.INFO if log_format == "json" else logging.WARNING)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers[:] = []
        uvicorn_logger.propagate = True
    logging.captureWarnings(True)
