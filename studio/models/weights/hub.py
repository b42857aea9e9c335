"""`hf:` sources: huggingface_hub's own download and cache, with a fast failure when the Hub is down.

huggingface_hub owns its cache layout (HF_HOME / HF_HUB_CACHE); we only decide
whether to ask the network at all and turn its exceptions into one-line errors.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path
from urllib.parse import urlparse

from studio.core.config import Settings
from studio.core.errors import ChecksumMismatchError, UnpinnedRevisionError, WeightsError, WeightsNotAvailableError
from studio.models.schema import HubSource
from studio.models.weights.download import not_here, remove_quietly, sha256_of

_REACHABLE: dict[str, tuple[float, bool]] = {}


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


def resolve_hub(model_id: str, src: HubSource, settings: Settings) -> Path:
    """The local path of a Hub file (companions beside it), downloaded once and sha256-checked when pinned."""
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
    offline = settings.hub_offline or (not cached and not endpoint_reachable(settings.hf_endpoint))
    local_only = offline or (cached and src.pinned)
    paths: list[Path] = []
    for name in (src.filename, *src.companions):
        try:
            path = hf_hub_download(
                src.repo_id,
                name,
                revision=src.revision,
                cache_dir=settings.hf_cache,
                endpoint=settings.hf_endpoint,
                local_files_only=local_only,
            )
        except LocalEntryNotFoundError:
            why = (
                _offline_reason(settings)
                if settings.hub_offline
                else f"the Hub ({settings.hf_endpoint}) is unreachable"
            )
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
