"""The page's line about this server (studio/ui/status_line.py): whether a Space's data lasts, and the start-up
prefetch's progress, refreshed by a timer that stops itself once the prefetch is over."""

from __future__ import annotations

import logging
import time

import gradio as gr

from studio.core.config import Settings
from studio.engine.prefetch import LOADING, Prefetch, start_prefetch
from studio.engine.slot import compute_slot
from studio.service.health import readiness
from studio.services import Services
from studio.ui.status_line import build_status_line, refresh, storage_text


def on_space(tmp_path, **extra: str) -> Settings:
    return Settings.from_env({"SPACE_ID": "someone/enhance-studio", "HF_HUB_OFFLINE": "1", **extra})


def test_the_page_says_whether_a_spaces_data_lasts(tmp_path):
    kept = on_space(tmp_path, STUDIO_PERSISTENT_DIR=str(tmp_path))
    assert storage_text(kept) == f"Data is kept in `{tmp_path / 'enhance-studio' / 'data'}` (persistent storage)."
    lost = on_space(tmp_path, STUDIO_PERSISTENT_DIR=str(tmp_path / "absent"))
    assert storage_text(lost) == (
        "Data is **not persistent**: votes and downloads are lost when the Space restarts; "
        "turn on persistent storage in the Space's settings."
    )
    elsewhere = on_space(tmp_path, STUDIO_PERSISTENT_DIR=str(tmp_path), STUDIO_DATA_DIR=str(tmp_path.parent / "x"))
    assert storage_text(elsewhere).startswith(f"Data is kept in `{tmp_path.parent / 'x'}`, outside the persistent")
    assert storage_text(Settings.from_env({})) == ""  # off a Space: nothing said


def test_the_line_follows_the_prefetch_and_its_timer_stops_when_it_is_over(settings):
    services = Services(settings)
    services.prefetch = Prefetch(("lanczos-x4",))
    with gr.Blocks() as demo:
        line = build_status_line(services)
    timers = [block for block in demo.blocks.values() if isinstance(block, gr.Timer)]
    assert len(timers) == 1 and isinstance(line, gr.Markdown)
    text, timer = refresh(services)
    assert text == "Loading models at start: 0 of 1 models loaded; 1 waiting." and timer.active is True
    services.prefetch.run(services.registry, services.loader)
    text, timer = refresh(services)
    assert text == "" and timer.active is False  # every model loaded: the line goes, and so does the timer
    with gr.Blocks() as later:
        build_status_line(services)  # a page built after the prefetch has no timer
    assert not [block for block in later.blocks.values() if isinstance(block, gr.Timer)]


def test_visitors_see_which_models_failed_and_the_operator_sees_why(settings, caplog):
    """Offline, a Hub model's weights cannot be had: its reason ('run `studio fetch ...`', settings) is for the
    operator, in the log and /readyz; the page names the model only, while the prefetch runs and after."""
    services = Services(settings)
    swinir = "SwinIR-M x4 real-world (ONNX)"
    with caplog.at_level(logging.WARNING, logger="studio.prefetch"), compute_slot():  # lanczos-x4 waits for it
        prefetch = start_prefetch(("swinir-m-x4-realsr", "lanczos-x4"), (), services.registry, services.loader)
        assert prefetch is not None and prefetch.thread is not None
        services.prefetch = prefetch
        deadline = time.monotonic() + 30
        while prefetch.state("lanczos-x4") != LOADING and time.monotonic() < deadline:
            time.sleep(0.01)
        text, _ = refresh(services)
        assert text == f"Loading models at start: 0 of 2 models loaded; loading Lanczos x4; failed: {swinir}."
    prefetch.thread.join(timeout=30)
    why = prefetch.failed["swinir-m-x4-realsr"]
    assert "studio fetch swinir-m-x4-realsr" in why and "STUDIO_OFFLINE=1" in why
    assert why in caplog.text and why in readiness(services).checks["prefetch"]
    text, timer = refresh(services)
    assert text == f"Not available on this server right now: {swinir} (failed to load at start)."
    assert timer.active is False
