"""`studio demo build` and the app's build at start: run each example's models once and store everything the
page shows, so a click on the example needs no model and no PNG encoding.

An entry is built in a hidden folder and renamed into place when complete, so a reader (the page, another
build) sees a whole entry or none; entries of other keys are removed. A model that fails keeps its
example unbuilt (the click then only fills the form, as without a cache) and is reported in one line.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from studio.core.errors import StudioError, UsageError
from studio.core.media import decode, encode, png_name
from studio.core.resize import resize_to
from studio.demo.cache import DISPLAY, DOWNLOADS, Entry, demo_dir, fresh_entry, save_results, write_entry
from studio.demo.examples import PlannedExample, current_states, plan_examples
from studio.engine.compare import run
from studio.engine.export import report_name, write_run, write_run_zip
from studio.engine.results import Results
from studio.services import Services

logger = logging.getLogger("studio.demo")
LEFTOVER_S = 3600  # a hidden build folder older than this was left by a build that died: removed


@dataclass(frozen=True)
class Outcome:
    """What the build did with one example: built, up to date, skipped (no model runs here) or failed."""

    example: str
    preset: str
    models: tuple[str, ...]
    status: str  # "built", "up to date", "skipped" or "failed"
    seconds: float = 0.0
    built_at: float | None = None
    error: str | None = None

    def line(self) -> str:
        """One line for the terminal or the log."""
        head = f"{self.status} {self.example} ({self.preset})"
        if self.status == "skipped":
            return f"{head}: no model of this preset can run here"
        if self.status == "failed":
            return f"{head}: {self.error}"
        models = ", ".join(self.models)
        if self.status == "built":
            return f"{head}: {models} in {self.seconds:.1f} s"
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.built_at)) if self.built_at else "?"
        return f"{head}: {models} (built {when} in {self.seconds:.1f} s)"


def display_pictures(results: Results) -> list[np.ndarray]:
    """Every picture the page draws from a comparison: the input, the reference, each output and the input at
    each output's size (the before of its before/after slider)."""
    pictures = [results.input.rgb] + ([results.reference] if results.reference is not None else [])
    for row in results.rows:
        if row.ok:
            width, height = row.output.size
            pictures += [row.output.rgb, resize_to(results.input.rgb, width, height)]
    return pictures


def write_display(results: Results, folder: Path) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for picture in display_pictures(results):
        name = png_name(picture)
        if name not in names:
            (folder / name).write_bytes(encode(picture, "png"))
            names.append(name)
    return names


def write_downloads(results: Results, source: Path, folder: Path, built_at: float) -> dict[str, object]:
    """The page's downloads for this comparison: outputs and input as PNG, results.csv and .json, the zip (with the
    source image, so `studio compare --from results.json` repeats it) and the HTML report."""
    from studio.report.comparison import comparison_page
    from studio.report.page import write_page

    outputs, csv_path = write_run(results, folder, "png")
    zip_path = write_run_zip(folder, {results.source: source} if results.source else {})
    report = folder / report_name(built_at)
    write_page(comparison_page(results, None), report)  # no ratings section: they change after the build
    return {
        "outputs": tuple(outputs[row.model_id].name for row in results.rows if row.ok),
        "csv": csv_path.name,
        "zip": zip_path.name,
        "report": report.name,
    }


