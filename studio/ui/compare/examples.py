"""The Compare tab's examples: an image and the models that suit it. A click shows the example's precomputed
comparison (studio/demo) when its entry is fresh (sliders, synced zoom, gallery, table, plot, downloads), with no
model loaded or run, then fills the upload and the model lists; without a fresh entry it only fills the form.

The click is cheap on a small machine: the entry's pictures were encoded when it was built, under the names
the page gives them (viewer.png_path), so they are copied into Gradio's cache folder rather than encoded, and
so are the ready-made downloads. The data dir itself is never served (ui/app.py blocked_paths).
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import gradio as gr
from gradio.utils import get_upload_folder

from studio.core.errors import StudioError
from studio.demo.cache import DISPLAY, DOWNLOADS, Entry, fresh_entry
from studio.demo.examples import EXAMPLES, PlannedExample, plan_examples
from studio.engine.results import Results
from studio.services import Services
from studio.ui import views
from studio.ui.compare.handlers import results_view
from studio.ui.compare.picker import Picker, split_by_task
from studio.ui.compare.viewer import cache_folder

logger = logging.getLogger("studio.ui")
DOWNLOADS_SUBFOLDER = "studio-demo"  # in Gradio's cache folder: the entries' downloads, copied there on a click
EXAMPLES_SUBFOLDER = "studio-examples"  # and the example images a click puts in the upload


def example_rows(services: Services, picker: Picker, plans: Sequence[PlannedExample]) -> tuple[list[list], list[str]]:
    """[image, models per list] per example, with the models its preset picks here, and its label."""
    task_of = {spec.id: spec.task for spec in services.registry}
    rows = [[str(plan.path), *split_by_task(plan.models, picker.group_tasks, task_of)] for plan in plans]
    return rows, [f"{plan.name} · {plan.preset}" for plan in plans]


class StoredResults:
    """The entries' Results, decoded once per app (an entry's folder, key and build time name one build of it)."""

    def __init__(self, size: int = len(EXAMPLES)):
        self._loaded: dict[tuple[Path, str, float], Results] = {}
        self._size = size
        self._lock = threading.Lock()

    def get(self, entry: Entry) -> Results:
        name = (entry.folder, entry.key, entry.built_at)
        with self._lock:
            if name not in self._loaded:
                if len(self._loaded) >= self._size:
                    self._loaded.pop(next(iter(self._loaded)))  # the oldest: a rebuilt entry's former build
                self._loaded[name] = entry.results()
            return self._loaded[name]


def place(source: Path, names: Iterable[str], target: Path) -> list[Path]:
    """Copies of `source`'s files `names` in `target` (Gradio's cache: served in place, never copied again);
    a copy already there is only touched, so Gradio's cache cleaning (by age) keeps what a page still shows."""
    target.mkdir(parents=True, exist_ok=True)
    placed = []
    for name in names:
        path = target / name
        try:
            os.utime(path)
        except FileNotFoundError:
            partial_path = target / f".{name}.{uuid.uuid4().hex[:8]}.part"
            try:
                shutil.copyfile(source / name, partial_path)
                os.replace(partial_path, path)  # atomic: another session never reads half a file
            finally:
                partial_path.unlink(missing_ok=True)
        placed.append(path)
    return placed


def built_text(entry: Entry) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(entry.built_at))


def stored_view(services: Services, stored: StoredResults, plan: PlannedExample) -> list[Any] | None:
    """The page's values for the example's stored comparison, or None when its entry is missing or stale."""
    entry = fresh_entry(services.settings, plan)
    if entry is None:
        return None
    results = stored.get(entry)
    place(entry.folder / DISPLAY, entry.display, cache_folder())  # the pictures results_view looks for by name
    here = Path(get_upload_folder()) / DOWNLOADS_SUBFOLDER / f"{entry.folder.name}-{int(entry.built_at)}"
    files = entry.folder / DOWNLOADS
    outputs = [str(path) for path in place(files, entry.outputs, here)]
    csv, zipped, report = (str(path) for path in place(files, (entry.csv, entry.zip, entry.report), here))
    values = results_view(results, final=False, origin=views.precomputed_text(built_text(entry)))
    values[-4:] = [outputs, csv, zipped, gr.update(value=report, interactive=True)]
    return [*values, ""]  # the run bar's progress box: no run to speak of


def show_example(
    services: Services, stored: StoredResults, plans: Sequence[PlannedExample], count: int, index: int | None
) -> list[Any]:
    """A click on example `index`: its stored comparison when fresh, else the results area stays as it is."""
    values = None
    if isinstance(index, int) and 0 <= index < len(plans):
        try:
            values = stored_view(services, stored, plans[index])
        except (StudioError, OSError) as exc:  # a cache being rebuilt or removed meanwhile: fill the form only
            logger.warning("demo cache: %s not shown: %s", plans[index].name, exc)
    return values if values is not None else [gr.skip()] * count


def fill_form(plans: Sequence[PlannedExample], rows: Sequence[list], index: int | None) -> list[Any]:
    """The example's image (a copy in Gradio's cache) and its models, one value per list."""
    if not isinstance(index, int) or not 0 <= index < len(plans):
        return [gr.skip()] * len(rows[0])
    plan = plans[index]
    (image,) = place(plan.path.parent, [plan.name], Path(get_upload_folder()) / EXAMPLES_SUBFOLDER)
    return [str(image), *rows[index][1:]]


def warm_up(services: Services, stored: StoredResults, plans: Sequence[PlannedExample]) -> threading.Thread:
    """At start, in the background: decode each fresh entry and draw its page once (its files placed, the table
    and plot code run), so the first click after a start is as quick as the next ones. Loads no model."""

    def work() -> None:
        for plan in plans:
            try:
                stored_view(services, stored, plan)
            except (StudioError, OSError) as exc:
                logger.warning("demo cache: %s not prepared: %s", plan.name, exc)

    thread = threading.Thread(target=work, name="demo-warm-up", daemon=True)
    thread.start()
    return thread


def wire_examples(services: Services, form, area) -> None:
    """The examples under the model lists (inside picker.examples_box): a click fills the upload and the lists,
    and shows the example's stored comparison when it is fresh."""
    picker, request = form.picker, form.request
    try:
        plans = tuple(plan_examples(services, picker.states))
    except StudioError as exc:
        logger.warning("no examples: %s", exc)
        return
    if not plans:
        return
    rows, labels = example_rows(services, picker, plans)
    with picker.examples_box:
        dataset = gr.Dataset(
            components=[request.upload],
            samples=[row[:1] for row in rows],
            sample_labels=labels,
            type="index",
            label="Examples (an image and models that suit it; their results show at once when precomputed)",
            elem_id="picker-examples-list",
        )
    outputs = [*area.run_outputs(), form.progress]
    stored = StoredResults()
    warm_up(services, stored, plans)
    # The stored comparison first, then the form: filling the upload and the lists sets off their own events
    # (preview, prediction, parameters), which would otherwise hold up the drawing of the results.
    shown = dataset.click(
        partial(show_example, services, stored, plans, len(outputs)),
        dataset,
        outputs,
        api_name="demo_example",
        queue=False,
        show_progress="hidden",
    )
    shown.then(
        partial(fill_form, plans, rows),
        dataset,
        [request.upload, *picker.groups],
        api_name=False,
        queue=False,
        show_progress="hidden",
    )
