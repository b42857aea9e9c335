"""`hf:` sources: huggingface_hub's own download and cache, with a fast failure when the Hub is down.

huggingface_hub owns its cache layout (HF_HOME / HF_HUB_CACHE); we only decide
whether to ask the network at all, bound how long it may wait (watch.py) and turn
its exceptions into one-line errors. A Hub that did not answer is not asked again
for a minute (download.remember_failure), so later runs fail at once.
"""

from __future__ import annotations

import hashlib
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from filelock import Timeout

from studio.core.config import Settings
from studio.core.errors import ChecksumMismatchError, UnpinnedRevisionError, WeightsError, WeightsNotAvailableError
from studio.models.schema import HubSource
from studio.models.weights.download import (
    UNREACHABLE_FOR_S,
    Budget,
    lock_for,
    not_here,
    remember_failure,
    remembered_failure,
    remove_quietly,
    sha256_of,
)
from studio.models.weights.watch import NoAnswer, run_watched

_REACHABLE: dict[str, tuple[float, bool]] = {}
UPDATE_CHECK_S = 10.0  # seconds a cached, unpinned file waits for the Hub's answer before it is used as it is


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


def hub_cached(src: HubSource, settings: Settings) -> bool:
    """Whether the file and its companions are in the Hub cache (no network)."""
    from huggingface_hub import try_to_load_from_cache

    names = [src.filename, *src.companions]
    found = [
        try_to_load_from_cache(src.repo_id, name, cache_dir=settings.hf_cache, revision=src.revision) for name in names
    ]
    return all(isinstance(path, str) for path in found)


def _offline_reason(settings: Settings) -> str:
    return "STUDIO_OFFLINE=1 is set" if settings.offline else "HF_HUB_OFFLINE=1 is set"


def _answer_signal(answered: Callable[[], None]) -> type:
    """A huggingface_hub progress bar class that reports its creation: the bar is made once the file's bytes
    start to arrive, i.e. once the Hub has answered (its display is huggingface_hub's as ever)."""
    from huggingface_hub.utils import tqdm

    class AnswerSignal(tqdm):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            answered()
            super().__init__(*args, **kwargs)

    return AnswerSignal


def resolve_hub(model_id: str, src: HubSource, settings: Settings) -> Path:
    """The local path of a Hub file (companions beside it), downloaded once and sha256-checked when pinned.

    One download of a file at a time, across the processes that share its Hub cache (web replicas) and the
    threads of one: the others wait for it here, outside the watchdog, then find the file in the cache.
    huggingface_hub's own lock alone would keep them waiting inside the watched download, where a wait for
    another download longer than STUDIO_FETCH_TIMEOUT_S read as a Hub that did not answer."""
    if settings.hub_offline or hub_cached(src, settings):
        return _resolve_hub(model_id, src, settings)
    key = hashlib.sha256(f"{src.repo_id}\0{src.revision}\0{src.filename}".encode()).hexdigest()[:32]
    lock = lock_for(settings.hf_cache / ".locks" / "enhance-studio" / key)
    try:
        lock.acquire(timeout=settings.fetch_max_s)
    except Timeout:
        raise WeightsNotAvailableError(
            f"{src.repo_id}/{src.filename} for '{model_id}': another download of it has not finished within "
            f"{settings.fetch_max_s:g} s (STUDIO_FETCH_MAX_S)"
        ) from None
    try:
        return _resolve_hub(model_id, src, settings)
    finally:
        lock.release()


def _resolve_hub(model_id: str, src: HubSource, settings: Settings) -> Path:
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import (
        EntryNotFoundError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    if not src.pinned and settings.require_pinned:
        raise UnpinnedRevisionError(
            f"'{model_id}' uses revision '{src.revision}', not a commit, and STUDIO_REQUIRE_PINNED=1: run `studio lock`"
        )
    cached = hub_cached(src, settings)
    failed = None if settings.hub_offline else remembered_failure(settings.hf_endpoint)
    offline = settings.hub_offline or (not cached and (failed or not endpoint_reachable(settings.hf_endpoint)))
    local_only = bool(offline or (cached and (src.pinned or failed)))
    budget = Budget.of(settings)
    # a cached file is only checked for a newer revision, and kept when the Hub is silent: a short check
    etag_timeout = min(settings.fetch_timeout_s, UPDATE_CHECK_S) if cached else settings.fetch_timeout_s
    paths: list[Path] = []
    for name in (src.filename, *src.companions):

        def download(answered: Callable[[], None], name: str = name) -> str:
            return hf_hub_download(
                src.repo_id,
                name,
                revision=src.revision,
                cache_dir=settings.hf_cache,
                endpoint=settings.hf_endpoint,
                local_files_only=local_only,
                etag_timeout=etag_timeout,
                tqdm_class=_answer_signal(answered),
            )

        try:
            path = download(lambda: None) if local_only or cached else run_watched(download, budget)
        except NoAnswer as exc:
            remember_failure(settings.hf_endpoint, exc.reason)
            why = f"cannot be fetched now (the Hub ({settings.hf_endpoint}) {exc.reason})"
            raise not_here(f"{src.repo_id}/{name}", model_id, why, hub=True) from None
        except LocalEntryNotFoundError:
            if settings.hub_offline:
                why = _offline_reason(settings)
            elif failed:
                why = (
                    f"cannot be fetched now (the Hub ({settings.hf_endpoint}) {failed}, "
                    f"less than {UNREACHABLE_FOR_S:.0f} s ago)"
                )
            else:
                why = f"the Hub ({settings.hf_endpoint}) is unreachable"
            raise not_here(f"{src.repo_id}/{name}", model_id, why, hub=True) from None
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