def build_entry(services: Services, plan: PlannedExample) -> Entry:
    """Run `plan`'s models on its image and store the entry (replacing an older one of the same key)."""
    started = time.monotonic()
    image = decode(plan.path, services.settings.max_pixels)
    results = run(plan.request, image, services.registry, services.loader, source=plan.name)
    failed = [row for row in results.rows if not row.ok]
    if failed:
        raise UsageError(f"{failed[0].model_id} failed: {failed[0].error}")
    services.speed.record(results)  # the page's predicted times (and a live run's ETA) learn from the build too
    parent = demo_dir(services.settings)
    work = parent / f".build-{plan.folder_name}-{uuid.uuid4().hex[:8]}"
    try:
        built_at = time.time()
        record = save_results(results, work)
        display = write_display(results, work / DISPLAY)
        downloads = write_downloads(results, plan.path, work / DOWNLOADS, built_at)
        entry = Entry(
            folder=parent / plan.folder_name,
            key=plan.key,
            example=plan.name,
            preset=plan.preset,
            models=plan.models,
            built_at=built_at,
            seconds=round(time.monotonic() - started, 3),
            display=tuple(display),
            record=record,
            **downloads,
        )
        write_entry(replace(entry, folder=work))
        _move_into_place(work, entry.folder)
    except OSError as exc:
        raise UsageError(f"cannot write the demo cache in {parent}: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return entry


def _move_into_place(work: Path, final: Path) -> None:
    """Rename the finished folder to its key's name; an entry already there (a forced rebuild) is replaced."""
    if final.exists():
        old = final.with_name(f".old-{final.name}-{uuid.uuid4().hex[:8]}")
        final.rename(old)
        shutil.rmtree(old, ignore_errors=True)
    try:
        work.rename(final)
    except OSError:
        if not final.exists():  # another build put the same entry there meanwhile: theirs stands
            raise


def remove_stale(parent: Path, keep: set[str], now: float) -> list[str]:
    """Remove entries whose key is no longer current (and build folders left by a build that died)."""
    removed = []
    if not parent.is_dir():
        return removed
    for child in parent.iterdir():
        if child.name in keep:
            continue
        try:
            recent = now - child.stat().st_mtime < LEFTOVER_S
        except OSError:
            continue
        if child.name.startswith(".") and recent:
            continue  # another build's folder in progress
        shutil.rmtree(child, ignore_errors=True)
        removed.append(child.name)
    return removed


def build_cache(services: Services, force: bool = False, names: Iterable[str] | None = None) -> list[Outcome]:
    """Build every example (or `names`) whose entry is missing or stale (every one with `force`); remove old
    entries. Returns one Outcome per example, in the page's order."""
    states = current_states(services)
    every = plan_examples(services, states)
    wanted = every if names is None else plan_examples(services, states, names)
    outcomes = []
    for plan in wanted:
        models = plan.models
        if plan.request is None:
            outcomes.append(Outcome(plan.name, plan.preset, models, "skipped"))
            continue
        entry = None if force else fresh_entry(services.settings, plan)
        if entry is not None:
            outcomes.append(Outcome(plan.name, plan.preset, models, "up to date", entry.seconds, entry.built_at))
            continue
        try:
            entry = build_entry(services, plan)
        except StudioError as exc:
            outcomes.append(Outcome(plan.name, plan.preset, models, "failed", error=str(exc).split("\n", 1)[0]))
            continue
        outcomes.append(Outcome(plan.name, plan.preset, models, "built", entry.seconds, entry.built_at))
    parent = demo_dir(services.settings)
    for name in remove_stale(parent, {plan.folder_name for plan in every}, time.time()):
        logger.info("demo cache: removed the stale entry %s", name)
    return outcomes


def build_in_background(services: Services) -> threading.Thread | None:
    """At the web app's start (STUDIO_DEMO_CACHE, on by default): build the stale or missing entries in a
    daemon thread, one model at a time in the compute slot like any run, logging one line per example."""
    if not services.settings.demo_cache:
        return None

    def work() -> None:
        try:
            for outcome in build_cache(services):
                log = logger.warning if outcome.status == "failed" else logger.info
                log("demo cache: %s", outcome.line())
        except StudioError as exc:
            logger.warning("demo cache not built: %s", exc)
        except Exception:  # a fault: its traceback in the log; the app runs on without the cache
            logger.exception("demo cache not built")

    thread = threading.Thread(target=work, name="demo-cache", daemon=True)
    thread.start()
    return thread
