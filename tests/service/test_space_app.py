"""The real app (app.py in a subprocess) started as on a Hugging Face Space with persistent storage: the data, the
ratings database and the weights go there, the chosen models are prefetched at start with progress in the log and
in /readyz, and the page says the data is kept."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.appserver import AppServer
from tests.paths import SHARED_WEIGHTS

pytestmark = [
    pytest.mark.slow,
    pytest.mark.network,
    pytest.mark.skipif(not (SHARED_WEIGHTS / "opencv-dnn-superres").exists(), reason="needs ../shared/weights"),
]


@pytest.fixture(scope="module")
def space_app(tmp_path_factory):
    home = tmp_path_factory.mktemp("space-app")
    storage = home / "data"  # stands for the Space's /data
    storage.mkdir()
    env = {
        "SPACE_ID": "someone/enhance-studio",
        "STUDIO_PERSISTENT_DIR": str(storage),
        "STUDIO_PREFETCH": "lanczos-x4,espcn-x4",
        "STUDIO_WEIGHTS_MIRROR": str(SHARED_WEIGHTS),
        "HF_HUB_OFFLINE": "1",
        "STUDIO_OFFLINE": "1",
    }
    app = AppServer(env, home / "app.log").wait_ready()
    app.storage = storage
    yield app
    app.stop()


def ready(app: AppServer, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        answer = httpx.get(app.url + "readyz", timeout=10)
        if answer.status_code == 200 or time.monotonic() > deadline:
            return answer.json()
        time.sleep(0.2)


def test_a_space_keeps_its_data_on_persistent_storage_and_prefetches_its_models(space_app):
    body = ready(space_app)
    assert body["status"] == "ready", body
    assert body["checks"]["prefetch"] == "2 of 2 models loaded: lanczos-x4, espcn-x4"
    log = space_app.log_path.read_text()
    for line in (
        "prefetch: 2 model(s) to load at start: lanczos-x4, espcn-x4",
        "prefetch 1/2: loading lanczos-x4",
        "prefetch 2/2: espcn-x4 loaded in",
    ):
        assert line in log, log[-3000:]

    kept = space_app.storage / "enhance-studio"
    assert any((kept / "data" / "ratings").iterdir())  # the SQLite database /readyz just wrote to
    assert any(path.name.lower().startswith("espcn") for path in (kept / "weights").rglob("*") if path.is_file())

    config = httpx.get(space_app.url + "config", timeout=10).text
    assert f"Data is kept in `{kept / 'data'}` (persistent storage)." in config
