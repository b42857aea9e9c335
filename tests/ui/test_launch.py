"""Launch settings the README states under "Hugging Face Spaces" and "Deploying safely": bind address,
queue, upload cap, shared model worker, cache cleaning, and Gradio mounted on the service app with
monitoring, MCP and error details off and the private folders blocked. app.py runs in-process with
the server start replaced, so nothing listens; the real app server shows where it listens without SPACE_ID."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def launched(monkeypatch) -> dict:
    """What app.main() mounts and serves (mount_gradio_app's keywords, the demo, the app, the settings),
    with SPACE_ID set as on a Space."""
    import gradio as gr

    import app
    from studio.service import logs, server

    calls: dict = {}
    real_mount = gr.mount_gradio_app

    def recording_mount(fastapi_app, blocks, **kwargs):
        calls.update(kwargs, demo=blocks)
        return real_mount(fastapi_app, blocks, **kwargs)

    monkeypatch.setattr(gr, "mount_gradio_app", recording_mount)

    def recording_serve(fastapi_app, settings, app_loop) -> None:
        calls.update(app=fastapi_app, settings=settings)
        app_loop.stop()  # nothing is served: the app's loop thread ends here

    monkeypatch.setattr(server, "serve", recording_serve)
    monkeypatch.setattr(logs, "configure_logging", lambda log_format: calls.update(log_format=log_format))
    monkeypatch.setenv("SPACE_ID", "someone/enhance-studio")
    monkeypatch.setenv("STUDIO_PREFETCH", "none")  # no loads left running in the test process (test_space_app.py)
    for name in ("PORT", "GRADIO_SERVER_PORT", "STUDIO_ALLOW_DOWNLOADS"):
        monkeypatch.delenv(name, raising=False)
    app.main()
    return calls


def test_on_a_space_the_app_binds_every_interface_with_the_stated_limits(launched):
    settings = launched["settings"]
    assert settings.server_name == "0.0.0.0" and settings.server_port == 7860
    assert launched["max_file_size"] == "50mb"
    demo = launched["demo"]
    assert demo._queue.max_size == 32
    assert demo.delete_cache == (1800, 3600)  # every 30 minutes, files older than an hour
    assert demo.state_holder.capacity == 1000  # sessions whose state is kept (Gradio's default: 10,000)
    model_events = {
        fn.api_name: (fn.concurrency_id, fn.concurrency_limit)
        for fn in demo.fns.values()
        if fn.api_name in ("run", "compare", "video", "video_run")
    }
    # one group of model events, 4 at a time (a run waiting for a download blocks no other);
    # the engine's compute slot (engine/slot.py, tested in tests/engine/test_slot.py) runs one model at a time
    assert set(model_events.values()) == {("models", "default")} and len(model_events) == 4
    assert demo._queue.default_concurrency_limit == 4


def test_gradio_is_mounted_with_the_hardened_settings(launched):
    settings, demo = launched["settings"], launched["demo"]
    assert launched["path"] == "/" and launched["log_format"] == "plain"
    assert launched["show_error"] is False  # only gr.Error (our one-line messages, fault ids) reaches users
    assert launched["enable_monitoring"] is False and demo.enable_monitoring is False
    assert launched["mcp_server"] is False and not getattr(demo, "mcp_server", False)
    assert launched["ssr_mode"] is False and launched["run_history"] is False
    assert launched["allowed_paths"] == []
    blocked = {Path(path) for path in launched["blocked_paths"]}
    assert {settings.data_dir, settings.weights_dir, settings.hf_cache} <= blocked
    assert demo.blocked_paths == launched["blocked_paths"]
    assert demo.has_launched  # Gradio checks input file paths only once this is set (launch() sets it)
    routes = {getattr(route, "path", None) for route in launched["app"].routes}
    assert {"/healthz", "/readyz", "/metrics"} <= routes
    assert "download_model" not in {fn.api_name for fn in demo.fns.values()}  # STUDIO_ALLOW_DOWNLOADS unset


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
