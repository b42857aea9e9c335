"""A plain API endpoint for gradio_client: one call with a file and model ids.

client.predict(handle_file("photo.jpg"), ["lanczos-x4", "realesr-animevideov3-x4"],
               ["psnr_y", "sharpness"], "x4", None, 512, "{}", api_name="/compare")
-> (gallery of outputs, table, results JSON)

backend, precision and device follow (default "auto"); device came last and may be left out even over plain
HTTP (studio.ui.inputs.optional_input), so callers written before it keep working.

Like the page's run, it is refused up front when it would exceed STUDIO_RUN_BUDGET_S or its time limit's reach,
and stops at the engine's next stop point when STUDIO_RUN_TIMEOUT_S is used up (returning the models that
finished, with a warning; an error when none did) or when its caller goes away (run_guard.py).
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import gradio as gr

from studio.core.errors import StudioError
from studio.core.media import decode
from studio.core.ratelimit import RUNS
from studio.engine.compare import run as compare_run
from studio.engine.export import results_frame, results_json
from studio.engine.request import MAX_MODELS, CompareRequest
from studio.services import Services
from studio.ui.choices import AUTO, BACKEND_CHOICES, DEVICE_CHOICES, METRIC_IDS, PRECISION_CHOICES
from studio.ui.compare.progress import predicted_seconds
from studio.ui.compare.request_form import check_time
from studio.ui.inputs import optional_input, refuse_missing_inputs
from studio.ui.limits import check_request
from studio.ui.run_guard import RunGuard
from studio.ui.zerogpu import compare_api_duration, on_gpu


def api_request(
    services: Services, model_ids, metric_ids, degrade, reference_path, preview, params_json, backend, precision, device
) -> CompareRequest:
    """The request /compare runs, from its arguments (also what its ZeroGPU duration is estimated from)."""
    return CompareRequest.build(
        services.registry,
        model_ids,
        metrics=list(metric_ids) if metric_ids else None,
        degrade=degrade,
        with_reference=bool(reference_path),
        preview=preview,
        backend=backend,
        precision=precision,
        device=device,
        params=params_json,
        max_models=MAX_MODELS,
    )


def compare_api(
    services: Services,
    image_path,
    model_ids,
    metric_ids,
    degrade,
    reference_path,
    preview,
    params_json,
    backend=AUTO,
    precision=AUTO,
    device=AUTO,
):
    try:
        if not image_path:
            raise gr.Error("image is required")
        request = api_request(
            services, model_ids, metric_ids, degrade, reference_path, preview, params_json, backend, precision, device
        )
        image = decode(image_path, services.settings.max_pixels)
        reference = decode(reference_path, services.settings.max_pixels) if reference_path else None
        check_time(services, request, image.size)
        guard = RunGuard.start(services)
        predicted = predicted_seconds(services, request, *image.size)
        results = compare_run(
            request,
            image,
            services.registry,
            services.loader,
            reference,
            should_stop=guard.should_stop,
            source=Path(image_path).name,
            reference_source=Path(reference_path).name if reference_path else None,
            time_limit=guard.limit,
            predicted_s=dict(zip(request.model_ids, predicted, strict=True)),
        )
    except StudioError as exc:
        raise gr.Error(str(exc)) from None
    guard.log_end("compare", results.cancelled)
    if results.cancelled and not guard.gone():  # the time limit: say so (a caller that went away hears nothing)
        if not any(row.ok for row in results.rows):
            raise gr.Error(results.cancelled)
        gr.Warning(results.cancelled)
    gallery = [(row.output.rgb, row.model_id) for row in results.rows if row.ok]
    return gallery, results_frame(results), json.loads(results_json(results))


def build_api(services: Services) -> None:
    """Hidden components wired to `compare_api` under api_name='compare'; the app being built (every event of
    it) refuses a request short of values with one line naming the missing ones (studio.ui.inputs)."""
    if gr.context.Context.root_block is not None:
        refuse_missing_inputs(gr.context.Context.root_block)
    ids = [spec.id for spec in services.registry]
    with gr.Column(visible=False):
        image = gr.File(type="filepath", label="image")
        models = gr.Dropdown(choices=ids, multiselect=True, allow_custom_value=True, label="model ids")
        metrics = gr.Dropdown(choices=METRIC_IDS, multiselect=True, label="metric ids")
        degrade = gr.Textbox(label="degradation recipe, e.g. x4,blur=gauss:1.2")
        reference = gr.File(type="filepath", label="ground truth")
        preview = gr.Number(value=512, label="preview long side (0 = full size)")
        params = gr.Textbox(value="{}", label="per-model parameters as JSON")
        backend = gr.Dropdown(BACKEND_CHOICES, value=AUTO, label="backend")
        precision = gr.Dropdown(PRECISION_CHOICES, value=AUTO, label="precision")
        device = optional_input(gr.Dropdown(DEVICE_CHOICES, value=AUTO, label="device"))
        gallery = gr.Gallery(label="outputs", format="png")  # lossless: pixels equal the CLI's files
        table = gr.Dataframe(label="table")
        details = gr.JSON(label="results")
        trigger = gr.Button("compare")

    run_models = on_gpu(partial(compare_api, services), compare_api_duration(services))  # ZeroGPU: a GPU per call

    def limited_compare(
        image, models, metrics, degrade, reference, preview, params, backend, precision, device, request: gr.Request
    ):
        check_request(services, RUNS, request)
        return run_models(image, models, metrics, degrade, reference, preview, params, backend, precision, device)

    trigger.click(
        limited_compare,
        [image, models, metrics, degrade, reference, preview, params, backend, precision, device],
        [gallery, table, details],
        api_name="compare",
        concurrency_limit="default",  # the queue's; engine/slot.py runs one model at a time
        concurrency_id="models",
    )
