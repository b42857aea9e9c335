"""The Models tab's table: every entry with its weight state and the form it runs in on this (forced) machine."""

from __future__ import annotations

import pytest

from studio.core.config import Settings
from studio.services import Services
from studio.ui.models_tab import models_frame


@pytest.mark.parametrize(
    ("kind", "x4plus", "compact", "espcn"),
    [
        ("cpu", "ncnn fp32", "ncnn fp32", "opencv-dnn fp32"),
        ("cpu-bf16", "torch bf16", "ncnn bf16", "opencv-dnn fp32"),
        ("cuda", "torch fp16 cuda", None, "torch fp16 cuda"),  # the converted form: OpenCV DNN runs on the CPU only
    ],
)
def test_the_table_says_how_each_model_runs_here(env, kind, x4plus, compact, espcn):
    frame = models_frame(Services(Settings.from_env({**env, "STUDIO_MACHINE_CLASS": kind}))).set_index("id")
    assert frame.loc["realesrgan-x4plus", "runs here as"] == x4plus
    if compact:
        assert frame.loc["realesr-animevideov3-x4", "runs here as"] == compact
    assert frame.loc["lanczos-x4", "runs here as"] == "classical"
    assert frame.loc["espcn-x4", "runs here as"] == espcn


def test_states_are_the_weights_states(env):
    frame = models_frame(Services(Settings.from_env({**env, "STUDIO_MACHINE_CLASS": "cpu"}))).set_index("id")
    assert frame.loc["lanczos-x4", "state"] == "ready"
    assert frame.loc["nafnet-gopro-width64", "state"] == "not downloaded"  # the picker greys it when offline
    assert set(frame.columns) >= {"name", "task", "scale", "backend", "runs here as", "source", "license", "loaded"}


@pytest.mark.parametrize(("flag", "served"), [("", False), ("1", True)])
def test_download_weights_is_an_endpoint_only_when_the_server_allows_it(env, flag, served):
    import gradio as gr

    from studio.ui.models_tab import DOWNLOADS_OFF, build_models_tab

    with gr.Blocks() as demo:
        build_models_tab(Services(Settings.from_env({**env, "STUDIO_ALLOW_DOWNLOADS": flag})))
    assert ("download_model" in {fn.api_name for fn in demo.fns.values()}) is served
    texts = [getattr(block, "value", None) for block in demo.blocks.values()]
    assert (DOWNLOADS_OFF in texts) is not served  # the tab says why the button is missing
