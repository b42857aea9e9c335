"""The Compare tab: lay it out, then bind the handlers to its events (every api_name lives here)."""

from __future__ import annotations

from functools import partial

from studio.services import Services
from studio.ui.compare import handlers, send
from studio.ui.compare.layout import FormArea, ResultsArea, build_form, build_results
from studio.ui.compare.picker import wire_picker
from studio.ui.compare.request_form import request_from_form
from studio.ui.models_tab import model_states


def build_compare_tab(services: Services) -> tuple[FormArea, ResultsArea]:
    states = model_states(services)
    form = build_form(services, states)
    area = build_results()
    send_button, send_message = send.build_send_row()
    request = form.request
    wire_picker(form.picker, services, form)

    request.upload.change(partial(handlers.show_input, services), request.upload, form.shown, api_name="preview")
    request.mode.change(
        handlers.on_mode,
        [request.mode, request.metrics],
        [form.degrade_box, request.ground_truth, request.metrics],
        api_name="reference_mode",
    )
    blur_controls = [request.blur, request.sigma, request.length, request.angle]
    for control in blur_controls:
        control.change(handlers.kernel_picture, blur_controls, form.kernel, api_name="kernel")
    for group in request.model_groups:
        group.change(
            partial(handlers.describe, services, states),
            list(request.model_groups),
            form.details,
            api_name="model_details",
        )

    # Run: first the form becomes one checked CompareRequest (one dict of values in), then the engine runs it.
    build_event = form.run_button.click(
        partial(request_from_form, services.registry, request),
        request.inputs(),
        form.request_state,
        api_name="build_request",
        show_progress="hidden",
    )
    run_event = build_event.success(
        partial(handlers.run, services),
        [form.request_state, request.upload, request.ground_truth, area.fmt],
        area.run_outputs(),
        api_name="run",
        concurrency_limit=1,
        concurrency_id="models",
    )
    zoom_inputs = [area.results_state, area.zoom_x, area.zoom_y, area.zoom_size]
    run_event.then(handlers.zoom_view, zoom_inputs, area.zoom, api_name="zoom_after_run")
    for control in (area.pick_a, area.pick_b):
        control.change(
            handlers.free, [area.results_state, area.pick_a, area.pick_b], area.free_slider, api_name="free_compare"
        )
    for control in (area.zoom_x, area.zoom_y, area.zoom_size):
        control.release(handlers.zoom_view, zoom_inputs, area.zoom, api_name="zoom")
    area.plot_metric.change(handlers.plot_view, [area.results_state, area.plot_metric], area.plot, api_name="plot")
    area.fmt.change(
        handlers.export,
        [area.results_state, area.fmt],
        [area.files, area.csv_button, area.zip_button],
        api_name="export",
    )
    send_button.click(
        partial(send.send_to_arena, services),
        [area.results_state, request.upload],
        send_message,
        api_name="send_to_arena",
    )
    return form, area
