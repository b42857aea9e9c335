"""`studio load-test`: refused in one line, exit 2, before any client starts (the run itself:
tests/service/test_load.py)."""

from __future__ import annotations

import socket

from tests.cli.helpers import stderr_lines, studio


def test_a_server_elsewhere_is_refused_in_one_line():
    result = studio("load-test", "http://192.0.2.10:7860/")
    assert result.returncode == 2
    assert stderr_lines(result) == [
        "error: the load test drives only a server on this machine (127.0.0.1, ::1, localhost): 192.0.2.10"
    ]


def test_no_server_on_the_port_is_one_line():
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    result = studio("load-test", f"http://127.0.0.1:{port}/", "--seconds", "5")
    assert result.returncode == 2
    [line] = stderr_lines(result)
    assert line.startswith(f"error: cannot find the process listening on port {port}")


def test_bounds_are_checked_before_anything_runs():
    result = studio("load-test", "http://127.0.0.1:1/", "--clients", "500")
    assert result.returncode == 2 and stderr_lines(result) == ["error: --clients must be 1 to 64"]
