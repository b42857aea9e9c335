"""The server log: a user's mistake is one line there (not a traceback). A bug keeps its traceback under an
error id: tests/ui/test_faults.py (unit) and tests/service/test_server.py (the real server)."""

from __future__ import annotations

import pytest
from gradio_client import Client, handle_file
from PIL import Image

from tests.appserver import AppServer, app_env


@pytest.fixture(scope="module")
def logged_app(tmp_path_factory, model_settings):
    """An app of its own, so its log holds only what this module triggers."""
    home = tmp_path_factory.mktemp("logged-app")
    app = AppServer(app_env(home, model_settings.weights_mirror), home / "app.log").wait_ready()
    yield app, home / "app.log"
    app.stop()


def test_refused_requests_leave_one_line_each_in_the_server_log(logged_app, tmp_path, photo):
    app, log = logged_app
    client = Client(app.url, verbose=False)
    good = tmp_path / "astronaut.png"
    Image.fromarray(photo[:64, :96]).save(good)
    other_shape = tmp_path / "building.png"
    Image.fromarray(photo[:128, :128]).save(other_shape)
    (tmp_path / "broken.png").write_bytes(b"not an image")
    refused = [
        ((tmp_path / "broken.png", ["clahe"], None), "not a supported image: expected PNG, JPEG, WebP, BMP or TIFF"),
        ((good, ["no-such-model"], None), "unknown model 'no-such-model' (see `studio models`)"),
        (
            (good, ["bicubic-x2"], other_shape),
            "the ground truth (128x128) does not match the input (96x64): their aspect ratios differ by 33%; "
            "give the sharp original of this image",
        ),
    ]
    for (image, models, reference), message in refused:
        gt = handle_file(str(reference)) if reference else None
        with pytest.raises(Exception, match="^" + message.replace("(", r"\(").replace(")", r"\)") + "$"):
            client.predict(handle_file(str(image)), models, ["psnr"], "", gt, 512, "{}", api_name="/compare")
    _, _, details = client.predict(handle_file(str(good)), ["clahe"], [], "", None, 512, "{}", api_name="/compare")
    assert details["source"] == "astronaut.png" and details["request"]["models"] == ["clahe"]
    text = log.read_text()
    assert "Traceback" not in text
    assert [line for line in text.splitlines() if "error" in line.lower()] == [
        f"user error: {message}" for _, message in refused
    ]
