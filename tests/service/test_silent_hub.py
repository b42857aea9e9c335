"""Through the real server (issue #13): a Hub that accepts connections and never answers held one user's
`/compare` for 393 s, and another user's lanczos request waited 390 s behind it. Now the hung download ends
after STUDIO_FETCH_TIMEOUT_S with one line in its row, the other user's run does not wait for it at all, and the
next run of the hung model fails at once (the Hub is remembered for a minute)."""

from __future__ import annotations

import threading
import time

import pytest
from gradio_client import Client, handle_file
from PIL import Image

from tests.appserver import AppServer, app_env
from tests.cli.helpers import hub_entry, write_registry

pytestmark = [pytest.mark.slow, pytest.mark.network]  # a real server and a local host (no fixture marks these)
TIMEOUT_S = 5


@pytest.fixture
def app(tmp_path, silent):
    registry = write_registry(tmp_path / "registry.yaml", hub_entry())
    env = {
        **app_env(tmp_path, None, offline=False),
        "HF_HUB_OFFLINE": None,  # online: its Hub is the silent host
        "STUDIO_OFFLINE": None,
        "HF_ENDPOINT": silent.url,
        "STUDIO_REGISTRY": str(registry),
        "STUDIO_FETCH_TIMEOUT_S": str(TIMEOUT_S),
    }
    server = AppServer(env, tmp_path / "app.log")
    yield server.wait_ready()
    server.kill()


def compare(client: Client, image: str, model: str) -> tuple[dict, float]:
    """The /compare API's table for one model, and the seconds the call took."""
    started = time.monotonic()
    _, table, _ = client.predict(handle_file(image), [model], [], "", None, 512, "{}", api_name="/compare")
    return table, time.monotonic() - started


def test_another_users_run_does_not_wait_for_a_hung_download(app, silent, tmp_path, small_photo):
    image = str(tmp_path / "in.png")
    Image.fromarray(small_photo).save(image)
    first, second = (Client(app.url, verbose=False, download_files=False) for _ in range(2))
    compare(second, image, "lanczos-x2")  # a first run pays for imports and caches: measure the usual one
    hung: dict = {}

    def hung_run() -> None:
        hung["table"], hung["seconds"] = compare(first, image, "acme-net")

    thread = threading.Thread(target=hung_run)
    thread.start()
    silent.wait_for_connection(2)  # the reachability probe, then the Hub request that never gets an answer
    table, lanczos_s = compare(second, image, "lanczos-x2")
    still_hung = thread.is_alive()
    thread.join()
    print(f"hung /compare ended after {hung['seconds']:.2f} s; lanczos-x2 meanwhile took {lanczos_s:.2f} s")
    assert still_hung and lanczos_s < TIMEOUT_S - 1
    lanczos = dict(zip(table["headers"], table["data"][0], strict=True))
    assert lanczos["model"] == "lanczos-x2" and not lanczos.get("error")
    failed = dict(zip(hung["table"]["headers"], hung["table"]["data"][0], strict=True))
    assert f"did not answer within {TIMEOUT_S} s" in failed["error"] and "\n" not in failed["error"]
    assert TIMEOUT_S <= hung["seconds"] < TIMEOUT_S + 5
    again, again_s = compare(first, image, "acme-net")  # the Hub is remembered: no second wait
    assert again_s < 6 and "less than 60 s ago" in dict(zip(again["headers"], again["data"][0], strict=True))["error"]
