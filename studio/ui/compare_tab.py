"""The Compare tab: upload, choose models and metrics, run, and read sliders, table and plot."""

from __future__ import annotations

from typing import Any

import gradio as gr
import numpy as np

from studio.core.config import PROJECT_DIR
from studio.core.degrade import Recipe
from studio.core.errors import StudioError
from studio.core.media import DecodedImage, decode
from studio.engine.compare import iterate
from studio.engine.export import results_frame
from studio.engine.request import MAX_MODELS, CompareRequest
from studio.engine.results import Results
from studio.metrics import DEFAULT_WITH_REFERENCE, DEFAULT_WITHOUT_REFERENCE, METRICS
from studio.services import Services
from studio.ui import views
from studio.ui.downloads import write_run_files
from studio.ui.models_tab import model_states

TASK_ORDER = ("super-resolution", "denoise", "deblur", "sharpen", "contrast", "restore")
MODES = ("none", "synthetic degradation", "ground truth upload")


def load_upload(path: str | None, services: Services, what: str = "an image") -> DecodedImage:
    """Decode an upload with our own limits and one-line errors (never Gradio's PIL path)."""
    if not path:
        raise gr.Error(f"Upload {what} first.")
    try:
        return decode(path, services.settings.max_pixels)
    except StudioError as exc:
        raise gr.Error(str(exc)) from None


def build_recipe(scale, blur, sigma, length, angle, noise, jpeg, seed) -> Recipe:
    recipe = Recipe(
        scale=int(scale),
        blur=None if blur == "none" else blur,
        blur_sigma=float(sigma),
        motion_length=float(length),
        motion_angle=float(angle),
        noise=float(noise),
        jpeg=int(jpeg) or None,
        seed=int(seed or 0),
    )
    try:
        recipe.check()
    except StudioError as exc:
        raise gr.Error(str(exc)) from None
    return recipe


def kernel_picture(blur, sigma, length, angle) -> np.ndarray | None:
    kernel = build_recipe(1, blur, sigma, length, angle, 0, 0, 0).kernel()
    if kernel is None:
        return None
    picture = (kernel / kernel.max() * 255).astype(np.uint8)
    picture = np.kron(picture, np.ones((8, 8), np.uint8))
    return np.repeat(picture[..., None], 3, axis=2)


def _slot_updates(results: Results | None) -> list[Any]:
    """Header, slider and error box for each of the MAX_MODELS result slots."""
    updates: list[Any] = []
    rows = results.rows if results else []
    for index in range(MAX_MODELS):
        if index >= len(rows):
            updates += [gr.update(visible=False), gr.update(), gr.update(value=None), gr.update(visible=False)]
            continue
        row = rows[index]
        if row.ok:
            width, height = row.output.size
            header = f"**{row.name}** · {width}x{height} · {row.latency_ms:.0f} ms · {row.backend} {row.precision}"
            pair = views.before_after(results, row)
            updates += [
                gr.update(visible=True),
                header,
                gr.update(value=pair, label=f"input ◀ ▶ {row.model_id}"),
                gr.update(visible=False),
            ]
        else:
            updates += [
                gr.update(visible=True),
                f"**{row.name or row.model_id}** · failed",
                gr.update(value=None),
                gr.update(value=f"⚠️ {row.error}", visible=True),
            ]
    return updates


