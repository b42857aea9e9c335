"""The results table, the quality-vs-latency plot and the cancel flags, on real engine runs (classical models).

Pure functions (no server, no browser): what the browser tests then check on the page.
"""

from __future__ import annotations

import dataclasses
import threading
import xml.etree.ElementTree as ET

import gradio as gr
import numpy as np
import pytest

from studio.core.media import DecodedImage
from studio.engine.compare import iterate, run
from studio.engine.request import CompareRequest
from studio.models.cache import EnhancerCache
from studio.models.loader import Loader
from studio.models.registry import load_registry
from studio.ui.compare import table
from studio.ui.compare.plot import axis_title, plot_html
from studio.ui.compare.runs import StopFlags
from studio.ui.views import display_names, pair_label, status_text

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def engine(model_settings):
    return load_registry(model_settings), Loader(model_settings, cache=EnhancerCache(1024))


def compare(engine, image, models, metrics, degrade=None):
    registry, loader = engine
    request = CompareRequest.build(registry, models, metrics=metrics, degrade=degrade, max_models=None)
    return run(request, DecodedImage(rgb=image), registry, loader, source="photo.png")


@pytest.fixture(scope="module")
def reference_run(engine, photo):
    """x4 degradation of a 128x96 photo: two x4 models, a x2 model (flagged), a model that fails (not downloaded)."""
    image = np.ascontiguousarray(photo[:96, :128])
    models = ["lanczos-x4", "bicubic-x4", "lanczos-x2", "nafnet-gopro-width64"]
    return compare(engine, image, models, ["psnr_y", "ssim_y", "lpips", "sharpness"], degrade="x4")


def svg_of(html: str) -> ET.Element:
    return ET.fromstring(html).find(f"{SVG}svg")


def test_the_lpips_column_is_hidden_with_its_reason_said_once(reference_run):
    frame = table.table_frame(reference_run)
    assert "LPIPS ↓" not in frame.columns and "LPIPS ↓" not in table.table_frame(reference_run, full=True).columns
    assert table.hidden_metrics(reference_run) == {"lpips": "weights not downloaded"}
    note = table.table_note(reference_run)
    assert note.count("LPIPS") == 1 and "**LPIPS ↓** hidden: weights not downloaded" in note


def test_full_reference_metrics_without_a_reference_are_hidden(engine, photo):
    results = compare(engine, np.ascontiguousarray(photo[:48, :64]), ["unsharp-mask"], ["psnr", "sharpness"])
    assert list(table.table_frame(results).columns) == ["model", "output", "latency ms", "MP/s", "Sharpness ↑", "error"]
    assert table.hidden_metrics(results) == {"psnr": table.NEEDS_REFERENCE}


def test_the_compact_table_names_models_and_keeps_the_failure_in_its_row(reference_run):
    frame = table.table_frame(reference_run)
    assert list(frame.columns) == [
        "model",
        "output",
        "latency ms",
        "MP/s",
        "PSNR-Y ↑",
        "SSIM-Y ↑",
        "Sharpness ↑",
        "error",
    ]
    assert list(frame["model"]) == ["Lanczos x4", "Bicubic x4", "Lanczos x2 ⚑", "NAFNet deblur (GoPro, width 64)"]
    assert "not downloaded" in frame["error"][3] and np.isnan(frame["PSNR-Y ↑"][3]) and frame["output"][3] == ""
    assert table.datatypes(frame) == ["str", "str", "number", "number", "number", "number", "number", "str"]
    full = table.table_frame(reference_run, full=True)
    assert full["flag"][2] == "x2 output scored against a x4 degradation: not comparable with the x4 rows"
    assert "⚑ **Lanczos x2**: x2 output scored against a x4 degradation" in table.table_note(reference_run)
    assert list(full["id"]) == ["lanczos-x4", "bicubic-x4", "lanczos-x2", "nafnet-gopro-width64"]
    assert {"backend", "precision", "first ms", "Sharpness Δ vs input", "params"} <= set(full.columns)
    assert "warm ms" not in full.columns  # ran once: the column would always be empty


