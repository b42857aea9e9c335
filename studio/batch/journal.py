"""The run's memory on disk: an append-only journal of finished cells, and run.json.

A cell is finished when its whole line (newline included) is in cells.jsonl and fsynced; the
next cell starts only then. A crash can therefore cut at most the line being written: reading
drops such a torn last line (that cell runs again), and a damaged line elsewhere is refused.
Everything else in the folder (tables, summary) is rebuilt from the journal.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from studio.core.errors import UsageError

JOURNAL = "cells.jsonl"
RUN_JSON = "run.json"
Key = tuple[str, str]


def read_journal(path: Path) -> dict[Key, dict[str, Any]]:
    """The finished cells by (image, model); a torn last line is cut off the file so appends stay clean."""
    if not path.exists():
        return {}
    data = path.read_bytes()
    *complete, tail = data.split(b"\n")  # tail: what follows the last newline, a torn write when not empty
    cells: dict[Key, dict[str, Any]] = {}
    good_end = 0  # the end of the last line kept
    for number, line in enumerate(complete, start=1):
        record = _parse(line) if line.strip() else {}
        if record is None:
            if number == len(complete) and not tail:  # the very last line: a write cut short
                break
            raise UsageError(f"{path} line {number} is damaged (not a cell record): the journal cannot be resumed")
        if record:
            cells[(record["image"], record["model"])] = record
        good_end += len(line) + 1
    if good_end < len(data):
        with path.open("r+b") as handle:
            handle.truncate(good_end)
    return cells


def _parse(line: bytes) -> dict[str, Any] | None:
    try:
        record = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(record, dict) or not all(isinstance(record.get(key), str) for key in ("image", "model")):
        return None
    return record


class Journal:
    """Appends one cell per line and makes it durable (flush + fsync) before returning."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle = path.open("a", encoding="utf-8")

    def append(self, record: dict[str, Any]) -> None:
        self._handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """Replace `path` whole (a temporary file renamed over it): a crash leaves the old or the new file."""
    temporary = path.with_name(f".{path.name}.partial")
    temporary.write_text(json.dumps(payload, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    with temporary.open("rb") as handle:
        os.fsync(handle.fileno())
    temporary.replace(path)


def read_run(run_dir: Path) -> dict[str, Any] | None:
    """The recorded run.json, or None when the folder holds no run."""
    path = run_dir / RUN_JSON
    if not path.exists():
        return None
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path} cannot be read ({exc}): it is not a batch run to resume") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("request"), dict):
        raise UsageError(f"{path} is not a batch run's record (no request): choose another folder")
    return payload


def check_same_settings(recorded: dict[str, Any], current: dict[str, Any], run_dir: Path) -> None:
    """A resume must ask for what the recorded run asked, or its rows would mix two experiments."""
    current = json.loads(json.dumps(current, default=str))  # compare as JSON reads it back
    for key, value in current.items():
        before = recorded.get(key)
        if before != value:
            raise UsageError(
                f"{run_dir} holds a run with {key} {_show(before)}, not {_show(value)}: "
                "resume with the same settings or choose another -o"
            )


def _show(value: Any) -> str:
    if value is None or value == [] or value == {}:
        return "(none)"
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return str(value)
