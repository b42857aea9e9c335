"""A small page that runs one chosen enhancer on an upload (the full comparison UI builds on it)."""

from __future__ import annotations

import cv2
import gradio as gr
import numpy as np
import pandas as pd

from ..compare import CompareOptions
from ..compare import run as compare_run
from ..errors import StudioError
from ..loader import model_state
from ..media import DecodedImage, decode
from ..services import Services
from ..weights import CACHED, READY


def runnable_choices(services: Services) -> list[tuple[str, str]]:
    """(label, id) pairs for models whose weights are here, grouped by task order."""
    choices = []
    for spec in sorted(services.registry, key=lambda s: (s.task, s.id)):
        state = model_state(spec, services.loader.store)
        if state.label in (READY, CACHED):
            choices.append((f"{spec.task} · {spec.name} (x{spec.scale})", spec.id))
    return choices


def load_upload(path: str | None, services: Services) -> DecodedImage:
    """Decode an uploaded file with our own limits and messages (never Gradio's PIL path)."""
    if not path:
        raise gr.Error("Upload an image first.")
    try:
        return decode(path, services.settings.max_pixels)
    except StudioError as exc:
        raise gr.Error(str(exc)) from None


def build_demo(services: Services) -> gr.Blocks:
    def preview(path: str | None):
        return load_upload(path, services).rgb if path else None

    def run(path: str | None, model_id: str | None):
        image = load_upload(path, services)
        if not model_id:
            raise gr.Error("Pick a model.")
        options = CompareOptions(preview=None)
        (outcome,) = compare_run(image, [model_id], services.registry, services.loader, options=options).rows
        if not outcome.ok:
            raise gr.Error(outcome.error)
        output = outcome.output.rgb
        before = image.rgb
        if before.shape != output.shape:
            before = cv2.resize(before, (output.shape[1], output.shape[0]), interpolation=cv2.INTER_CUBIC)
        table = pd.DataFrame(
            [
                {
                    "model": model_id,
                    "output": f"{output.shape[1]}x{output.shape[0]}",
                    "latency ms": round(outcome.latency_ms, 1),
                }
            ]
        )
        return (before, np.ascontiguousarray(output)), table

    choices = runnable_choices(services)
    with gr.Blocks(title="Enhance Studio") as demo:
        gr.Markdown("# Enhance Studio\nUpload an image, pick an enhancer, compare before and after.")
        with gr.Row():
            with gr.Column():
                upload = gr.File(
                    label="Input image (PNG, JPEG, WebP, BMP, TIFF)", file_types=["image"], type="filepath"
                )
                shown = gr.Image(label="Input", interactive=False, type="numpy")
            with gr.Column():
                model = gr.Dropdown(choices=choices, value=choices[0][1] if choices else None, label="Enhancer")
                button = gr.Button("Run", variant="primary")
        slider = gr.ImageSlider(label="Before / after", type="numpy")
        table = gr.Dataframe(label="Result")
        upload.change(preview, upload, shown, api_name="preview")
        button.click(run, [upload, model], [slider, table], api_name="enhance")
    return demo