def test_the_best_value_of_each_metric_is_highlighted_within_its_group(reference_run):
    frame = table.table_frame(reference_run)
    expected = {}
    for label, metric_id in (("PSNR-Y ↑", "psnr_y"), ("SSIM-Y ↑", "ssim_y"), ("Sharpness ↑", "sharpness")):
        x4 = frame[label][:2]  # the x2 output is another group (its own size), with no one to beat
        expected[label] = [int(x4.idxmax())]
        assert {reference_run.rows[i].model_id for i in expected[label]} == reference_run.best(metric_id)
    assert table.best_cells(reference_run, frame) == expected
    styling = gr.Dataframe(interactive=False).postprocess(table.styled_table(reference_run)).metadata["styling"]
    columns = list(frame.columns)
    bold = {(r, columns[c]) for r, row in enumerate(styling) for c, style in enumerate(row) if "bold" in style}
    assert bold == {(rows[0], label) for label, rows in expected.items()}


def test_numbers_are_shown_as_the_csv_rounds_them(reference_run):
    shown = gr.Dataframe(interactive=False).postprocess(table.styled_table(reference_run)).metadata["display_value"]
    row = reference_run.rows[0]
    assert shown[0][4] == f"{row.metrics['psnr_y']:.4f}" and shown[0][2] == f"{row.latency_ms:.1f}"
    assert shown[3][2:7] == ["", "", "", "", ""]  # the failed row: no numbers, its error instead


def test_the_plot_has_one_labelled_point_per_model_with_a_value(reference_run):
    svg = svg_of(plot_html(reference_run, "psnr_y"))
    circles = svg.findall(f"{SVG}circle")
    labels = [t.text for t in svg.findall(f"{SVG}text") if t.get("class") == "point-label"]
    assert sorted(c.get("data-model") for c in circles) == ["bicubic-x4", "lanczos-x2", "lanczos-x4"]
    assert sorted(labels) == ["Bicubic x4", "Lanczos x2 ⚑", "Lanczos x4"]
    values = {c.get("data-model"): float(c.get("data-value")) for c in circles}
    assert values == {row.model_id: row.metrics["psnr_y"] for row in reference_run.rows[:3]}
    assert [c.get("data-model") for c in circles if c.get("data-best") == "true"] == list(reference_run.best("psnr_y"))
    titles = {t.get("data-axis"): t.text for t in svg.findall(f"{SVG}text") if t.get("class") == "axis-title"}
    assert titles["y"] == "PSNR-Y (dB) ↑ better" and titles["x"].startswith("latency ms ↓ better")
    assert "Not plotted: NAFNet deblur (GoPro, width 64) (failed)." in plot_html(reference_run, "psnr_y")


def test_points_sit_where_their_values_are(reference_run):
    """Higher quality is drawn higher, longer latency further right (SVG y grows downwards)."""
    circles = svg_of(plot_html(reference_run, "ssim_y")).findall(f"{SVG}circle")
    by_value = sorted(circles, key=lambda c: float(c.get("data-value")))
    assert [float(c.get("cy")) for c in by_value] == sorted((float(c.get("cy")) for c in circles), reverse=True)
    by_latency = sorted(circles, key=lambda c: float(c.get("data-latency")))
    assert [float(c.get("cx")) for c in by_latency] == sorted(float(c.get("cx")) for c in circles)


def test_axis_titles_name_the_metric_and_its_better_direction():
    from studio.metrics import get_metric

    assert axis_title(get_metric("lpips")) == "LPIPS ↓ better"
    assert axis_title(get_metric("psnr")) == "PSNR (dB) ↑ better"


def test_no_metric_no_plot(reference_run):
    assert "No quality metric" in plot_html(None, None) and "No quality metric" in plot_html(reference_run, None)
    assert "No model has a LPIPS value" in plot_html(reference_run, "lpips")


def test_display_names_label_the_free_comparison(reference_run):
    names = display_names(reference_run)
    assert names == {
        "input": "input",
        "reference": "reference",
        "lanczos-x4": "Lanczos x4",
        "bicubic-x4": "Bicubic x4",
        "lanczos-x2": "Lanczos x2",
    }
    assert pair_label(reference_run, "lanczos-x2", "input") == "Lanczos x2 ◀ ▶ input"


