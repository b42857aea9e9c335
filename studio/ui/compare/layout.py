"""The Compare tab's components, laid out: the form (left), the models (right), then the results.

Only layout here: no handlers and no events (see wiring.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from studio.engine.request import MAX_MODELS
from studio.metrics import DEFAULT_WITHOUT_REFERENCE, METRICS
from studio.services import Services
from studio.ui.choices import (
    AUTO,
    BACKEND_CHOICES,
    BLURS,
    DEGRADE_SCALES,
    DEVICE_CHOICES,
    FORMAT_CHOICES,
    NO_REFERENCE,
    PRECISION_CHOICES,
    REFERENCE_MODES,
)
from studio.ui.compare.params import build_parameter_controls
from studio.ui.compare.picker import Picker, build_picker
from studio.ui.compare.request_form import RequestForm
from studio.ui.compare.table import COMPACT_TIMING
from studio.ui.compare.viewer import Viewer, build_viewer


@dataclass(frozen=True, eq=False)
class FormArea:
    request: RequestForm  # what a run reads
    shown: gr.Image  # the decoded upload
    degrade_box: gr.Group  # the degradation controls, shown in synthetic mode
    kernel: gr.Image  # the blur kernel
    details: gr.Markdown  # the chosen models described
    run_button: gr.Button  # disabled while a run is going
    cancel_button: gr.Button  # enabled while a run is going
    progress: gr.Markdown  # the one place a run's progress (queue position, ETA) shows, next to the buttons
    picker: Picker
    request_state: gr.State  # the CompareRequest the run button's first step built


@dataclass(frozen=True, eq=False)
class Slot:
    """One model's result: a header, a before/after slider, or its error."""

    column: gr.Column
    header: gr.Markdown
    slider: gr.ImageSlider
    error: gr.Markdown


@dataclass(frozen=True, eq=False)
class ResultsArea:
    status: gr.Markdown
    results_state: gr.State  # the latest Results
    slots: tuple[Slot, ...]  # MAX_MODELS of them
    pick_a: gr.Dropdown
    pick_b: gr.Dropdown
    free_slider: gr.ImageSlider
    viewer: Viewer  # the synced zoom viewer (viewer.py)
    gallery: gr.Gallery
    table: gr.Dataframe  # compact: name, size, latency, MP/s, the chosen metrics, error
    table_all: gr.Dataframe  # every column, shown instead of `table` when `all_columns` is ticked
    all_columns: gr.Checkbox
    table_note: gr.Markdown  # hidden metric columns and why, what is highlighted, flagged rows
    plot_metric: gr.Dropdown
    plot: gr.HTML  # an inline SVG (see plot.py for why not gr.ScatterPlot)
    fmt: gr.Radio
    csv_button: gr.DownloadButton
    zip_button: gr.DownloadButton
    report_button: gr.DownloadButton  # the comparison as one HTML page; disabled until a run has ended
    files: gr.File

    def run_outputs(self) -> list:
        """What a run updates, in the order handlers.results_view returns its values."""
        slot_parts = [part for slot in self.slots for part in (slot.column, slot.header, slot.slider, slot.error)]
        return [
            self.status,
            self.results_state,
            *slot_parts,
            self.table,
            self.table_all,
            self.table_note,
            self.gallery,
            self.pick_a,
            self.pick_b,
            *self.viewer.outputs,
            self.plot_metric,
            self.plot,
            self.files,
            self.csv_button,
            self.zip_button,
            self.report_button,
        ]


def metric_choices(services: Services) -> list[tuple[str, str]]:
    """(label, id) per metric, marked when it cannot run here (and why)."""
    choices = []
    for spec in METRICS.values():
        reason = spec.availability(services.loader.store)
        choices.append((f"{spec.label}{f' (unavailable: {reason})' if reason else ''}", spec.id))
    return choices


