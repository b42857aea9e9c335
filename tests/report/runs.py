"""A tiny batch RUN_DIR for the report tests: three crops, two classical x2 models, outputs saved."""

from __future__ import annotations

from pathlib import Path

from tests.batch.data import MODELS, make_dataset
from tests.cli.helpers import studio

IMAGES = ("astronaut.png", "coffee.png", "rocket.png")


def make_run(tmp_path: Path, *extra: str, exit_code: int = 0) -> Path:
    """`studio batch` on IMAGES (and whatever else is in tmp_path/ds) with MODELS against x2; returns RUN_DIR."""
    make_dataset(tmp_path / "ds", IMAGES)
    run_dir = tmp_path / "run"
    models = [flag for model in MODELS for flag in ("-m", model)]
    result = studio(
        "batch",
        str(tmp_path / "ds"),
        *models,
        "--degrade",
        "x2",
        "--metrics",
        "psnr_y,ssim_y",
        "-o",
        str(run_dir),
        *extra,
    )
    assert result.returncode == exit_code, result.stderr
    return run_dir