def test_the_status_names_the_source_and_a_cancel(reference_run):
    assert status_text(reference_run).startswith("Input **photo.png** · 32x24")
    assert "LPIPS" not in status_text(reference_run)  # said once, under the table
    previewed = dataclasses.replace(reference_run, preview_note="preview: 64x48 reduced to 32x24")
    assert "**Preview**: 64x48 reduced to 32x24 — untick" in status_text(previewed)


def test_a_cancelled_run_keeps_what_finished_and_says_so(engine, photo):
    registry, loader = engine
    flags = StopFlags()
    flag = flags.arm("session")
    request = CompareRequest.build(registry, ["lanczos-x2", "bicubic-x2", "unsharp-mask"], metrics=["sharpness"])
    image = DecodedImage(rgb=np.ascontiguousarray(photo[:48, :64]))
    for results in iterate(request, image, registry, loader, should_stop=flag.is_set):
        if len(results.rows) == 1:
            assert flags.stop("session")
    assert results.cancelled == "cancelled after 1 of 3 models" and [r.model_id for r in results.rows] == ["lanczos-x2"]
    assert "**Cancelled after 1 of 3 models**: the finished results are kept." in status_text(results)
    flags.forget("session")
    assert not flags.stop("session") and len(flags) == 0


def test_stop_flags_are_per_session_and_rearmed_for_each_run():
    flags = StopFlags()
    first, other = flags.arm("a"), flags.arm("b")
    assert flags.stop("a") and first.is_set() and not other.is_set()
    second = flags.arm("a")
    assert not second.is_set() and flags.flag("a") is second
    assert flags.flag("new") is flags.flag("new")  # an API client's run gets one on first use
    setters = [threading.Thread(target=flags.stop, args=("b",)) for _ in range(4)]
    for thread in setters:
        thread.start()
    for thread in setters:
        thread.join()
    assert other.is_set()


def test_progress_messages_name_models_by_their_display_name(engine):
    from studio.ui.compare.progress import Eta, named_progress

    registry, _ = engine
    seen = []
    report = named_progress(registry, ["lanczos-x2", "lanczos-x4"], lambda f, desc: seen.append((f, desc)), Eta())
    report(0.0, "running lanczos-x4 (2/2)")
    report(0.5, "lanczos-x4: tile 1/2")
    assert seen[0] == (0.0, "running Lanczos x4 (2/2)")  # no ETA before anything was measured or predicted
    assert seen[1][1].startswith("Lanczos x4: tile 1/2")


def test_while_waiting_for_another_run_the_progress_says_that_runs_time_not_its_own(engine):
    from studio.engine.compare import WAITING
    from studio.ui.compare.progress import Eta, named_progress

    registry, _ = engine
    seen = []
    report = named_progress(registry, ["lanczos-x2"], lambda f, desc: seen.append(desc), Eta([30.0]))
    report(0.0, f"lanczos-x2: {WAITING} (about 12 s)")
    report(0.0, "running lanczos-x2 (1/1)")
    assert seen[0] == f"Lanczos x2: {WAITING} (about 12 s)"
    assert seen[1] == "running Lanczos x2 (1/1) · about 30 s left"


def test_tick_labels_tell_close_values_apart(reference_run):
    """SSIM-Y values a few thousandths apart still get distinct y-axis labels."""
    svg = svg_of(plot_html(reference_run, "ssim_y"))
    y_ticks = [t.text for t in svg.findall(f"{SVG}text") if t.get("text-anchor") == "end" and not t.get("class")]
    assert len(y_ticks) >= 3 and len(set(y_ticks)) == len(y_ticks)


def test_the_eta_counts_what_is_left_of_the_predicted_models():
    from studio.ui.compare.progress import Eta

    eta = Eta([10.0, 30.0, 20.0])
    assert eta.text(1 / 3 + 0.5 / 3) == " · about 35 s left"  # half of the 30 s model, then the 20 s one
    assert eta.text(2 / 3 + 0.75 / 3) == " · about 5 s left"
    assert eta.text(1.0) == ""
    unknown = Eta([10.0, None])
    assert unknown.text(0.25).endswith("time left unknown (a model not measured here yet)")
    assert Eta([None, 10.0]).text(0.75) == " · about 5 s left"  # only what is still ahead counts
    assert Eta().text(0.5) == ""