def _reference_controls(services: Services) -> tuple[dict, gr.Group, gr.Image]:
    """The request's reference, metric and runtime controls (by RequestForm field), the degradation box, the kernel."""
    mode = gr.Radio(
        REFERENCE_MODES,
        value=NO_REFERENCE,
        label="Reference",
        elem_id="reference-mode",
        info="Degrade a sharp image with known steps, or upload the ground truth, "
        "to get full-reference scores (PSNR, SSIM, LPIPS).",
    )
    with gr.Group(visible=False) as degrade_box:
        with gr.Row():
            scale = gr.Dropdown(DEGRADE_SCALES, value=4, label="Downscale x")
            blur = gr.Radio(BLURS, value="none", label="Blur", elem_id="blur-kind")
        with gr.Row():  # only the selected blur kind's controls are shown (handlers.blur_controls)
            sigma = gr.Slider(0.3, 5, value=1.2, step=0.1, label="Gaussian sigma", visible=False, elem_id="blur-sigma")
            length = gr.Slider(3, 41, value=9, step=1, label="Motion length", visible=False, elem_id="blur-length")
            angle = gr.Slider(-90, 90, value=0, step=1, label="Motion angle", visible=False, elem_id="blur-angle")
        with gr.Row():
            noise = gr.Slider(0, 50, value=0, step=0.5, label="Noise sigma")
            jpeg = gr.Slider(0, 100, value=0, step=1, label="JPEG quality (0 = off)")
            seed = gr.Number(value=0, precision=0, label="Seed")
        kernel = gr.Image(label="Blur kernel", interactive=False, height=120, elem_id="kernel")
    ground_truth = gr.File(
        label="Ground truth image", file_types=["image"], type="filepath", visible=False, elem_id="ground-truth"
    )
    metrics = gr.CheckboxGroup(
        metric_choices(services), value=list(DEFAULT_WITHOUT_REFERENCE), label="Metrics", elem_id="metrics"
    )
    with gr.Row(equal_height=True):  # side by side, each info one short line so the three boxes align
        backend = gr.Dropdown(BACKEND_CHOICES, value=AUTO, label="Backend", info="auto: fastest here", min_width=120)
        precision = gr.Dropdown(
            PRECISION_CHOICES, value=AUTO, label="Precision", info="auto: bf16/fp16 if fast", min_width=120
        )
        device = gr.Dropdown(
            DEVICE_CHOICES, value=AUTO, label="Device", info="auto: a real GPU if any", min_width=120, elem_id="device"
        )
    controls = {
        "mode": mode,
        "scale": scale,
        "blur": blur,
        "sigma": sigma,
        "length": length,
        "angle": angle,
        "noise": noise,
        "jpeg": jpeg,
        "seed": seed,
        "ground_truth": ground_truth,
        "metrics": metrics,
        "backend": backend,
        "precision": precision,
        "device": device,
    }
    return controls, degrade_box, kernel


def build_form(services: Services, states: dict[str, str]) -> FormArea:
    """Upload, preview limit, reference and runtime (left); the model lists and run button (right)."""
    with gr.Row(equal_height=False):
        with gr.Column(scale=2, min_width=320):
            upload = gr.File(
                label="Image (PNG, JPEG, WebP, BMP, TIFF)", file_types=["image"], type="filepath", elem_id="upload"
            )
            shown = gr.Image(label="Input", interactive=False, height=220, format="png", elem_id="input-preview")
            with gr.Row():
                preview_on = gr.Checkbox(value=True, label="Limit the long side first (fast preview)")
                preview = gr.Slider(128, 2048, value=512, step=64, label="Long side (px)")
            with gr.Accordion("Reference, metrics & runtime", open=False):
                reference, degrade_box, kernel = _reference_controls(services)
        with gr.Column(scale=3, min_width=360):
            gr.Markdown(f"### Models (up to {MAX_MODELS})")
            picker = build_picker(services, states)
            groups = picker.groups
            details = gr.Markdown(elem_id="model-details")
            params_state = gr.State({})
            with gr.Accordion("Model parameters", open=False):
                build_parameter_controls(
                    services.registry,
                    groups,
                    params_state,
                    upload,
                    max_pixels=services.settings.max_pixels,
                    preview_on=preview_on,
                    preview=preview,
                )
    run_button, cancel_button, progress = build_run_bar()
    request = RequestForm(
        upload=upload,
        preview_on=preview_on,
        preview=preview,
        params=params_state,
        model_groups=groups,
        **reference,
    )
    return FormArea(
        request=request,
        shown=shown,
        degrade_box=degrade_box,
        kernel=kernel,
        details=details,
        run_button=run_button,
        cancel_button=cancel_button,
        progress=progress,
        picker=picker,
        request_state=gr.State(None),
    )


