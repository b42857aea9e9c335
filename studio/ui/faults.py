"""How errors reach the server log and the user.

A user error (gr.Error, or one of our own StudioError one-line messages) is one line in the log,
`user error: ...`, and the same line on the page. Anything else is a fault (a bug, a lost disk): the
log keeps its traceback under a short error id, and the user sees one line with that id and nothing
of the exception itself. Every event function is wrapped once (`guard_events`), which also reports
each call's outcome per endpoint (studio.core.telemetry "event"), and Gradio's own code (its queue and
routes) prints through UserErrorsInOneLine instead of the traceback module.
"""

from __future__ import annotations

import functools
import inspect
import logging
import sys
import traceback
import uuid
from collections.abc import Callable
from typing import Any

import gradio as gr
from gradio.exceptions import InvalidPathError

from studio.core import telemetry
from studio.core.errors import ServerFaultError, StudioError

logger = logging.getLogger("studio.ui")
GUARDED = "__studio_guarded__"


def one_line(text: object) -> str:
    return " ".join(str(text).split())


def log_fault(error: BaseException, endpoint: str | None = None) -> str:
    """Log `error` with its traceback under a new error id (returned); the id is what the user is shown."""
    error_id = uuid.uuid4().hex[:12]
    where = f" in /{endpoint}" if endpoint else ""
    logger.error(
        "fault %s%s: %s",
        error_id,
        where,
        one_line(f"{type(error).__name__}: {error}")[:500],
        exc_info=(type(error), error, error.__traceback__),
        extra={"event": "fault", "error_id": error_id, "endpoint": endpoint},
    )
    return error_id


def fault_message(error_id: str) -> str:
    return f"Something went wrong on the server (error id {error_id}). Try again; if it persists, report this id."


class UserErrorsInOneLine:
    """Stands in for the `traceback` module inside Gradio's queue and routes: a user error (gr.Error, or a file
    path Gradio refused) is logged as one line, any other exception as a fault with its traceback and an error id.

    Gradio prints the traceback of every gr.Error unless each is raised with print_exception=False, which
    would also hide it from the log entirely; this keeps the log readable without touching each handler.
    """

    def __getattr__(self, name: str) -> Any:
        return getattr(traceback, name)

    def print_exc(self, *args: Any, **kwargs: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, gr.Error):
            logger.warning("user error: %s", one_line(error.message), extra={"event": "user_error"})
        elif isinstance(error, InvalidPathError):  # a request named a file it may not use: refused, not a bug
            logger.warning("user error: %s", one_line(error)[:500], extra={"event": "user_error"})
        elif error is not None:
            log_fault(error)  # Gradio's own code failed (preprocessing, a route): the user sees Gradio's "Error"
        else:
            traceback.print_exc(*args, **kwargs)


def log_user_errors_in_one_line() -> None:
    """Install UserErrorsInOneLine where Gradio prints event errors (its queue, and its routes without queue)."""
    from gradio import queueing, routes

    for module in (queueing, routes):
        if not isinstance(module.traceback, UserErrorsInOneLine):
            module.traceback = UserErrorsInOneLine()


def _settle(endpoint: str, error: Exception) -> tuple[str, BaseException]:
    """(outcome, what to raise instead of `error`): a user error as one line, a fault as its id."""
    if isinstance(error, gr.Error):
        return "user_error", error
    if isinstance(error, StudioError) and not isinstance(error, ServerFaultError):
        return "user_error", gr.Error(one_line(error) or type(error).__name__)
    return "fault", gr.Error(fault_message(log_fault(error, endpoint)), print_exception=False)


def guarded(fn: Callable[..., Any], endpoint: str) -> Callable[..., Any]:
    """`fn` (plain, async, generator or async generator) with its errors settled and its outcome reported.

    functools.wraps keeps the signature Gradio reads (gr.Request, gr.Progress and type hints).
    """

    def raise_settled(error: Exception, outcome: list[str]) -> None:
        outcome[0], replacement = _settle(endpoint, error)
        if replacement is error:
            raise error
        raise replacement from None

    def report(outcome: list[str]) -> None:
        telemetry.emit("event", endpoint=endpoint, outcome=outcome[0])

    if inspect.isasyncgenfunction(fn):

        @functools.wraps(fn)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            outcome = ["cancelled"]
            try:
                async for item in fn(*args, **kwargs):
                    yield item
                outcome[0] = "ok"
            except Exception as error:
                raise_settled(error, outcome)
            finally:
                report(outcome)

    elif inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            outcome = ["cancelled"]
            try:
                yield from fn(*args, **kwargs)
                outcome[0] = "ok"
            except Exception as error:
                raise_settled(error, outcome)
            finally:
                report(outcome)

    elif inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            outcome = ["cancelled"]
            try:
                result = await fn(*args, **kwargs)
                outcome[0] = "ok"
                return result
            except Exception as error:
                raise_settled(error, outcome)
            finally:
                report(outcome)

    else:

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            outcome = ["cancelled"]
            try:
                result = fn(*args, **kwargs)
                outcome[0] = "ok"
                return result
            except Exception as error:
                raise_settled(error, outcome)
            finally:
                report(outcome)

    setattr(wrapper, GUARDED, True)
    return wrapper


def guard_events(demo: gr.Blocks) -> None:
    """Wrap every event function of `demo` with `guarded`, named by its api_name."""
    for block_fn in demo.fns.values():
        fn = block_fn.fn
        if fn is None or getattr(fn, GUARDED, False):
            continue
        block_fn.fn = guarded(fn, block_fn.api_name or block_fn.name or "event")
