"""The Compare tab's event handlers: plain functions from values to values.

They decode uploads with our own limits, call the engine, and turn Results into
component updates through views.py (pure view logic). wiring.py binds them to
components; `services` (and other fixed arguments) come first so they can be bound with
functools.partial.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np

from studio.core.errors import ServerFaultError, StudioError
from studio.core.media import DecodedImage, decode
from studio.engine.compare import iterate
from studio.engine.export import format_for
from studio.engine.request import MAX_MODELS, CompareRequest
from studio.engine.results import Results
from studio.metrics import DEFAULT_WITH_REFERENCE, FULL_REFERENCE, METRICS
from studio.models.backends.devices import device_label
from studio.services import Services
from studio.ui import views
from studio.ui.choices import GROUND_TRUTH, NO_REFERENCE, SYNTHETIC
from studio.ui.compare import table
from studio.ui.compare.plot import plot_html
from studio.ui.compare.progress import Eta, named_progress, predicted_seconds
from studio.ui.compare.request_form import build_recipe
from studio.ui.compare.runs import StopFlags
from studio.ui.compare.viewer import cache_folder, png_path, viewer_update
from studio.ui.downloads import write_report_file, write_run_files
from studio.ui.faults import fault_message, log_fault
from studio.ui.models_tab import model_states
from studio.ui.run_guard import RunGuard


def load_upload(path: str | None, services: Services, what: str = "an image") -> DecodedImage:
    """Decode an upload with our own limits and one-line errors (never Gradio's PIL path)."""
    if not path:
        raise gr.Error(f"Upload {what} first.")
    try:
        return decode(path, services.settings.max_pixels)
    except StudioError as exc:
        raise gr.Error(str(exc)) from None


def show_input(services: Services, path: str | None) -> np.ndarray | None:
    return load_upload(path, services).rgb if path else None


def on_mode(choice: str, current: list[str]) -> tuple[Any, Any, list[str]]:
    """Show the controls of the chosen reference mode; pick full-reference metrics when there are none."""
    chosen = [m for m in current if m in METRICS]
    if choice != NO_REFERENCE and not any(METRICS[m].kind == FULL_REFERENCE for m in chosen):
        chosen = [m for m in DEFAULT_WITH_REFERENCE if m in METRICS]
    return gr.update(visible=choice == SYNTHETIC), gr.update(visible=choice == GROUND_TRUTH), chosen


def blur_controls(blur: str) -> tuple[Any, Any, Any]:
    """Sigma for a Gaussian blur, length and angle for a motion blur, nothing without blur."""
    return gr.update(visible=blur == "gauss"), gr.update(visible=blur == "motion"), gr.update(visible=blur == "motion")


def describe(services: Services, *chosen: list[str] | None) -> str:
    """The chosen models' details, with their weights' state now (not when the page was built: the start-up
    prefetch or a run may have downloaded them since)."""
    return views.model_details(
        services.registry, [m for group in chosen for m in (group or [])], model_states(services)
    )


def kernel_picture(blur, sigma, length, angle) -> np.ndarray | None:
    """The blur kernel, enlarged 8x, as an image (None without blur)."""
    kernel = build_recipe(1, blur, sigma, length, angle, 0, 0, 0).kernel()
    if kernel is None:
        return None
    picture = (kernel / kernel.max() * 255).astype(np.uint8)
    picture = np.kron(picture, np.ones((8, 8), np.uint8))
    return np.repeat(picture[..., None], 3, axis=2)


def start_run(flags: StopFlags, session: str | None) -> tuple[Any, Any]:
    """Run pressed: the session gets a fresh stop flag, Run is disabled and Cancel enabled until finish_run."""
    flags.arm(session or "")
    return gr.update(interactive=False), gr.update(value="Cancel", interactive=True)


def cancel_run(flags: StopFlags, session: str | None) -> Any:
    """Cancel pressed: the run stops after the current tile and keeps what finished (see runs.py)."""
    stopping = flags.stop(session or "")
    return gr.update(value="Cancelling… (after this tile)" if stopping else "Cancel", interactive=False)


def finish_run(flags: StopFlags, session: str | None, results: Results | None) -> tuple[Any, Any, str]:
    """The run ended (done, cancelled, or refused or failed when `results` is None): Run is enabled again,
    and the progress box says how it ended."""
    flags.forget(session or "")
    reason = flags.take_reason(session or "") if results is None else None
    return gr.update(interactive=True), gr.update(value="Cancel", interactive=False), ended_text(results, reason)


def ended_text(results: Results | None, reason: str | None = None) -> str:
    if results is None:
        return f"⚠️ Not run: {reason}" if reason else "Not run: see the message."
    done = sum(row.ok for row in results.rows)
    seconds = sum(row.load_ms + row.first_ms + (row.warm_ms or 0) for row in results.rows) / 1000
    if results.cancelled:
        return f"**{results.cancelled[0].upper()}{results.cancelled[1:]}**: {done} result(s) kept."
    failed = len(results.rows) - done
    failures = f"; {failed} failed" if failed else ""
    return f"Done: {done} of {len(results.rows)} model(s) ran ({seconds:.1f} s loading and running){failures}."


def run(
    services: Services,
    flags: StopFlags,
    request: CompareRequest | None,
    image_path: str | None,
    reference_path: str | None,
    fmt: str | None,
    session: str | None,
    progress: Callable[..., Any],
) -> Iterator[list[Any]]:
    """Run a built request on the uploads, yielding the page after each model; the last view has the files.

    A Cancel (the session's stop flag), the page going away or the server's time limit (run_guard.py) ends the
    engine's run early; the last view then holds what finished.
    """
    if request is None:
        raise gr.Error("No comparison to run: press Run comparison (the build_request step) first.")
    image = load_upload(image_path, services)
    reference = load_upload(reference_path, services, "a ground-truth image") if request.with_reference else None
    guard = RunGuard.start(services, flags.flag(session or ""))
    predicted = predicted_seconds(services, request, *image.size)
    eta = Eta(predicted)
    stream = iterate(
        request,
        image,
        services.registry,
        services.loader,
        reference,
        on_progress=named_progress(services.registry, request.model_ids, progress, eta),
        should_stop=guard.should_stop,
        source=Path(image_path).name,
        reference_source=Path(reference_path).name if reference_path else None,
        time_limit=guard.limit,
        predicted_s=dict(zip(request.model_ids, predicted, strict=True)),
    )
    results = None
    try:
        for results in stream:
            if results.cancelled:  # the engine's last step: said here, since Gradio asks no more of a gone caller
                guard.log_end("run", results.cancelled)
                if guard.gone():
                    return  # no page to draw
            yield results_view(results, final=False, origin=views.LIVE)
    except StudioError as exc:
        raise gr.Error(str(exc)) from None
    services.speed.record(results)  # the next predictions learn from this run
    report = report_file(services, results)
    warn_png_fallback(results, fmt or "png")
    files = {"fmt": fmt or "png", "source_file": image_path, "reference_file": reference_path, "report": report}
    yield results_view(results, final=True, origin=views.LIVE, **files)


def report_file(services: Services, results: Results) -> str | None:
    """The comparison's HTML report (with the ratings of its models when a ratings store exists), or None
    with a one-line warning when it cannot be written (the run's other results stand)."""
    try:
        return write_report_file(results, services.ratings_if_any)
    except ServerFaultError as exc:  # the ratings database: its text names the server's paths
        gr.Warning(f"The report could not be written: {fault_message(log_fault(exc, 'run'))}")
        return None
    except (StudioError, OSError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc).split("\n", 1)[0]
        gr.Warning(f"The report could not be written: {reason or type(exc).__name__}")
        return None


def png_file(rgb: np.ndarray) -> str:
    """A lossless PNG of `rgb`, written once and named by its content (shared with the zoom viewer's files).

    Every yield of a run shows every finished result again: as files that already exist, they cost a hash
    instead of a PNG encoding each, and the page keeps the same image addresses (nothing reloads).
    """
    return str(png_path(rgb, cache_folder()))


def slot_updates(results: Results | None) -> list[Any]:
    """Column, header, slider and error box for each of the MAX_MODELS result slots."""
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
            if row.device not in ("cpu", ""):  # which GPU: 'vulkan (NVIDIA GeForce RTX 4090)'
                header += f" {device_label(row.device, row.device_name)}"
            if row.fidelity_db is not None:  # a bf16/int8 form: how close its output is to fp32
                header += f" ({row.fidelity_db:.1f} dB from fp32)"
            if row.flag:
                header += f"  \n⚑ {row.flag}"
            before_after = tuple(png_file(image) for image in views.before_after(results, row))
            updates += [
                gr.update(visible=True),
                header,
                gr.update(value=before_after, label=f"input ◀ ▶ {row.name or row.model_id}", visible=True),
                gr.update(visible=False),
            ]
        else:
            updates += [
                gr.update(visible=True),
                f"**{row.name or row.model_id}** · failed",
                gr.update(value=None, visible=False),  # no empty picture box above the error
                gr.update(value=f"⚠️ {row.error}", visible=True),
            ]
    return updates


def table_updates(results: Results) -> list[Any]:
    """The compact table, the table with every column, and the note said once under them."""
    updates = []
    for full in (False, True):
        styled = table.styled_table(results, full)
        updates.append(gr.update(value=styled, datatype=table.datatypes(styled.data)))
    return [*updates, table.table_note(results)]


def metric_choices(results: Results) -> list[tuple[str, str]]:
    """(label, id) of the metrics the plot can show."""
    labels = {spec.id: spec.label for spec in results.metrics}
    return [(labels[metric_id], metric_id) for metric_id in views.quality_metric_ids(results)]


def results_view(
    results: Results,
    final: bool,
    fmt: str = "png",
    source_file: str | None = None,
    reference_file: str | None = None,
    report: str | None = None,
    origin: str | None = None,
) -> list[Any]:
    """Values for ResultsArea.run_outputs(): the files are written only once the run is final; `report` (the
    HTML report's path) enables Download report, which stays disabled while a run goes on. `origin` heads the
    status: a live run, or an example's precomputed results (studio/demo)."""
    names = [(label, key) for key, label in views.display_names(results).items()]
    quality = metric_choices(results)
    metric = quality[0][1] if quality else None
    outputs = [views.status_text(results, origin), results, *slot_updates(results), *table_updates(results)]
    outputs += [
        [(png_file(row.output.rgb), row.name or row.model_id) for row in results.rows if row.ok],
        gr.update(choices=names, value=names[0][1]),
        gr.update(choices=names, value=names[-1][1]),
        *viewer_update(results),
        gr.update(choices=quality, value=metric),
        plot_html(results, metric),
    ]
    if final:
        outputs += list(write_run_files(results, fmt, source_file, reference_file))  # the zip replays alone
        outputs.append(gr.update(value=report, interactive=report is not None))
    else:
        outputs += [gr.update(), gr.update(), gr.update(), gr.update(interactive=False)]
    return outputs


def free(results: Results | None, left: str, right: str):
    """The two picked images at one size, the slider labelled 'left ◀ ▶ right'; content-named PNGs (png_file), so the
    default pair, written by the run or an example's stored comparison, is found rather than encoded."""
    pair = views.free_pair(results, left, right) if results else None
    shown = tuple(png_file(image) for image in pair) if pair else None
    return gr.update(value=shown, label=views.pair_label(results, left, right)) if results else gr.update(value=None)


def plot_view(results: Results | None, metric_id: str | None) -> str:
    return plot_html(results, metric_id)


def columns_view(full: bool) -> tuple[Any, Any]:
    """'All columns' ticked: the table with every column instead of the compact one."""
    return gr.update(visible=not full), gr.update(visible=bool(full))


def export(results: Results | None, fmt: str, image_path: str | None = None, reference_path: str | None = None):
    if not results or not results.rows:
        return gr.update(), gr.update(), gr.update()
    warn_png_fallback(results, fmt)
    return write_run_files(results, fmt, image_path, reference_path)


def warn_png_fallback(results: Results, fmt: str) -> None:
    """Say which downloads are PNG although `fmt` was chosen: outputs wider or taller than a `fmt` file holds
    (WebP: 16383 px) are written as PNG rather than lost (export.format_for)."""
    too_large = [
        f"{row.model_id} ({row.output.size[0]}x{row.output.size[1]})"
        for row in results.rows
        if row.ok and format_for(row.output.size, fmt) != fmt
    ]
    if too_large:
        gr.Warning(f"Too large for {fmt.upper()}, so downloadable as PNG: {', '.join(too_large)}.")
