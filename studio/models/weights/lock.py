"""`studio lock`: pin Hub sources to commits and record Hub and URL sha256s in a registry file.

Needs the network (or HF_ENDPOINT pointing at a Hub-compatible server). The file
is rewritten as plain YAML: the registry is data only, so nothing is lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from studio.core.config import Settings
from studio.core.errors import RegistryError, WeightsError
from studio.models.registry import parse_registry_file
from studio.models.schema import COMMIT_RE, SourceSpec, UrlSource
from studio.models.weights.download import sha256_of


@dataclass(frozen=True)
class LockChange:
    model_id: str
    pinned_to: str  # the Hub commit, or the URL whose content the sha256 now pins
    sha256: str


def _resolve_commit(repo_id: str, revision: str, settings: Settings) -> str:
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    if COMMIT_RE.match(revision):
        return revision
    try:
        info = HfApi(endpoint=settings.hf_endpoint).model_info(repo_id, revision=revision)
    except (HfHubHTTPError, OSError) as exc:
        raise WeightsError(f"cannot resolve {repo_id}@{revision}: {str(exc).splitlines()[0]}") from None
    if not info.sha:
        raise WeightsError(f"the Hub returned no commit for {repo_id}@{revision}")
    return info.sha


def _url_sha256(model_id: str, url: dict, settings: Settings) -> str:
    """Download an unpinned URL source (weights mirror first) and hash what arrived."""
    from studio.models.weights.store import WeightStore

    return sha256_of(WeightStore(settings).resolve_source(model_id, SourceSpec(url=UrlSource(**url))))


def lock_registry(path: Path, settings: Settings) -> list[LockChange]:
    """Pin every Hub entry that lacks a commit or a sha256, and record the sha256 of every URL entry
    that lacks one; returns what changed."""
    from huggingface_hub import hf_hub_download

    parse_registry_file(path)  # refuse to touch an invalid file
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    changes: list[LockChange] = []
    for entry in data["models"]:
        url = entry.get("source", {}).get("url")
        if url and not url.get("sha256"):
            url["sha256"] = _url_sha256(entry["id"], url, settings)
            changes.append(LockChange(entry["id"], url["url"], url["sha256"]))
            continue
        hub = entry.get("source", {}).get("hf")
        if not hub or (COMMIT_RE.match(str(hub.get("revision", ""))) and hub.get("sha256")):
            continue
        commit = _resolve_commit(hub["repo_id"], str(hub.get("revision", "main")), settings)
        try:
            local = hf_hub_download(
                hub["repo_id"],
                hub["filename"],
                revision=commit,
                cache_dir=settings.hf_cache,
                endpoint=settings.hf_endpoint,
            )
        except Exception as exc:
            raise WeightsError(f"cannot download {hub['repo_id']}/{hub['filename']}: {exc}") from None
        hub["revision"] = commit
        hub["sha256"] = sha256_of(Path(local))
        changes.append(LockChange(entry["id"], commit, hub["sha256"]))
    if changes:
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=120)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        try:
            parse_registry_file(tmp)
        except RegistryError:
            tmp.unlink(missing_ok=True)
            raise
        tmp.replace(path)
    return changes
