"""The Compare tab's event handlers: plain functions from values to values.

They decode uploads with our own limits, call the engine, and turn Results into
component updates through views.py (pure view logic). wiring.py binds them to
components; `services` (and other fixed arguments) come first so they can be bound with
functools.partial.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import gradio as gr
import numpy as np

from studio.core.errors import StudioError
from studio.core.media import DecodedImage, decode
from studio.engine.compare import iterate
from studio.engine.export import results_frame
from studio.engine.request import MAX_MODELS, CompareRequest
from studio.engine.results import Results
from studio.metrics import DEFAULT_WITH_REFERENCE, FULL_REFERENCE, METRICS
from studio.services import Services
from studio.ui import views
from studio.ui.choices import GROUND_TRUTH, NO_REFERENCE, SYNTHETIC
from studio.ui.compare.request_form import build_recipe
from studio.ui.downloads import write_run_files


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


def describe(services: Services, states: dict[str, str], *chosen: list[str] | None) -> str:
    return views.model_details(services.registry, [m for group in chosen for m in (group or [])], states)


def kernel_picture(blur, sigma, length, angle) -> np.ndarray | None:
    """The blur kernel, enlarged 8x, as an image (None without blur)."""
    kernel = build_recipe(1, blur, sigma, length, angle, 0, 0, 0).kernel()
    if kernel is None:
        return None
    picture = (kernel / kernel.max() * 255).astype(np.uint8)
    picture = np.kron(picture, np.ones((8, 8), np.uint8))
    return np.repeat(picture[..., None], 3, axis=2)


def run(
    services: Services,
    request: CompareRequest | None,
    image_path: str | None,
    reference_path: str | None,
    fmt: str | None,
    progress=gr.Progress(),  # noqa: B008 - Gradio injects progress through this default
) -> Iterator[list[Any]]:
    """Run a built request on the uploads, yielding the page after each model; the last view has the files."""
    if request is None:
        raise gr.Error("No comparison to run: press Run comparison (the build_request step) first.")
    image = load_upload(image_path, services)
    reference = load_upload(reference_path, services, "a ground-truth image") if request.with_reference else None
    stream = iterate(
        request, image, services.registry, services.loader, reference, on_progress=lambda f, m: progress(f, desc=m)
    )
    try:
        for results in stream:
            yield results_view(results, final=False)
    except StudioError as exc:
        raise gr.Error(str(exc)) from None
    yield results_view(results, final=True, fmt=fmt or "png")


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
            updates += [
                gr.update(visible=True),
                header,
                gr.update(value=views.before_after(results, row), label=f"input ◀ ▶ {row.model_id}"),
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


def results_view(results: Results, final: bool, fmt: str = "png") -> list[Any]:
    """Values for ResultsArea.run_outputs(): the files are written only once the run is final."""
    names = list(views.image_choices(results))
    quality = views.quality_metric_ids(results)
    outputs = [views.status_text(results), results, *slot_updates(results)]
    outputs += [
        results_frame(results),
        [(row.output.rgb, row.model_id) for row in results.rows if row.ok],
        gr.update(choices=names, value=names[0]),
        gr.update(choices=names, value=names[-1]),
        gr.update(choices=quality, value=quality[0] if quality else None),
        views.plot_frame(results, quality[0] if quality else None),
    ]
    if final:
        outputs += list(write_run_files(results, fmt))
    else:
        outputs += [gr.update(), gr.update(), gr.update()]
    return outputs


def free(results: Results | None, left: str, right: str):
    return views.free_pair(results, left, right) if results else None


def zoom_view(results: Results | None, x: float, y: float, size: float):
    return views.crops(results, x, y, int(size)) if results else []


def plot_view(results: Results | None, metric_id: str | None):
    return views.plot_frame(results, metric_id) if results else None


def export(results: Results | None, fmt: str):
    if not results or not results.rows:
        return gr.update(), gr.update(), gr.update()
    return write_run_files(results, fmt)
