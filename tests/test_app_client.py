"""The web app through its API, as gradio_client sees it, against the real server."""

from __future__ import annotations

import pytest
from gradio_client import Client, handle_file
from PIL import Image

from .appserver import AppServer


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("app")
    env = {"STUDIO_WEIGHTS_DIR": str(home / "w"), "HF_HOME": str(home / "hf"), "HF_HUB_OFFLINE": "1"}
    app = AppServer(env, home / "app.log").wait_ready()
    yield app
    app.stop()


@pytest.fixture(scope="module")
def client(server):
    return Client(server.url, verbose=False)


def test_enhance_endpoint_returns_before_after_and_table(client, tmp_path, photo):
    path = tmp_path / "in.png"
    Image.fromarray(photo[:100, :120]).save(path)
    slider, table = client.predict(handle_file(str(path)), "lanczos-x2", api_name="/enhance")
    before, after = (Image.open(p) for p in slider)
    assert before.size == after.size == (240, 200)
    assert table["data"][0][:2] == ["lanczos-x2", "240x200"]


def test_bad_upload_gets_a_friendly_error(client, tmp_path):
    path = tmp_path / "broken.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with pytest.raises(Exception, match="not a supported image|truncated or corrupt"):
        client.predict(handle_file(str(path)), "clahe", api_name="/enhance")
