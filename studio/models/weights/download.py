"""`url:` sources and the weights mirror: fetch a file into place, verified by sha256.

A file only ever appears at its final path after its checksum matched: it is
written to a temporary name beside it and renamed, under a file lock, so two
processes fetching the same file at once leave one good copy and a mismatch
leaves nothing usable behind. The mirror (STUDIO_WEIGHTS_MIRROR) is asked before
the network and finds files by name.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import ssl
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from filelock import FileLock

from studio.core.config import Settings
from studio.core.errors import ChecksumMismatchError, UnpinnedRevisionError, WeightsError, WeightsNotAvailableError
from studio.models.schema import UrlSource

CHUNK = 1 << 20


class Unreachable(WeightsNotAvailableError):
    """A location could not be reached (no network, DNS, refused, timed out): fetching elsewhere may work."""


class Refused(WeightsNotAvailableError):
    """A server answered with an HTTP error (a stale URL, a missing mirror file): retrying will not help."""


def place(location: str) -> str:
    """A location as a person reads it in one line: the host of a URL, else the path."""
    if "://" in location and not location.startswith("file://"):
        return urlparse(location).hostname or location
    return location.removeprefix("file://")


def short_reason(exc: BaseException) -> str:
    """Why a fetch failed, in a few words (no errno numbers, no URL)."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}".strip()
    reason = getattr(exc, "reason", None) if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, socket.gaierror):
        return "host name not resolved"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, TimeoutError | socket.timeout):
        return "timed out"
    if isinstance(reason, ssl.SSLError):
        return f"TLS failed ({reason.reason or 'handshake'})"
    if isinstance(reason, OSError):
        return reason.strerror or type(reason).__name__
    return str(reason).splitlines()[0] if str(reason) else type(reason).__name__


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def lock_for(path: Path) -> FileLock:
    path.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(str(path) + ".lock")


def mirror_locations(mirror: str | None, filename: str) -> Iterator[str]:
    """Where a weights mirror may hold `filename`: local paths first, then URLs.

    The mirror is a comma-separated list of local folders (searched by file name,
    subfolders included) and base URLs (`BASE/filename`), like pip's --find-links.
    """
    for entry in (part.strip() for part in (mirror or "").split(",")):
        if not entry:
            continue
        if entry.startswith(("http://", "https://")):
            yield entry.rstrip("/") + "/" + filename
        else:
            folder = Path(entry).expanduser()
            if folder.is_dir():
                yield from (str(p) for p in sorted(folder.rglob(filename)) if p.is_file())


@dataclass(frozen=True)
class Budget:
    """How long one model's weights fetch may wait: `answer_s` for any answer from a host (a connect or read
    that long has failed: a host that accepts connections and never answers must not hold a run for minutes),
    and `total_s` for the whole fetch, which ends at `deadline` (time.monotonic())."""

    answer_s: float
    total_s: float
    deadline: float

    @classmethod
    def start(cls, answer_s: float = 60.0, total_s: float = 1800.0) -> Budget:
        """A budget whose total starts now (STUDIO_FETCH_TIMEOUT_S and STUDIO_FETCH_MAX_S; see `of`)."""
        return cls(answer_s, total_s, time.monotonic() + total_s)

    @classmethod
    def of(cls, settings: Settings) -> Budget:
        return cls.start(settings.fetch_timeout_s, settings.fetch_max_s)

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def no_answer(self) -> str:
        return f"did not answer within {self.answer_s:g} s"

    def overdue(self) -> str:
        return f"did not send the weights within {self.total_s:g} s"


class _Overdue(Exception):
    """The fetch ran past its budget's total: never leaves this module."""


def _copy_stream(source, handle, digest, budget: Budget | None = None) -> None:
    read = getattr(source, "read1", source.read)  # what has arrived: a host sending slowly meets the deadline
    for block in iter(lambda: read(CHUNK), b""):
        digest.update(block)
        handle.write(block)
        if budget is not None and budget.left() <= 0:
            raise _Overdue


UNREACHABLE_FOR_S = 60.0  # a host that could not be reached is not tried again for this long
_unreachable: dict[str, tuple[float, str]] = {}  # host:port -> (when it failed, why), this process only
_unreachable_lock = threading.Lock()


def remembered_failure(location: str) -> str | None:
    """Why `location`'s host failed within UNREACHABLE_FOR_S, or None: a batch of 100 images with an
    unreachable metric weight would otherwise wait for DNS once per image, and every run of a model whose
    host does not answer would wait STUDIO_FETCH_TIMEOUT_S again."""
    with _unreachable_lock:
        failed = _unreachable.get(urlparse(location).netloc)
    if failed and time.monotonic() - failed[0] < UNREACHABLE_FOR_S:
        return failed[1]
    return None


def remember_failure(location: str, reason: str) -> None:
    """Keep `location`'s host as failed (for `reason`) for UNREACHABLE_FOR_S."""
    with _unreachable_lock:
        _unreachable[urlparse(location).netloc] = (time.monotonic(), reason)


