"""Launch settings the README states under "Hugging Face Spaces": bind address, queue, upload cap,
shared model worker, cache cleaning. app.py runs in-process with Gradio's launch replaced, so
nothing listens; the real app server shows where it listens without SPACE_ID."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def launched(monkeypatch) -> dict:
    """What app.main() passes to Blocks.launch (plus the demo), with SPACE_ID set as on a Space."""
    import gradio as gr

    import app

    calls: dict = {}

    def fake_launch(self, **kwargs):
        calls.update(kwargs, demo=self)

    monkeypatch.setattr(gr.Blocks, "launch", fake_launch)
    monkeypatch.setenv("SPACE_ID", "someone/enhance-studio")
    for name in ("PORT", "GRADIO_SERVER_PORT"):
        monkeypatch.delenv(name, raising=False)
    app.main()
    return calls


def test_on_a_space_the_app_binds_every_interface_with_the_stated_limits(launched):
    assert launched["server_name"] == "0.0.0.0" and launched["server_port"] == 7860
    assert launched["max_file_size"] == "50mb"
    demo = launched["demo"]
    assert demo._queue.max_size == 32
    assert demo.delete_cache == (1800, 3600)  # every 30 minutes, files older than an hour
    model_events = {
        fn.api_name: (fn.concurrency_id, fn.concurrency_limit)
        for fn in demo.fns.values()
        if fn.api_name in ("run", "compare")
    }
    assert model_events == {"run": ("models", 1), "compare": ("models", 1)}  # one worker runs models


def listening_addresses(port: int) -> set[str]:
    """IPv4 addresses a socket LISTENs on at `port`, from /proc/net/tcp (hex, little-endian)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, hex_port = local.split(":")
        if state == "0A" and int(hex_port, 16) == port:
            found.add(".".join(str(int(address[i : i + 2], 16)) for i in (6, 4, 2, 0)))
    return found


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads Linux's socket table")
def test_off_a_space_the_app_listens_on_loopback_only(app_server):
    assert listening_addresses(app_server.port) == {"127.0.0.1"}
