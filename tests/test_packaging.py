"""`pip install .` (not editable) gives a `studio` that works from any folder.

The wheel is built from this clone, installed with --no-deps into a folder of its
own (the runtime dependencies come from the test environment), and run from a
directory outside the repository with that folder first on the path.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.environment import clean_env
from tests.paths import REPO_ROOT, SHARED_WEIGHTS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A folder holding the installed wheel (package and `bin/studio`)."""
    root = tmp_path_factory.mktemp("wheel")
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            ".",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(root / "dist"),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = (root / "dist").glob("enhance_studio-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert "studio/models/model_registry.yaml" in names
    assert "studio/ui/compare/viewer.js" in names and "studio/ui/compare/viewer.css" in names  # the zoom viewer
    trained = "studio/models/trained/dmcnn-deblur/studio-dmcnn-deblur"  # our weights ship with their card
    assert f"{trained}.safetensors" in names and f"{trained}.md" in names
    assert not any(name.endswith("checkpoint.pt") for name in names)
    assert not any(name.startswith("tests/") for name in names)
    target = root / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stderr
    return target


def run_installed(installed: Path, cwd: Path, *args: str, extra: dict[str, str] | None = None):
    env = clean_env({"PYTHONPATH": str(installed), "STUDIO_WEIGHTS_DIR": str(cwd / "weights"), **(extra or {})})
    return subprocess.run(
        [str(installed / "bin" / "studio"), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_the_installed_command_is_the_installed_copy(installed, tmp_path):
    env = clean_env({"PYTHONPATH": str(installed)})
    where = subprocess.run(
        [sys.executable, "-c", "import studio; print(studio.__file__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert Path(where.stdout.strip()).is_relative_to(installed)


def test_the_installed_studio_lists_its_catalogue_from_any_folder(installed, tmp_path):
    result = run_installed(installed, tmp_path, "models", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    ids = {row["id"] for row in rows}
    assert {"lanczos-x4", "realesrgan-x4plus", "fsrcnn-x2", "nafnet-gopro-width64"} <= ids
    assert len(rows) >= 60


@pytest.mark.skipif(not SHARED_WEIGHTS.exists(), reason="../shared/weights is not beside this clone")
def test_the_installed_studio_fetches_and_runs_models(installed, tmp_path):
    mirror = {"STUDIO_WEIGHTS_MIRROR": str(SHARED_WEIGHTS)}
    fetched = run_installed(installed, tmp_path, "fetch", "fsrcnn-x2", extra=mirror)
    assert fetched.returncode == 0, fetched.stderr
    assert "FSRCNN_x2.pb" in fetched.stdout
    photo = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 48, 3), dtype=np.uint8)).save(photo)
    enhanced = run_installed(
        installed, tmp_path, "enhance", str(photo), "-m", "fsrcnn-x2", "-m", "lanczos-x2", "-o", "out", extra=mirror
    )
    assert enhanced.returncode == 0, enhanced.stderr
    for model_id in ("fsrcnn-x2", "lanczos-x2"):
        assert Image.open(tmp_path / "out" / f"photo_{model_id}.png").size == (96, 80)


def test_the_installed_studio_runs_our_trained_weights_offline(installed, tmp_path):
    photo = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 48, 3), dtype=np.uint8)).save(photo)
    args = ("enhance", str(photo), "-m", "studio-espcn-x2", "-m", "studio-dmcnn-deblur", "--precision", "fp32")
    enhanced = run_installed(installed, tmp_path, *args, "-o", "out")
    assert enhanced.returncode == 0, enhanced.stderr
    assert Image.open(tmp_path / "out" / "photo_studio-espcn-x2.png").size == (96, 80)
    assert Image.open(tmp_path / "out" / "photo_studio-dmcnn-deblur.png").size == (48, 40)
