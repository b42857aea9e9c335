"""Files a user downloads after a run: each output, the table as CSV, a zip of everything, and the report.

The zip also holds the uploads the run was made from (the image and any ground truth), byte for
byte under their own names, so that `studio compare --from results.json` in the unzipped folder
finds them and repeats the run with the same numbers. (`input.<fmt>` beside them is the prepared
input the models ran on, after preview and degradation: not the source.) The report is the page
`studio report` writes for a batch run, for this one comparison: a single HTML file that opens offline.
"""

from __future__ import annotations

import filecmp
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from studio.core.errors import StudioError
from studio.core.media import decode
from studio.engine.export import report_name, write_run, write_run_zip
from studio.engine.replay import pixels_sha256
from studio.engine.results import Results

if TYPE_CHECKING:
    from studio.ratings.store import Database

RUNS_DIR = Path(tempfile.gettempdir()) / "enhance-studio-runs"
KEEP_SECONDS = 2 * 3600


def remove_old_folders(parent: Path, keep_seconds: float, now: float) -> None:
    """Remove the folders in `parent` last changed more than `keep_seconds` before `now` (one that another
    process removes meanwhile is skipped)."""
    if not parent.is_dir():
        return
    for folder in parent.iterdir():
        try:
            old = folder.is_dir() and now - folder.stat().st_mtime > keep_seconds
        except OSError:
            continue
        if old:
            shutil.rmtree(folder, ignore_errors=True)


def clean_old_runs(now: float) -> None:
    """Remove run folders older than KEEP_SECONDS (on each new run, and every 30 minutes from the server)."""
    remove_old_folders(RUNS_DIR, KEEP_SECONDS, now)


def _fresh_folder(now: float) -> Path:
    """A new folder under RUNS_DIR for one run's files (folders older than KEEP_SECONDS are removed first)."""
    clean_old_runs(now)
    folder = RUNS_DIR / f"{time.strftime('%Y%m%d-%H%M%S', time.localtime(now))}-{uuid.uuid4().hex[:8]}"
    folder.mkdir(parents=True)
    return folder


def write_report_file(results: Results, open_store: Callable[[], Database | None] | None = None) -> str:
    """The comparison's self-contained HTML report (studio.report), named for what it is and when it was made:
    enhance-studio-report-<YYYYmmdd-HHMMSS>.html, in a fresh folder. `open_store` gives the ratings store for
    the section on the compared models' human ratings (None: the section is left out)."""
    from studio.report.comparison import comparison_page
    from studio.report.page import write_page

    now = time.time()
    text = comparison_page(results, open_store)
    path = _fresh_folder(now) / report_name(now)
    write_page(text, path)
    return str(path)


def write_run_files(
    results: Results,
    fmt: str = "png",
    source_file: str | Path | None = None,
    reference_file: str | Path | None = None,
) -> tuple[list[str], str, str]:
    """(output files, results.csv, everything.zip) in a fresh folder; folders older than 2 h are removed.

    `source_file` and `reference_file` are the uploads the run read (the handler's paths): the zip holds
    each under the name results.json records, when it is still that run's file (see `run_sources`).
    """
    folder = _fresh_folder(time.time())
    outputs, csv_path = write_run(results, folder, fmt)
    sources = run_sources(results, source_file, reference_file)
    zip_path = write_run_zip(folder, sources)
    return [str(path) for path in outputs.values()], str(csv_path), str(zip_path)


def run_sources(results: Results, source_file: str | Path | None, reference_file: str | Path | None) -> dict[str, Path]:
    """Name -> file: the uploads that `compare --from` looks for next to results.json.

    An upload counts only while it is still this run's: its name is the recorded one and, for the image,
    its pixels are the recorded ones (the page may hold a newer upload when the format changes later).
    A ground truth recorded under the image's own name is left out with the image unless both are the
    same file, since `--from` would otherwise take one for the other; it then asks for them instead.
    """
    source = _upload(source_file, results.source)
    if source is not None and not _same_pixels(source, results):
        source = None
    reference = _upload(reference_file, results.reference_source)
    if results.source and results.source == results.reference_source:
        same = source is not None and reference is not None and filecmp.cmp(source, reference, shallow=False)
        return {results.source: source} if same else {}
    return {path.name: path for path in (source, reference) if path is not None}


def _upload(path: str | Path | None, recorded_name: str | None) -> Path | None:
    if not path or not recorded_name:
        return None
    path = Path(path)
    return path if path.name == recorded_name and path.is_file() else None


def _same_pixels(path: Path, results: Results) -> bool:
    """Whether `path` decodes to the run's source pixels (never decoding more pixels than the source had)."""
    if results.source_sha256 is None:
        return True
    width, height = results.original_size
    try:
        return pixels_sha256(decode(path, max(width * height, 1)).rgb) == results.source_sha256
    except (StudioError, OSError):
        return False
