"""The Compare tab: lay it out, then bind the handlers to its events (every api_name lives here)."""

from __future__ import annotations

from functools import partial

import gradio as gr

from studio.core.ratelimit import RUNS
from studio.engine.request import CompareRequest
from studio.engine.results import Results
from studio.services import Services
from studio.ui.compare import handlers, send
from studio.ui.compare.examples import wire_examples
from studio.ui.compare.layout import FormArea, ResultsArea, build_form, build_results
from studio.ui.compare.picker import refresh_after, wire_picker
from studio.ui.compare.request_form import request_from_form
from studio.ui.compare.runs import StopFlags
from studio.ui.limits import check_request
from studio.ui.models_tab import model_states
from studio.ui.zerogpu import compare_run_duration, on_gpu

# On Run: bring the run bar (Run, Cancel, progress) to the top of the window, the results right under it.
SCROLL_TO_RESULTS = "() => { document.getElementById('run-bar')?.scrollIntoView({block: 'start'}); }"


def build_compare_tab(services: Services) -> tuple[FormArea, ResultsArea]:
    states = model_states(services)
    form = build_form(services, states)
    area = build_results()
    send_button, send_message = send.build_send_row()
    request = form.request
    wire_picker(form.picker, services, form)
    wire_examples(services, form, area)  # after the picker: a click fills its lists, and shows stored results

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
    request.blur.change(
        handlers.blur_controls, request.blur, [request.sigma, request.length, request.angle], api_name="blur_controls"
    )
    for group in request.model_groups:
        group.change(
            partial(handlers.describe, services),
            list(request.model_groups),
            form.details,
            api_name="model_details",
        )

    run_event = _wire_run(services, form, area)
    refresh_after(form.picker, services, form, run_event)  # the speed book has just learned new speeds
    for control in (area.pick_a, area.pick_b):
        control.change(  # no overlay: during a run the picks change with every finished model
            handlers.free,
            [area.results_state, area.pick_a, area.pick_b],
            area.free_slider,
            api_name="free_compare",
            show_progress="hidden",
        )
    area.plot_metric.change(handlers.plot_view, [area.results_state, area.plot_metric], area.plot, api_name="plot")
    area.all_columns.change(
        handlers.columns_view, area.all_columns, [area.table, area.table_all], api_name="all_columns", queue=False
    )
    area.fmt.change(
        handlers.export,
        [area.results_state, area.fmt, request.upload, request.ground_truth],
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


def _wire_run(services: Services, form: FormArea, area: ResultsArea):
    """Run: lock the buttons, build one checked CompareRequest from the form, run it, unlock (however it ended).

    Progress (queue position, ETA, the engine's per-model and per-tile steps) shows only in the run
    bar's progress box: the finished slots, table and plot stay visible and usable during the run.
    Cancel sets the session's stop flag (runs.py); the run then ends normally with what finished.
    """
    flags = StopFlags()
    request = form.request
    buttons = [form.run_button, form.cancel_button]
    run_models = on_gpu(partial(handlers.run, services, flags), compare_run_duration(services))  # ZeroGPU: a GPU

    def start(http: gr.Request):
        return handlers.start_run(flags, http.session_hash)

    def run(
        built: CompareRequest | None,
        image_path: str | None,
        reference_path: str | None,
        fmt: str | None,
        http: gr.Request,
        progress=gr.Progress(),  # noqa: B008 - Gradio injects progress through this default
    ):
        session = http.session_hash
        try:
            check_request(services, RUNS, http)  # over the limit: refused before anything is decoded
            yield from run_models(built, image_path, reference_path, fmt, session, progress)
        except gr.Error as exc:
            flags.refused(http.session_hash or "", str(exc.message))
            raise

    def build(values: dict, http: gr.Request) -> CompareRequest:
        try:
            return request_from_form(services, request, values)
        except gr.Error as exc:
            flags.refused(http.session_hash or "", str(exc.message))
            raise

    def finish(results: Results | None, http: gr.Request):
        return handlers.finish_run(flags, http.session_hash, results)

    def finish_failed(http: gr.Request):
        return handlers.finish_run(flags, http.session_hash, None)

    def cancel(http: gr.Request):
        return handlers.cancel_run(flags, http.session_hash)

    start_event = form.run_button.click(
        start, None, buttons, js=SCROLL_TO_RESULTS, api_name=False, show_progress="hidden", queue=False
    )
    # first the form becomes one checked CompareRequest (one dict of values in), then the engine runs it
    build_event = start_event.then(
        build,
        request.inputs(),
        form.request_state,
        api_name="build_request",
        show_progress="hidden",
    )
    run_event = build_event.success(
        run,
        [form.request_state, request.upload, request.ground_truth, area.fmt],
        area.run_outputs(),
        api_name="run",
        concurrency_limit="default",  # the queue's; engine/slot.py runs one model at a time
        concurrency_id="models",
        show_progress="full",
        show_progress_on=[form.progress],
    )
    ended = [*buttons, form.progress]
    quiet = {"api_name": False, "show_progress": "hidden", "queue": False}
    build_event.failure(finish_failed, None, ended, **quiet)  # refused: nothing ran
    run_event.success(finish, [area.results_state], ended, **quiet)  # done or cancelled
    run_event.failure(finish_failed, None, ended, **quiet)  # an error: its message says why
    form.cancel_button.click(cancel, None, form.cancel_button, api_name="cancel", show_progress="hidden", queue=False)
    return run_event