def build_run_bar() -> tuple[gr.Button, gr.Button, gr.Markdown]:
    """Run, Cancel and the run's progress in one row, right above the results (the page scrolls here on Run)."""
    with gr.Row(equal_height=True, elem_id="run-bar"):
        run_button = gr.Button("Run comparison", variant="primary", scale=1, min_width=180, elem_id="run")
        cancel_button = gr.Button("Cancel", variant="stop", interactive=False, scale=0, min_width=110, elem_id="cancel")
        progress = gr.Markdown("", min_height=64, container=True, elem_id="run-progress")
    return run_button, cancel_button, progress


def build_results() -> ResultsArea:
    """Status, a slot per model, the free comparison and zoom, gallery, table, plot and downloads."""
    status = gr.Markdown(elem_id="status")
    results_state = gr.State(None)
    gr.Markdown("### Before / after")
    slots = []
    with gr.Row(equal_height=False, elem_id="slots"):  # laid out as a grid of equal tiles (app.PAGE_CSS)
        for index in range(MAX_MODELS):
            with gr.Column(visible=False, min_width=300, elem_id=f"slot-{index}") as column:
                header = gr.Markdown()
                slider = gr.ImageSlider(type="numpy", format="png", label="input ◀ ▶ output", elem_id=f"slider-{index}")
                error = gr.Markdown(visible=False, elem_id=f"error-{index}")
            slots.append(Slot(column, header, slider, error))
    with gr.Accordion("Free comparison and synced zoom", open=True):
        with gr.Row():
            pick_a = gr.Dropdown(label="Left", choices=[], elem_id="pick-a")
            pick_b = gr.Dropdown(label="Right", choices=[], elem_id="pick-b")
        free_slider = gr.ImageSlider(type="numpy", format="png", label="Free comparison", elem_id="free-slider")
        viewer = build_viewer()
    gallery = gr.Gallery(label="All outputs", columns=4, height="auto", format="png", elem_id="gallery")
    table_label = "Latency and quality (↑ / ↓: which way is better; sort from a column's menu)"
    empty = ["model", *COMPACT_TIMING, "error"]  # headers before the first run (Gradio would show 1 2 3)
    table = gr.Dataframe(headers=empty, label=table_label, interactive=False, wrap=True, elem_id="results-table")
    table_all = gr.Dataframe(
        headers=empty,
        label=f"{table_label}, every column (Δ vs input: a no-reference score minus the input's at the output's size,"
        " upscaled by bicubic, so bicubic's own Δ is 0)",
        interactive=False,
        wrap=True,
        visible=False,
        elem_id="results-table-all",
    )
    with gr.Row(equal_height=False):
        all_columns = gr.Checkbox(False, label="All columns", scale=0, min_width=140, elem_id="all-columns")
        table_note = gr.Markdown(elem_id="table-note")
    plot_metric = gr.Dropdown(label="Quality axis of the plot", choices=[], elem_id="plot-metric")
    plot = gr.HTML("", label="Quality vs latency", show_label=True, container=True, js_on_load=None, elem_id="plot")
    with gr.Row():
        fmt = gr.Radio(FORMAT_CHOICES, value=FORMAT_CHOICES[0], label="Output format")
        csv_button = gr.DownloadButton("Download table (CSV)", value=None, elem_id="download-csv")
        zip_button = gr.DownloadButton("Download everything (zip)", value=None, elem_id="download-zip")
        report_button = gr.DownloadButton(
            "Download report (HTML)", value=None, interactive=False, elem_id="download-report"
        )
    files = gr.File(label="Outputs", file_count="multiple", interactive=False, elem_id="output-files")
    return ResultsArea(
        status=status,
        results_state=results_state,
        slots=tuple(slots),
        pick_a=pick_a,
        pick_b=pick_b,
        free_slider=free_slider,
        viewer=viewer,
        gallery=gallery,
        table=table,
        table_all=table_all,
        all_columns=all_columns,
        table_note=table_note,
        plot_metric=plot_metric,
        plot=plot,
        fmt=fmt,
        csv_button=csv_button,
        zip_button=zip_button,
        report_button=report_button,
        files=files,
    )
