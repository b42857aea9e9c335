"""Errors on their way to the log and the user: a user error is one line, a fault keeps its traceback
under an error id the user is shown; every event's outcome is reported; votes are counted."""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import time

import gradio as gr
import pytest

from studio.core import telemetry
from studio.core.errors import UsageError
from studio.ui.faults import UserErrorsInOneLine, guard_events, guarded
from studio.ui.raters import counts_votes


@pytest.fixture
def events():
    heard: list[tuple[str, dict[str, str]]] = []
    stop = telemetry.subscribe(lambda event, value, labels: heard.append((event, labels)))
    yield heard
    stop()


def plain(x: int, request: gr.Request | None = None) -> int:
    if x == 1:
        raise gr.Error("one is refused")
    if x == 2:
        raise UsageError("two is\nrefused")
    if x == 3:
        raise KeyError("a bug")
    return x


def generator(x: int):
    yield 0
    yield plain(x)


async def coroutine(x: int) -> int:
    return plain(x)


async def async_generator(x: int):
    yield 0
    yield plain(x)


def call(fn, x):
    if inspect.isasyncgenfunction(fn):

        async def drain():
            return [item async for item in fn(x)]

        return asyncio.run(drain())
    if inspect.iscoroutinefunction(fn):
        return asyncio.run(fn(x))
    if inspect.isgeneratorfunction(fn):
        return list(fn(x))
    return fn(x)


@pytest.mark.parametrize("fn", [plain, generator, coroutine, async_generator])
def test_each_kind_of_event_keeps_its_kind_and_signature(fn):
    wrapped = guarded(fn, "demo")
    for check in (inspect.isgeneratorfunction, inspect.iscoroutinefunction, inspect.isasyncgenfunction):
        assert check(wrapped) == check(fn)
    assert inspect.signature(wrapped) == inspect.signature(fn)  # Gradio finds gr.Request through it


@pytest.mark.parametrize("fn", [plain, generator, coroutine, async_generator])
def test_user_errors_pass_as_one_line_and_faults_become_their_error_id(fn, events, caplog):
    wrapped = guarded(fn, "demo")
    assert call(wrapped, 5) in (5, [0, 5])
    with pytest.raises(gr.Error) as theirs:
        call(wrapped, 1)
    assert theirs.value.message == "one is refused"
    with pytest.raises(gr.Error) as ours:
        call(wrapped, 2)
    assert ours.value.message == "two is refused"  # a StudioError: our one-line message
    with caplog.at_level(logging.INFO, logger="studio.ui"), pytest.raises(gr.Error) as fault:
        call(wrapped, 3)
    assert fault.value.print_exception is False  # Gradio prints nothing more: the record below is the log
    error_id = fault.value.message.split("error id ")[1].split(")")[0]
    assert "KeyError" not in fault.value.message and "a bug" not in fault.value.message
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert record.getMessage() == f"fault {error_id} in /demo: KeyError: 'a bug'" and record.exc_info
    outcomes = [labels["outcome"] for event, labels in events if event == "event"]
    assert outcomes == ["ok", "user_error", "user_error", "fault"]


def test_a_generator_closed_early_is_reported_as_cancelled(events):
    stream = guarded(generator, "demo")(5)
    next(stream)
    stream.close()
    assert events == [("event", {"endpoint": "demo", "outcome": "cancelled"})]


def test_every_event_of_a_demo_is_guarded_once():
    with gr.Blocks() as demo:
        box = gr.Number()
        gr.Button().click(plain, box, box, api_name="plain")
        gr.Button().click(generator, box, box, api_name="stream")
    guard_events(demo)
    first = [fn.fn for fn in demo.fns.values()]
    guard_events(demo)
    assert [fn.fn for fn in demo.fns.values()] == first and all(fn.__wrapped__ for fn in first)


def test_gradios_own_failures_print_one_line_for_users_and_a_fault_otherwise(caplog):
    shim = UserErrorsInOneLine()
    with caplog.at_level(logging.INFO, logger="studio.ui"):
        try:
            raise gr.Error("unknown model 'nope'\n(see `studio models`)")
        except gr.Error:
            shim.print_exc()
        try:
            raise ValueError("a bug")
        except ValueError:
            shim.print_exc()
    user, fault = caplog.records
    assert user.getMessage() == "user error: unknown model 'nope' (see `studio models`)" and not user.exc_info
    assert fault.getMessage().startswith("fault ") and fault.getMessage().endswith(": ValueError: a bug")
    assert fault.exc_info and shim.format_exc is not None  # everything else is the real traceback module


def test_votes_are_counted_as_accepted_or_rejected(events):
    @counts_votes("arena")
    def vote(ok: bool) -> str:
        if not ok:
            raise gr.Error("already voted")
        return "stored"

    assert vote(True) == "stored"
    with pytest.raises(gr.Error):
        vote(False)
    assert events == [
        ("vote", {"kind": "arena", "outcome": "accepted"}),
        ("vote", {"kind": "arena", "outcome": "rejected"}),
    ]


def test_temp_run_folders_older_than_two_hours_are_cleaned(tmp_path, monkeypatch):
    from studio.ui import downloads
    from studio.ui.app import clean_temp_folders
    from studio.ui.video import runner

    for module, name in ((downloads, "runs"), (runner, "videos")):
        monkeypatch.setattr(module, "RUNS_DIR", tmp_path / name)
        old, fresh = tmp_path / name / "old-run", tmp_path / name / "fresh-run"
        for folder in (old, fresh):
            folder.mkdir(parents=True)
            (folder / "results.csv").write_text("model\n")
        three_hours_ago = time.time() - 3 * 3600
        os.utime(old, (three_hours_ago, three_hours_ago))
    clean_temp_folders()
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.glob("*/*")) == [
        "runs/fresh-run",
        "videos/fresh-run",
    ]
