"""The synced zoom viewer's Python side (studio/ui/compare/viewer.py): which images, as which files.

What the browser does with them is tested in test_browser_viewer.py.
"""

from __future__ import annotations

import os
import time

import gradio as gr
import numpy as np
from gradio import processing_utils

from studio.core.media import DecodedImage, decode
from studio.engine.results import ModelResult, Results
from studio.ui.compare.viewer import build_viewer, pictures, png_path, viewer_update, viewer_value


def noise(width: int, height: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def results_of(*rows: ModelResult, reference: np.ndarray | None = None) -> Results:
    return Results(input=DecodedImage(rgb=noise(16, 12, 0)), reference=reference, metrics=[], rows=list(rows))


def output(model_id: str, name: str, scale: int, seed: int) -> ModelResult:
    return ModelResult(model_id=model_id, name=name, output=DecodedImage(rgb=noise(16 * scale, 12 * scale, seed)))


def test_the_viewer_shows_input_reference_and_each_successful_output_by_display_name():
    failed = ModelResult(model_id="nafnet-gopro-width64", name="NAFNet", error="not downloaded")
    results = results_of(
        output("lanczos-x4", "Lanczos x4", 4, 1),
        failed,
        output("unsharp-mask", "", 1, 2),
        reference=noise(64, 48, 3),
    )
    shown = pictures(results)
    assert [(p.key, p.label) for p in shown] == [
        ("input", "input"),
        ("reference", "reference"),
        ("lanczos-x4", "Lanczos x4"),
        ("unsharp-mask", "unsharp-mask"),  # no display name: its id
    ]
    assert shown[2].rgb is results.rows[0].output.rgb


def test_pngs_are_lossless_and_written_once_per_distinct_image(tmp_path):
    image = noise(40, 30, 7)
    path = png_path(image, tmp_path)
    assert path.suffix == ".png"
    assert np.array_equal(decode(path, 10**8).rgb, image)  # every pixel as the engine made it
    written = path.stat().st_ino
    os.utime(path, (1, 1))  # as if written long ago
    again = png_path(image.copy(), tmp_path)
    assert again == path and again.stat().st_ino == written  # the next update reuses the file...
    assert time.time() - again.stat().st_mtime < 60  # ...and refreshes its age, so cache cleaning keeps it
    assert png_path(noise(40, 30, 8), tmp_path) != path
    assert png_path(image.reshape(40, 30, 3), tmp_path) != path  # the same bytes in another shape
    assert not list(tmp_path.glob("*.part"))


def test_the_value_lists_each_image_with_its_size_and_file_and_a_default_flip_pair(tmp_path):
    results = results_of(output("lanczos-x4", "Lanczos x4", 4, 1), output("bicubic-x2", "Bicubic x2", 2, 2))
    value = viewer_value(results, tmp_path)
    assert [(i["key"], i["label"], i["width"], i["height"]) for i in value["images"]] == [
        ("input", "input", 16, 12),
        ("lanczos-x4", "Lanczos x4", 64, 48),
        ("bicubic-x2", "Bicubic x2", 32, 24),
    ]
    assert value["flip"] == ["input", "lanczos-x4"]
    first = value["images"][1]["file"]
    assert first["meta"] == {"_type": "gradio.FileData"} and first["mime_type"] == "image/png"
    assert np.array_equal(decode(first["path"], 10**8).rgb, results.rows[0].output.rgb)
    assert viewer_value(None, tmp_path) is None


def test_with_every_model_failed_the_flip_pair_is_the_input_with_itself(tmp_path):
    results = results_of(ModelResult(model_id="x", error="boom"))
    assert viewer_value(results, tmp_path)["flip"] == ["input", "input"]


def test_gradio_serves_the_files_through_its_file_route(tmp_path, monkeypatch):
    """The value passes Gradio's own output step: each file gets a /gradio_api/file= URL (no base64)."""
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))
    with gr.Blocks():
        viewer = build_viewer()
    (value,) = viewer_update(results_of(output("lanczos-x4", "Lanczos x4", 4, 1)))
    served = processing_utils.move_files_to_cache(viewer.html.postprocess(value), viewer.html, postprocess=True)
    urls = [image["file"]["url"] for image in served["images"]]
    assert all(url.startswith("/gradio_api/file=") and url.endswith(".png") for url in urls)
    assert all(str(tmp_path / "gradio") in url for url in urls)  # inside Gradio's cache, which it cleans
    assert len(viewer.outputs) == 1 and viewer.outputs[0] is viewer.html


def test_the_viewer_is_one_html_component_with_its_script_and_style():
    with gr.Blocks():
        viewer = build_viewer(elem_id="my-viewer")
    config = viewer.html.get_config()
    assert config["elem_id"] == "my-viewer"
    assert 'watch("value"' in config["js_on_load"] and "image-rendering: pixelated" in config["css_template"]
