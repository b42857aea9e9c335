"""Files a user downloads after a run: each output, the table as CSV, and a zip of everything."""

from __future__ import annotations

import shutil
import tempfile
import time
import uuid
import zipfile
from pathlib import Path

from studio.engine.export import write_run
from studio.engine.results import Results

RUNS_DIR = Path(tempfile.gettempdir()) / "enhance-studio-runs"
KEEP_SECONDS = 2 * 3600


def _clean_old_runs(now: float) -> None:
    if not RUNS_DIR.exists():
        return
    for folder in RUNS_DIR.iterdir():
        if folder.is_dir() and now - folder.stat().st_mtime > KEEP_SECONDS:
            shutil.rmtree(folder, ignore_errors=True)


def write_run_files(results: Results, fmt: str = "png") -> tuple[list[str], str, str]:
    """(output files, results.csv, everything.zip) in a fresh folder; folders older than 2 h are removed."""
    now = time.time()
    _clean_old_runs(now)
    folder = RUNS_DIR / f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}"
    folder.mkdir(parents=True)
    outputs, csv_path = write_run(results, folder, fmt)
    zip_path = folder / "enhance-studio-results.zip"
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.iterdir()):
            if path != zip_path:
                archive.write(path, path.name)
    return [str(path) for path in outputs.values()], str(csv_path), str(zip_path)
