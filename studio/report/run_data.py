"""A batch RUN_DIR read back for the report: run.json, the journal's cells in plan order, the summary.

The folder is only read: a torn last journal line (a crash mid-write) is skipped here, not cut off.
The summary is recomputed from the cells with the batch's own statistics, so it equals summary.csv.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studio.batch.journal import JOURNAL, RUN_JSON, read_run
from studio.batch.stats import summarize
from studio.core.errors import UsageError


@dataclass(frozen=True)
class RunData:
    """What a report shows: the recorded run, its finished cells and the per-model summary."""

    run_dir: Path
    run: dict[str, Any]
    records: list[dict[str, Any]]
    summary: list[dict[str, Any]]

    @property
    def models(self) -> list[str]:
        return list(self.run["request"].get("models") or [])

    @property
    def metric_ids(self) -> list[str]:
        return list(self.run["request"].get("metrics") or [])

    @property
    def images(self) -> list[str]:
        """The dataset's image keys in run order (those with at least one finished cell)."""
        listed = list((self.run.get("dataset") or {}).get("images") or [])
        seen = {record["image"] for record in self.records}
        return [image for image in listed if image in seen] + sorted(seen - set(listed))

    @property
    def outputs_saved(self) -> bool:
        return bool(self.run.get("save_outputs"))

    def cell(self, image: str, model: str) -> dict[str, Any] | None:
        return next((r for r in self.records if r["image"] == image and r["model"] == model), None)

    def dataset_path(self, image: str) -> Path | None:
        """Where the dataset image was read from: SOURCE/key for a folder, next to the list file for a list."""
        dataset = self.run.get("dataset") or {}
        source = dataset.get("source")
        if not source:
            return None
        base = Path(source) if dataset.get("kind") == "folder" else Path(source).parent
        return base / image


def read_cells(path: Path) -> list[dict[str, Any]]:
    """The journal's records (the last one per cell); a torn last line is skipped, other damage refused."""
    lines = path.read_bytes().split(b"\n")
    records: dict[tuple[str, str], dict[str, Any]] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (UnicodeDecodeError, json.JSONDecodeError):
            record = None
        if not isinstance(record, dict) or not all(isinstance(record.get(k), str) for k in ("image", "model")):
            if number == len(lines):  # no newline after it: a write cut short
                continue
            raise UsageError(f"{path} line {number} is damaged (not a cell record): cannot report this run")
        records[(record["image"], record["model"])] = record
    return list(records.values())


def load_run(run_dir: Path) -> RunData:
    """Read RUN_DIR, or raise one UsageError line saying why it is not a batch run with finished cells."""
    if not run_dir.is_dir():
        raise UsageError(f"no such run folder: {run_dir} (give the -o folder of a `studio batch` run)")
    if not (run_dir / RUN_JSON).is_file():
        raise UsageError(f"{run_dir} holds no batch run (no {RUN_JSON}): give the -o folder of a `studio batch` run")
    run = read_run(run_dir) or {}
    journal = run_dir / JOURNAL
    records = read_cells(journal) if journal.is_file() else []
    if not records:
        raise UsageError(f"{run_dir} has no finished cells ({JOURNAL} is missing or empty): nothing to report")
    models = list(run["request"].get("models") or [])
    metrics = list(run["request"].get("metrics") or [])
    order = {image: index for index, image in enumerate((run.get("dataset") or {}).get("images") or [])}
    rank = {model: index for index, model in enumerate(models)}
    records.sort(key=lambda r: (order.get(r["image"], len(order)), r["image"], rank.get(r["model"], len(rank))))
    extra = [m for m in dict.fromkeys(r["model"] for r in records) if m not in rank]
    return RunData(run_dir, run, records, summarize(records, [*models, *extra], metrics))
