"""The calibration pairs (../shared/calibration, never copied into the repository) and the metrics' pinned files."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest

from studio.core.config import Settings
from tests.environment import FORCED_MACHINE_CLASS
from tests.paths import REPO_ROOT, SHARED_WEIGHTS

CALIBRATION = REPO_ROOT.parent / "shared" / "calibration"
IMAGES = ("I03", "I04", "I06", "I08", "I19")
# The README table's rows, by the start of their first cell.
ROWS = {
    "psnr": "PSNR (RGB",
    "ssim_grey": "SSIM (MATLAB",
    "lpips": "LPIPS",
    "niqe": "NIQE",
    "brisque": "BRISQUE",
}
needs_calibration = pytest.mark.skipif(
    not (CALIBRATION / "README.md").exists(), reason="../shared/calibration (TID2013 pairs) is not beside this clone"
)


@dataclass(frozen=True)
class Calibration:
    distorted: dict[str, np.ndarray]
    reference: dict[str, np.ndarray]
    original: dict[str, dict[str, float]]  # metric id -> image -> the original code's value


def read_rgb(path: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def original_values(readme: str) -> dict[str, dict[str, float]]:
    """The README's table of the original implementations' values, by metric id and image."""
    header = next(line for line in readme.splitlines() if line.startswith("| metric"))
    names = [cell.strip() for cell in header.strip("|").split("|")[1:]]
    values = {}
    for line in readme.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        for metric, prefix in ROWS.items():
            if cells[0].startswith(prefix) and all(re.fullmatch(r"-?[\d.]+", c) for c in cells[1:]):
                values[metric] = dict(zip(names, map(float, cells[1:]), strict=True))
    return values


@pytest.fixture(scope="session")
def calibration() -> Calibration:
    folder = CALIBRATION / "tid2013"
    return Calibration(
        distorted={name: read_rgb(folder / "distorted" / f"{name}.png") for name in IMAGES},
        reference={name: read_rgb(folder / "reference" / f"{name}.png") for name in IMAGES},
        original=original_values((CALIBRATION / "README.md").read_text(encoding="utf-8")),
    )


@pytest.fixture
def metric_settings(metric_files: Path, tmp_path: Path) -> Settings:
    """Offline settings whose weights mirror holds the metrics' pinned files (tests/conftest.py's metric_files)
    and ../shared/weights."""
    mirror = ",".join(str(p) for p in (metric_files, SHARED_WEIGHTS) if p.exists())
    return Settings.from_env(
        {
            "STUDIO_OFFLINE": "1",
            "HF_HUB_OFFLINE": "1",
            "STUDIO_WEIGHTS_MIRROR": mirror,
            "STUDIO_WEIGHTS_DIR": str(tmp_path / "weights"),
            "HF_HOME": str(tmp_path / "hf"),
            "STUDIO_MACHINE_CLASS": FORCED_MACHINE_CLASS,
        }
    )
