"""A batch run from start to files: check the folder, journal every cell as it finishes, rebuild the tables.

RUN_DIR holds run.json (what was asked, the dataset, the machine, the state), cells.jsonl (the
journal: the truth), the tables rebuilt from it, and with --save-outputs outputs/<model>/<stem>.png.
The tables and run.json are rewritten at the end, after Ctrl-C too; a crash leaves the journal,
and `--resume` runs only the cells it lacks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from studio.batch.job import BatchJob, CellOutcome, Runner
from studio.batch.journal import JOURNAL, Journal, check_same_settings, read_journal, read_run, write_json
from studio.batch.plan import Cell, pending, plan_cells
from studio.batch.progress import Progress, ProgressMeter
from studio.batch.stats import INTERVAL, summarize
from studio.batch.tables import write_tables
from studio.core.errors import UsageError

OUTPUTS = "outputs"
RUN_KIND = "studio batch run"


@dataclass
class BatchRun:
    """What the command reports: counts, the failed cells and the per-model summary."""

    run_dir: Path
    total: int
    before: int  # finished by an earlier run (resumed)
    metric_ids: tuple[str, ...] = ()
    ran: int = 0
    records: list[dict[str, Any]] = field(default_factory=list)  # every finished cell of the plan, in order
    summary: list[dict[str, Any]] = field(default_factory=list)

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [record for record in self.records if record.get("error")]


def run_settings(job: BatchJob, pairs: Path | None, save_outputs: bool) -> dict[str, Any]:
    """What a resumed run must share with the recorded one: the request, the ground truth, the outputs."""
    return {
        **job.request.to_dict(),
        "pairs": str(pairs.resolve()) if pairs else None,
        "save_outputs": save_outputs,
    }


def _recorded_settings(recorded: dict[str, Any]) -> dict[str, Any]:
    return {**recorded["request"], "pairs": recorded.get("pairs"), "save_outputs": recorded.get("save_outputs")}


def open_run_dir(run_dir: Path, settings: dict[str, Any], resume: bool) -> dict[str, Any] | None:
    """The recorded run to continue (checked against `settings`), or None for a new run; refuses the rest."""
    if run_dir.exists() and not run_dir.is_dir():
        raise UsageError(f"run folder {run_dir} is a file, not a folder")
    busy = run_dir.is_dir() and any(run_dir.iterdir())
    recorded = read_run(run_dir) if busy and resume else None
    if recorded is not None:
        check_same_settings(_recorded_settings(recorded), settings, run_dir)
        return recorded
    if resume and not run_dir.exists():  # a typo must not silently start over
        raise UsageError(
            f"--resume: {run_dir} does not exist, so there is no run to continue (drop --resume to start one)"
        )
    if resume:
        raise UsageError(f"{run_dir} holds no batch run to resume (no run.json): choose another -o")
    if busy:
        raise UsageError(f"{run_dir} is not empty: add --resume to continue the run there, or choose another -o")
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create run folder {run_dir}: {exc.strerror or exc}") from None
    return None


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _save_output(run_dir: Path, outcome: CellOutcome) -> None:
    """outputs/<model>/<stem>.png, lossless, renamed into place; the record names it."""
    from studio.core.media import encode

    record = outcome.record
    relative = Path(OUTPUTS) / record["model"] / f"{Path(record['image']).stem}.png"
    target = run_dir / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.partial")
    temporary.write_bytes(encode(outcome.output, "png"))
    temporary.replace(target)
    record["output_file"] = relative.as_posix()


def run_batch(
    job: BatchJob,
    dataset: dict[str, Any],
    run_dir: Path,
    runner: Runner,
    settings: dict[str, Any],
    machine: Callable[[], dict[str, Any]],
    resume: bool = False,
    on_progress: Progress | None = None,
) -> BatchRun:
    """Run the cells RUN_DIR lacks; Ctrl-C (KeyboardInterrupt) still writes the tables, then propagates."""
    from studio.engine.provenance import tool_info

    runner.prepare()
    recorded = open_run_dir(run_dir, settings, resume)
    journal_path = run_dir / JOURNAL
    finished = read_journal(journal_path) if recorded else {}
    plan = plan_cells(list(job.images), job.request.model_ids)
    todo = pending(plan, finished)
    outcome = BatchRun(run_dir, len(plan), len(plan) - len(todo), job.request.metric_ids)
    session = {"started": _now(), "engine": runner.name, "cells_to_run": len(todo)}
    state: dict[str, Any] = {
        "kind": RUN_KIND,
        "tool": tool_info(),
        "engine": runner.name,
        "request": job.request.to_dict(),
        "pairs": settings["pairs"],
        "save_outputs": settings["save_outputs"],
        "dataset": dataset,
        "machine": machine(),
        "started": recorded["started"] if recorded else session["started"],
        "sessions": [*(recorded or {}).get("sessions", []), session],
        "state": "running",
        "interval": INTERVAL,
    }
    write_json(run_dir / "run.json", state)
    meter = ProgressMeter(len(todo), outcome.before, on_progress)

    def emit(cell_outcome: CellOutcome) -> None:
        record = cell_outcome.record
        if settings["save_outputs"] and cell_outcome.output is not None:
            _save_output(run_dir, cell_outcome)
        journal.append(record)
        finished[(record["image"], record["model"])] = record
        outcome.ran += 1
        meter.cell_done(Cell(record["image"], record["model"]))

    ended = "finished"
    try:
        with Journal(journal_path) as journal:
            runner.run(job, todo, emit)
    except BaseException as exc:  # Ctrl-C above all: the tables still show what finished
        ended = "interrupted" if isinstance(exc, KeyboardInterrupt) else "stopped"
        raise
    finally:
        if runner.cluster:
            session["cluster"] = runner.cluster
        outcome.records = [finished[cell.key] for cell in plan if cell.key in finished]
        _finish(run_dir, outcome, state, session, ended, machine)
    return outcome


def _finish(
    run_dir: Path,
    outcome: BatchRun,
    state: dict[str, Any],
    session: dict[str, Any],
    ended: str,
    machine: Callable[[], dict[str, Any]],
) -> None:
    request = state["request"]
    outcome.summary = summarize(outcome.records, request["models"], request["metrics"])
    failed = len(outcome.failed)
    done = len(outcome.records)
    title = f"Batch run {run_dir.name}: {len(state['dataset']['images'])} images × {len(request['models'])} models"
    if done < outcome.total:  # the tables must not pass for a whole run
        title += f" ({ended}: {done} of {outcome.total} cells; `--resume` continues it)"
    files = write_tables(run_dir, outcome.records, outcome.summary, request["metrics"], title)
    session.update(ended=_now(), state=ended, cells_run=outcome.ran)
    state.update(
        machine=machine(),  # asked again: a neural model may have loaded torch and its versions
        state=ended,
        cells={"total": outcome.total, "finished": done, "ok": done - failed, "failed": failed},
        files=["run.json", JOURNAL, *files],
    )
    write_json(run_dir / "run.json", state)
