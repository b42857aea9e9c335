"""How a request's failure is judged: a clean busy refusal, another refusal, or a server error."""

from __future__ import annotations

import httpx
import pytest
from gradio_client.exceptions import AppError
from gradio_client.utils import QueueError

from studio.loadtest.outcomes import BUSY, ERROR, OK, REFUSED, UnexpectedAnswer, judge, timed_call


def http_error(status: int) -> httpx.HTTPStatusError:
    request = httpx.Request("POST", "http://127.0.0.1:7860/gradio_api/call/compare")
    return httpx.HTTPStatusError("refused", request=request, response=httpx.Response(status, request=request))


@pytest.mark.parametrize(
    ("exc", "outcome", "text"),
    [
        (QueueError("Queue is full! Please try again."), BUSY, "Queue is full! Please try again."),
        (
            AppError("slow down: too many votes from this address in the last minute (try again in 12 s)"),
            BUSY,
            "slow down: too many votes from this address in the last minute (try again in 12 s)",
        ),
        (http_error(429), BUSY, "HTTP 429 Too Many Requests"),
        (http_error(503), BUSY, "HTTP 503 Service Unavailable"),
        (AppError("No pair to vote on: press New pair first."), REFUSED, "No pair to vote on: press New pair first."),
        (AppError("slow down: no wait named"), REFUSED, "slow down: no wait named"),
        (
            AppError("slow down: x (try again in 3 s)\nTraceback ..."),
            REFUSED,
            "slow down: x (try again in 3 s) (and more lines)",
        ),
        (
            AppError("Something went wrong on the server (error id 3f2a)"),
            ERROR,
            "Something went wrong on the server (error id 3f2a)",
        ),
        (
            AppError("The upstream Gradio app has raised an exception but has not enabled verbose error reporting."),
            ERROR,
            "The upstream Gradio app has raised an exception but has not enabled verbose error reporting.",
        ),
        (http_error(500), ERROR, "HTTP 500 Internal Server Error"),
        (httpx.ReadTimeout("read timed out"), ERROR, "timeout: ReadTimeout"),
        (httpx.ConnectError("refused"), ERROR, "connection: ConnectError: refused"),
        (UnexpectedAnswer("/compare gave 1 of 3 outputs"), ERROR, "unexpected answer: /compare gave 1 of 3 outputs"),
        (KeyError("data"), ERROR, "KeyError: 'data'"),
    ],
)
def test_each_failure_is_judged_by_what_it_says(exc, outcome, text):
    assert judge(exc) == (outcome, text)


def test_a_timed_call_records_its_kind_start_latency_and_outcome():
    record = timed_call("vote", 3, origin=0.0, action=lambda: None)
    assert (record.kind, record.client, record.outcome, record.text) == ("vote", 3, OK, "")
    assert record.start_s > 0 and 0 <= record.latency_s < 1

    def refused() -> None:
        raise AppError("slow down: too many runs from this session in the last minute (try again in 2 s)")

    assert timed_call("compare", 0, 0.0, refused).outcome == BUSY
