"""Running `studio` as a user does (a real process from a clean environment) and the small inputs it needs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import yaml
from PIL import Image

from tests.environment import clean_env
from tests.paths import REPO_ROOT

# Remove both offline switches (with HF_ENDPOINT pointing at a fake Hub, the process really goes online).
ONLINE: dict[str, str | None] = {"HF_HUB_OFFLINE": None, "STUDIO_OFFLINE": None}
# Neural runs name their form and precision: `auto` picks bf16 on CPUs with AVX-512 BF16.
NCNN_FP32 = ("--backend", "ncnn", "--precision", "fp32")
TORCH_FP32 = ("--backend", "torch", "--precision", "fp32")


def studio(*args: str, env: dict[str, str | None] | None = None, cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess:
    """`python -m studio ARGS` from `tests.environment.clean_env(env)`: nothing leaks in from the test process."""
    return subprocess.run(
        [sys.executable, "-m", "studio", *args],
        capture_output=True,
        text=True,
        env=clean_env(env),
        cwd=cwd,
        timeout=300,
        check=False,
    )


def save_image(path: Path, rgb: np.ndarray, **options) -> Path:
    Image.fromarray(rgb).save(path, **options)
    return path


def hub_entry(model_id: str = "acme-net", repo_id: str = "acme/sr-net", revision: str = "main") -> dict:
    """A registry entry for a Hub model (unpinned unless `revision` is a commit)."""
    return {
        "id": model_id,
        "name": model_id,
        "task": "super-resolution",
        "scale": 2,
        "backend": "torch",
        "source": {"hf": {"repo_id": repo_id, "filename": "net.pth", "revision": revision}},
        "license": "MIT",
        "description": "a test model served by the fake Hub",
        "link": "https://example.org",
    }


def write_registry(path: Path, *entries: dict) -> Path:
    path.write_text(yaml.safe_dump({"models": list(entries)}, sort_keys=False), encoding="utf-8")
    return path


def stderr_lines(result: subprocess.CompletedProcess) -> list[str]:
    return result.stderr.strip().splitlines()
