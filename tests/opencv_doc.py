"""Real blurred photos from Debian's opencv-doc package, fetched once for the tests that need them.

`text_motion.jpg` is a page of text photographed with a compact camera while it moved: a real motion blur, no
artificial distortion (OpenCV's samples/python/deconvolution.py restores it with a 31 px line at 86 degrees,
measured clockwise there because image rows grow downwards).

The package (96 MB) is fetched with `apt-get download opencv-doc` and unpacked with `dpkg -x`; only the wanted
files are kept, under <repo>/.cache/opencv-doc (gitignored; STUDIO_TEST_OPENCV_DOC names another folder). The
images are never committed. A test that needs one is skipped, with apt's reason, only when apt cannot fetch the
package (in CI, where .ci/run prepares apt, that is an error too); anything else wrong with it is an error.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from functools import cache
from pathlib import Path

import pytest

from tests.paths import REPO_ROOT

FOLDER_ENV = "STUDIO_TEST_OPENCV_DOC"
CACHE = Path(os.environ.get(FOLDER_ENV) or REPO_ROOT / ".cache" / "opencv-doc").expanduser()
PACKAGE = "opencv-doc"
DATA = Path("usr/share/doc/opencv-doc/examples/data")
WANTED = ("text_motion.jpg",)


def _cannot_fetch(reason: str) -> None:
    """Skip the calling test, except in CI, where a missing input is an error (.ci/run prepares apt)."""
    if os.environ.get("CI"):
        raise RuntimeError(reason)
    pytest.skip(reason)


def _apt_download(folder: Path) -> Path:
    """The package's .deb in `folder`, or skip the calling test with apt's own reason."""
    if shutil.which("apt-get") is None or shutil.which("dpkg") is None:
        _cannot_fetch(f"apt-get and dpkg are needed to fetch {PACKAGE} (a Debian system)")
    result = subprocess.run(
        ["apt-get", "download", PACKAGE], cwd=folder, capture_output=True, text=True, timeout=600, check=False
    )
    debs = sorted(folder.glob(f"{PACKAGE}_*.deb"))
    if result.returncode != 0 or not debs:
        errors = [line for line in result.stderr.splitlines() if line.startswith("E:")] or ["no .deb written"]
        _cannot_fetch(f"apt could not fetch {PACKAGE}: {errors[-1]} (apt-get update fetches the package lists)")
    return debs[0]


@cache
def opencv_doc_file(name: str) -> Path:
    """The path of one of WANTED, fetching and unpacking the package the first time."""
    target = CACHE / name
    if target.exists():
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE) as scratch:
        scratch_dir = Path(scratch)
        deb = _apt_download(scratch_dir)
        unpacked = scratch_dir / "root"
        subprocess.run(["dpkg", "-x", str(deb), str(unpacked)], check=True, capture_output=True, timeout=600)
        for wanted in WANTED:
            source = unpacked / DATA / wanted
            if not source.exists():
                raise FileNotFoundError(f"{PACKAGE} no longer ships {DATA / wanted}")
            partial = CACHE / f".{wanted}.part"
            shutil.copyfile(source, partial)
            partial.replace(CACHE / wanted)  # atomic: a second test process sees the whole file or none
    return target


@pytest.fixture(scope="session")
def text_motion() -> Path:
    """text_motion.jpg (588x365 JPEG): a real motion-blurred photo of a printed page."""
    return opencv_doc_file("text_motion.jpg")