def fetch_to(location: str, dest: Path, sha256: str | None, budget: Budget | None = None) -> Path:
    """Copy `location` (a local path or URL) to `dest`, checking sha256 when given, within `budget`.

    Raises WeightsNotAvailableError when the location cannot be read (Unreachable when it did not answer
    in time) and ChecksumMismatchError when the content is not the pinned file.
    """
    budget = budget or Budget.start()
    dest.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(prefix=dest.name + ".", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            if "://" in location and not location.startswith("file://"):
                remembered = remembered_failure(location)
                if remembered:
                    raise Unreachable(f"{place(location)}: {remembered} (less than {UNREACHABLE_FOR_S:.0f} s ago)")
                if budget.left() <= 0:  # an earlier location used the whole budget: this one is not tried
                    raise Unreachable(f"{place(location)}: not tried (the fetch's {budget.total_s:g} s were used up)")
                request = urllib.request.Request(location, headers={"User-Agent": "enhance-studio"})
                # the socket timeout bounds each connect and read, so a silent host fails after answer_s
                timeout = min(budget.answer_s, budget.left())
                with urllib.request.urlopen(request, timeout=timeout) as response:
                    _copy_stream(response, handle, digest, budget)
            else:
                local = location.removeprefix("file://")
                with open(local, "rb") as source:
                    _copy_stream(source, handle, digest)
        if sha256 and digest.hexdigest() != sha256:
            raise ChecksumMismatchError(
                f"{dest.name}: sha256 {digest.hexdigest()[:12]}… from {location} does not match the pinned "
                f"{sha256[:12]}…; the file was refused"
            )
        os.replace(tmp, dest)
        return dest
    except _Overdue:
        remember_failure(location, budget.overdue())
        raise Unreachable(f"{place(location)}: {budget.overdue()}") from None
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        if isinstance(exc, WeightsError):
            raise
        if isinstance(exc, urllib.error.HTTPError):
            raise Refused(f"{place(location)}: {short_reason(exc)}") from None
        why = short_reason(exc)
        if why == "timed out":
            why = budget.no_answer()
        if "://" in location and not location.startswith("file://"):
            remember_failure(location, why)
        raise Unreachable(f"{place(location)}: {why}") from None
    finally:
        tmp.unlink(missing_ok=True)


def fetch_verified(dest: Path, sha256: str | None, locations: list[str], budget: Budget | None = None) -> Path:
    """Fill `dest` from the first location that yields the right bytes, all within one `budget`.

    A checksum mismatch is final (a tampered mirror must not be papered over by a
    later source); an unreachable location falls through to the next one.
    """
    budget = budget or Budget.start()
    with lock_for(dest):
        if dest.exists():
            return dest
        errors: list[WeightsNotAvailableError] = []
        for location in locations:
            try:
                return fetch_to(location, dest, sha256, budget)
            except WeightsNotAvailableError as exc:
                errors.append(exc)
        if not errors:
            raise WeightsNotAvailableError(f"no source for {dest.name}")
        raise errors[-1]


def remove_quietly(path: Path) -> None:
    """Delete a file or folder if it is there; used to drop refused downloads."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def not_here(
    what: str, model_id: str, why: str, mirror: str | None = None, hub: bool = False
) -> WeightsNotAvailableError:
    """The one-line error for weights that are neither cached nor fetchable now, with what to do.

    Hub files live in huggingface_hub's cache and are not looked for in the weights mirror, so their
    advice names HF_HOME and HF_ENDPOINT instead.
    """
    if hub:
        where = "copy its Hugging Face cache (HF_HOME) from a machine that has it, or set HF_ENDPOINT to a Hub mirror"
    elif mirror:
        where = f"put {Path(what).name} in a STUDIO_WEIGHTS_MIRROR folder"
    else:
        where = "set STUDIO_WEIGHTS_MIRROR"
    return WeightsNotAvailableError(
        f"{what} for '{model_id}' is not downloaded and {why}: run `studio fetch {model_id}` on a machine "
        f"with network access, or {where}"
    )


def cannot_fetch(what: str, model_id: str, error: WeightsNotAvailableError, mirror: str | None) -> WeightsError:
    """A failed fetch as one line that says what to do: a network failure (fetch elsewhere, or use a mirror)
    or a server's refusal (the URL is stale: a mirror is the way out)."""
    if isinstance(error, Refused):
        return WeightsNotAvailableError(
            f"{what} for '{model_id}' could not be downloaded ({error}): the registry's URL may be stale; "
            f"put {Path(what).name} in a STUDIO_WEIGHTS_MIRROR folder"
        )
    return not_here(what, model_id, f"cannot be fetched now ({error})", mirror)


def url_dest(src: UrlSource, settings: Settings) -> Path:
    """Where a URL source is cached: by its sha256, or by its URL while unpinned."""
    folder = src.sha256[:16] if src.sha256 else "unpinned-" + hashlib.sha256(src.url.encode()).hexdigest()[:16]
    return settings.weights_dir / "url" / folder / src.filename


def url_locations(src: UrlSource, settings: Settings) -> list[str]:
    """Where a URL source may be fetched from now: the mirror (by file name), then the URL unless offline."""
    locations = list(mirror_locations(settings.weights_mirror, src.filename))
    if not settings.offline:
        locations.append(src.url)
    return locations


def resolve_url(model_id: str, src: UrlSource, settings: Settings) -> Path:
    """The cached file, else fetched from the mirror or the URL (refused unpinned under STUDIO_REQUIRE_PINNED)."""
    if not src.pinned and settings.require_pinned:
        raise UnpinnedRevisionError(
            f"'{model_id}' has no sha256 for {src.filename} and STUDIO_REQUIRE_PINNED=1: run `studio lock`"
        )
    dest = url_dest(src, settings)
    if dest.exists():
        return dest
    unpinned = url_dest(src.model_copy(update={"sha256": None}), settings)
    if src.pinned and unpinned.exists() and sha256_of(unpinned) == src.sha256:  # fetched before `studio lock`
        with lock_for(dest):
            dest.parent.mkdir(parents=True, exist_ok=True)
            unpinned.replace(dest)
        return dest
    locations = url_locations(src, settings)
    if not locations:
        raise not_here(src.filename, model_id, "STUDIO_OFFLINE=1 is set", settings.weights_mirror)
    try:
        return fetch_verified(dest, src.sha256, locations, Budget.of(settings))
    except (Unreachable, Refused) as exc:
        raise cannot_fetch(src.filename, model_id, exc, settings.weights_mirror) from None