def build_compare_tab(services: Services) -> None:
    states = model_states(services)
    choosable = set(views.selectable(states))
    defaults_ref = [m for m in DEFAULT_WITH_REFERENCE if m in METRICS]
    defaults_noref = list(DEFAULT_WITHOUT_REFERENCE)
    metric_choices = []
    for spec in METRICS.values():
        reason = spec.availability(services.loader.store)
        metric_choices.append((f"{spec.label}{f' (unavailable: {reason})' if reason else ''}", spec.id))

    with gr.Row(equal_height=False):
        with gr.Column(scale=2, min_width=320):
            upload = gr.File(
                label="Image (PNG, JPEG, WebP, BMP, TIFF)", file_types=["image"], type="filepath", elem_id="upload"
            )
            shown = gr.Image(label="Input", interactive=False, height=220, elem_id="input-preview")
            examples = sorted(str(p) for p in (PROJECT_DIR / "assets").glob("*") if p.suffix in (".png", ".jpg"))
            if examples:
                gr.Examples(examples=[[e] for e in examples], inputs=[upload], label="Examples")
            with gr.Row():
                preview_on = gr.Checkbox(value=True, label="Limit the long side first (fast preview)")
                preview = gr.Slider(128, 2048, value=512, step=64, label="Long side (px)")
            with gr.Accordion("Reference, metrics & runtime", open=False):
                mode = gr.Radio(
                    list(MODES),
                    value="none",
                    label="Reference",
                    elem_id="reference-mode",
                    info="Degrade a sharp image with known steps, or upload the ground truth, "
                    "to get full-reference scores (PSNR, SSIM, LPIPS).",
                )
                with gr.Group(visible=False) as degrade_box:
                    with gr.Row():
                        scale = gr.Dropdown([1, 2, 3, 4], value=4, label="Downscale x")
                        blur = gr.Radio(["none", "gauss", "motion"], value="none", label="Blur")
                    with gr.Row():
                        sigma = gr.Slider(0.3, 5, value=1.2, step=0.1, label="Gaussian sigma")
                        length = gr.Slider(3, 41, value=9, step=1, label="Motion length")
                        angle = gr.Slider(-90, 90, value=0, step=1, label="Motion angle")
                    with gr.Row():
                        noise = gr.Slider(0, 50, value=0, step=0.5, label="Noise sigma")
                        jpeg = gr.Slider(0, 100, value=0, step=1, label="JPEG quality (0 = off)")
                        seed = gr.Number(value=0, precision=0, label="Seed")
                    kernel = gr.Image(label="Blur kernel", interactive=False, height=120, elem_id="kernel")
                ground_truth = gr.File(label="Ground truth image", file_types=["image"], type="filepath", visible=False)
                metrics = gr.CheckboxGroup(metric_choices, value=defaults_noref, label="Metrics", elem_id="metrics")
                with gr.Row():
                    backend = gr.Dropdown(
                        ["auto", "ncnn", "torch", "onnx"],
                        value="auto",
                        label="Backend",
                        info="for models that offer several forms",
                    )
                    precision = gr.Dropdown(
                        ["auto", "fp32", "bf16", "fp16"],
                        value="auto",
                        label="Precision",
                        info="auto: bf16 on CPUs with it, fp16 on GPUs",
                    )
        with gr.Column(scale=3, min_width=360):
            gr.Markdown(f"### Models (up to {MAX_MODELS})")
            groups = []
            for task in TASK_ORDER:
                specs = [s for s in services.registry.by_task(task) if s.id in choosable]
                if specs:
                    choices = [(views.model_label(s, states[s.id]), s.id) for s in specs]
                    default = ["lanczos-x4", "realesr-animevideov3-x4"] if task == "super-resolution" else []
                    groups.append(
                        gr.Dropdown(
                            choices,
                            value=[d for d in default if d in choosable],
                            multiselect=True,
                            label=f"{task.replace('-', ' ').capitalize()} ({len(choices)} models)",
                            elem_id=f"models-{task}",
                        )
                    )
            details = gr.Markdown(elem_id="model-details")
            params_state = gr.State({})
            with gr.Accordion("Model parameters", open=False):

                @gr.render(inputs=groups)
                def parameter_controls(*chosen):
                    selected = [m for group in chosen for m in (group or [])]
                    tunable = [services.registry.get(m) for m in selected if services.registry.get(m).params]
                    if not tunable:
                        gr.Markdown("The chosen models have no tunable parameters.")
                    for spec in tunable:
                        gr.Markdown(f"**{spec.name}**")
                        for name, param in spec.params.items():
                            label, key = f"{name}", f"{spec.id}.{name}"
                            if param.type in ("float", "int") and param.min is not None and param.max is not None:
                                control = gr.Slider(
                                    param.min,
                                    param.max,
                                    value=param.default,
                                    step=param.step or (1 if param.type == "int" else 0.01),
                                    label=label,
                                    info=param.help,
                                    key=key,
                                    interactive=True,
                                )
                            elif param.type == "bool":
                                control = gr.Checkbox(
                                    value=param.default, label=label, info=param.help, key=key, interactive=True
                                )
                            elif param.type == "choice":
                                control = gr.Dropdown(
                                    list(param.choices), value=param.default, label=label, key=key, interactive=True
                                )
                            else:
                                control = gr.Number(
                                    value=param.default, label=label, info=param.help, key=key, interactive=True
                                )

                            def remember(value, current, model_id=spec.id, param_name=name):
                                return {**current, model_id: {**current.get(model_id, {}), param_name: value}}

                            control.change(remember, [control, params_state], params_state, api_name="set_param")

            run_button = gr.Button("Run comparison", variant="primary", elem_id="run")

    status = gr.Markdown(elem_id="status")
    results_state = gr.State(None)
    gr.Markdown("### Before / after")
    slots: list[Any] = []
    with gr.Row(equal_height=False):
        for index in range(MAX_MODELS):
            with gr.Column(visible=False, min_width=300, elem_id=f"slot-{index}") as column:
                header = gr.Markdown()
                slider = gr.ImageSlider(type="numpy", label="input ◀ ▶ output", elem_id=f"slider-{index}")
                error = gr.Markdown(visible=False, elem_id=f"error-{index}")
            slots += [column, header, slider, error]

    with gr.Accordion("Free comparison and 100 % zoom", open=True):
        with gr.Row():
            pick_a = gr.Dropdown(label="Left", choices=[], elem_id="pick-a")
            pick_b = gr.Dropdown(label="Right", choices=[], elem_id="pick-b")
        free_slider = gr.ImageSlider(type="numpy", label="Free comparison", elem_id="free-slider")
        with gr.Row():
            zoom_x = gr.Slider(0, 1, value=0.5, step=0.01, label="Crop centre x")
            zoom_y = gr.Slider(0, 1, value=0.5, step=0.01, label="Crop centre y")
            zoom_size = gr.Slider(32, 512, value=128, step=16, label="Crop size (px of the largest image)")
        zoom = gr.Gallery(label="Same crop on every image, 100 %", columns=4, height="auto", elem_id="zoom")
    gallery = gr.Gallery(label="All outputs", columns=4, height="auto", elem_id="gallery")
    table = gr.Dataframe(
        label="Latency and quality (↑ / ↓: which way is better)", interactive=False, wrap=True, elem_id="results-table"
    )
    with gr.Row():
        plot_metric = gr.Dropdown(label="Quality axis", choices=[], scale=1)
        plot = gr.ScatterPlot(
            x="latency ms", y="quality", color="model", title="Quality vs latency", scale=3, elem_id="plot"
        )
    with gr.Row():
        fmt = gr.Radio(["png", "jpeg", "webp"], value="png", label="Output format")
        csv_button = gr.DownloadButton("Download table (CSV)", value=None, elem_id="download-csv")
        zip_button = gr.DownloadButton("Download everything (zip)", value=None, elem_id="download-zip")
    files = gr.File(label="Outputs", file_count="multiple", interactive=False, elem_id="output-files")

    # ---- handlers -----------------------------------------------------------------------------
    def show_input(path):
        return load_upload(path, services).rgb if path else None

    def on_mode(choice, current):
        with_ref = choice != "none"
        chosen = [m for m in current if m in METRICS]
        if with_ref and not any(METRICS[m].kind == "full-reference" for m in chosen):
            chosen = defaults_ref
        return gr.update(visible=choice == MODES[1]), gr.update(visible=choice == MODES[2]), chosen

    def describe(*chosen):
        return views.model_details(services.registry, [m for g in chosen for m in (g or [])], states)

    def run(
        path,
        preview_limited,
        long_side,
        choice,
        scale_v,
        blur_v,
        sigma_v,
        length_v,
        angle_v,
        noise_v,
        jpeg_v,
        seed_v,
        truth_path,
        metric_ids,
        params,
        backend_choice,
        precision_choice,
        fmt_choice,
        *chosen,
        progress=gr.Progress(),  # noqa: B008 - Gradio injects progress through this default
    ):
        image = load_upload(path, services)
        model_ids = [m for group in chosen for m in (group or [])]
        recipe = (
            build_recipe(scale_v, blur_v, sigma_v, length_v, angle_v, noise_v, jpeg_v, seed_v)
            if (choice == MODES[1])
            else None
        )
        reference = load_upload(truth_path, services, "a ground-truth image") if choice == MODES[2] else None
        try:
            request = CompareRequest.build(
                services.registry,
                model_ids,
                metrics=list(metric_ids or []),
                degrade=recipe,
                with_reference=reference is not None,
                preview=int(long_side) if preview_limited else None,
                backend=backend_choice,
                precision=precision_choice,
                params={m: v for m, v in (params or {}).items() if m in model_ids},
                max_models=MAX_MODELS,
            )
        except StudioError as exc:
            raise gr.Error(str(exc)) from None
        stream = iterate(
            request, image, services.registry, services.loader, reference, on_progress=lambda f, m: progress(f, desc=m)
        )
        try:
            for results in stream:
                yield _view(results, final=False)
        except StudioError as exc:
            raise gr.Error(str(exc)) from None
        yield _view(results, final=True, fmt_value=fmt_choice or "png")

    def _view(results: Results, final: bool, fmt_value: str = "png"):
        names = list(views.image_choices(results))
        quality = views.quality_metric_ids(results)
        outputs = [views.status_text(results), results]
        outputs += _slot_updates(results)
        outputs += [
            results_frame(results),
            [(row.output.rgb, row.model_id) for row in results.rows if row.ok],
            gr.update(choices=names, value=names[0]),
            gr.update(choices=names, value=names[-1]),
            gr.update(choices=quality, value=quality[0] if quality else None),
            views.plot_frame(results, quality[0] if quality else None),
        ]
        if final:
            output_files, csv_path, zip_path = write_run_files(results, fmt_value)
            outputs += [output_files, csv_path, zip_path]
        else:
            outputs += [gr.update(), gr.update(), gr.update()]
        return outputs

    def free(results, left, right):
        pair = views.free_pair(results, left, right) if results else None
        return pair

    def zoom_view(results, x, y, size):
        return views.crops(results, x, y, int(size)) if results else []

    def plot_view(results, metric_id):
        return views.plot_frame(results, metric_id) if results else None

    def export(results, fmt_value):
        if not results or not results.rows:
            return gr.update(), gr.update(), gr.update()
        return write_run_files(results, fmt_value)

    # ---- wiring -------------------------------------------------------------------------------
    upload.change(show_input, upload, shown, api_name="preview")
    mode.change(on_mode, [mode, metrics], [degrade_box, ground_truth, metrics], api_name="reference_mode")
    for control in (blur, sigma, length, angle):
        control.change(kernel_picture, [blur, sigma, length, angle], kernel, api_name="kernel")
    for group in groups:
        group.change(describe, groups, details, api_name="model_details")
    run_inputs = [
        upload,
        preview_on,
        preview,
        mode,
        scale,
        blur,
        sigma,
        length,
        angle,
        noise,
        jpeg,
        seed,
        ground_truth,
        metrics,
        params_state,
        backend,
        precision,
        fmt,
        *groups,
    ]
    run_outputs = [
        status,
        results_state,
        *slots,
        table,
        gallery,
        pick_a,
        pick_b,
        plot_metric,
        plot,
        files,
        csv_button,
        zip_button,
    ]
    run_event = run_button.click(
        run, run_inputs, run_outputs, api_name="run", concurrency_limit=1, concurrency_id="models"
    )
    run_event.then(zoom_view, [results_state, zoom_x, zoom_y, zoom_size], zoom, api_name="zoom_after_run")
    for control in (pick_a, pick_b):
        control.change(free, [results_state, pick_a, pick_b], free_slider, api_name="free_compare")
    for control in (zoom_x, zoom_y, zoom_size):
        control.release(zoom_view, [results_state, zoom_x, zoom_y, zoom_size], zoom, api_name="zoom")
    plot_metric.change(plot_view, [results_state, plot_metric], plot, api_name="plot")
    fmt.change(export, [results_state, fmt], [files, csv_button, zip_button], api_name="export")
