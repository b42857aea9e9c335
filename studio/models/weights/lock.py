"""`studio lock`: pin Hub sources to commits and record Hub and URL sha256s in a registry file.

Needs the network (or HF_ENDPOINT pointing at a Hub-compatible server). The file
is rewritten as plain YAML: the registry is data only, so nothing is lost.

Each entry is locked within one Budget, as `studio fetch` fetches (issue #13): the Hub's answer about a
branch is awaited STUDIO_FETCH_TIMEOUT_S under the same watchdog (watch.py), and the file itself is
downloaded through the weight store (hub.py, download.py), so a Hub or URL that accepts connections and
never answers ends the command in one line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from studio.core.config import Settings
from studio.core.errors import RegistryError, WeightsError, WeightsNotAvailableError, described
from studio.models.registry import parse_registry_file
from studio.models.schema import COMMIT_RE, HubSource, SourceSpec, UrlSource
from studio.models.weights.download import Budget, remember_failure, sha256_of
from studio.models.weights.watch import NoAnswer, run_watched


@dataclass(frozen=True)
class LockChange:
    model_id: str
    pinned_to: str  # the Hub commit, or the URL whose content the sha256 now pins
    sha256: str


def _resolve_commit(repo_id: str, revision: str, settings: Settings) -> str:
    """The commit a branch or tag names now, asked of the Hub within the fetch's Budget."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    if COMMIT_RE.match(revision):
        return revision
    budget = Budget.of(settings)

    def ask(answered) -> object:
        # the watchdog decides "no answer" (no race with the library's read timeout); this bounds the thread
        return HfApi(endpoint=settings.hf_endpoint).model_info(repo_id, revision=revision, timeout=budget.total_s)

    try:
        info = run_watched(ask, budget, name="hub-lock")
    except NoAnswer as exc:
        remember_failure(settings.hf_endpoint, exc.reason)
        raise WeightsNotAvailableError(
            f"cannot resolve {repo_id}@{revision}: the Hub ({settings.hf_endpoint}) {exc.reason}: run `studio lock` "
            "again on a machine with network access, or set HF_ENDPOINT to a Hub mirror"
        ) from None
    except (HfHubHTTPError, OSError) as exc:
        raise WeightsError(f"cannot resolve {repo_id}@{revision}: {str(exc).splitlines()[0]}") from None
    except Exception as exc:  # the HTTP client's own transport errors (a refused connection): not OSErrors
        raise WeightsError(f"cannot resolve {repo_id}@{revision}: {described(exc)}") from None
    if not info.sha:
        raise WeightsError(f"the Hub returned no commit for {repo_id}@{revision}")
    return info.sha


def _hub_sha256(model_id: str, hub: dict, commit: str, settings: Settings) -> str:
    """Download the Hub file at `commit` as `studio fetch` does (its cache, its deadlines) and hash it."""
    from studio.models.weights.store import WeightStore

    src = HubSource(**{**hub, "revision": commit, "sha256": None})
    return sha256_of(WeightStore(settings).resolve_source(model_id, SourceSpec(hf=src)))


def _url_sha256(model_id: str, url: dict, settings: Settings) -> str:
    """Download an unpinned URL source (weights mirror first) and hash what arrived."""
    from studio.models.weights.store import WeightStore

    return sha256_of(WeightStore(settings).resolve_source(model_id, SourceSpec(url=UrlSource(**url))))


def lock_registry(path: Path, settings: Settings) -> list[LockChange]:
    """Pin every Hub entry that lacks a commit or a sha256, and record the sha256 of every URL entry
    that lacks one; returns what changed."""
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
        digest = _hub_sha256(entry["id"], hub, commit, settings)
        hub["revision"] = commit
        hub["sha256"] = digest
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
