"""Reading the server's process under /proc: found by its listening port, its memory, CPU time and environment
(this test process stands in for the server)."""

from __future__ import annotations

import os
import socket
import sys

import pytest

from studio.core.errors import UsageError
from studio.loadtest import process

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads Linux's /proc")


def test_the_process_listening_on_a_port_is_found():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert process.listening_pid(port) == os.getpid()
        assert process.server_pid(port, None) == os.getpid()
    assert process.listening_pid(port) is None  # closed: nobody listens there now
    with pytest.raises(UsageError, match=f"cannot find the process listening on port {port}"):
        process.server_pid(port, None)


def test_a_given_pid_must_be_a_live_process():
    assert process.server_pid(0, os.getpid()) == os.getpid()
    with pytest.raises(UsageError, match=r"no process 999999999 on this machine \(--pid\)"):
        process.server_pid(0, 999_999_999)


def test_memory_cpu_and_environment_of_a_live_process_and_none_for_a_gone_one():
    before = process.cpu_seconds(os.getpid())
    sum(i * i for i in range(2_000_000))  # some CPU time to see
    assert process.cpu_seconds(os.getpid()) > before >= 0
    rss = process.rss_bytes(os.getpid())
    assert rss is not None and rss > 10 * 2**20  # a Python with pytest loaded holds tens of MB
    env = process.environment(os.getpid())
    assert env is not None and env.get("PATH") == os.environ.get("PATH")
    assert process.rss_bytes(999_999_999) is None and process.cpu_seconds(999_999_999) is None
    assert process.environment(999_999_999) is None
    assert "pytest" in (process.command_line(os.getpid()) or "") and process.command_line(999_999_999) is None
