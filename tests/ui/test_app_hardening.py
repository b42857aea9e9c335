"""Bad requests against the real server (#13): each gets one line naming the problem, never a traceback or
Python internals, nothing heavy runs, and the server serves the next request.

Its own app (STUDIO_MAX_MEMORY_MB=1024, so a run that would not fit is easy to ask for). Values gradio_client
cannot send (NaN, Infinity, fewer values than an endpoint takes) go over plain HTTP, as curl would send them.
"""

from __future__ import annotations

import json
import re
import struct
import time
import zipfile
import zlib
from pathlib import Path

import httpx
import numpy as np
import pytest
from gradio_client import Client, handle_file
from PIL import Image, PngImagePlugin

from tests.appserver import AppServer, app_env
from tests.video.clips import make_clip

MEMORY_MB = 1024


@pytest.fixture(scope="module")
def app_server(tmp_path_factory, model_settings):
    home = tmp_path_factory.mktemp("hardened-app")
    env = app_env(home, model_settings.weights_mirror, STUDIO_MAX_MEMORY_MB=str(MEMORY_MB))
    app = AppServer(env, home / "app.log").wait_ready()
    app.log_path = home / "app.log"
    yield app
    app.stop()


@pytest.fixture(scope="module")
def client(app_server):
    return Client(app_server.url, verbose=False)


@pytest.fixture
def photo_path(tmp_path, photo):
    return save(tmp_path / "in.png", photo[:96, :120])


def save(path: Path, rgb: np.ndarray) -> Path:
    Image.fromarray(np.ascontiguousarray(rgb)).save(path)
    return path


def compare(client, path, models=("clahe",), metrics=(), recipe="", preview=512, params="{}"):
    return client.predict(
        handle_file(str(path)), list(models), list(metrics), recipe, None, preview, params, "auto", "auto",
        api_name="/compare",
    )  # fmt: skip


def refused(call, message: str, within_s: float = 5.0) -> str:
    """Run `call`, which must fail with exactly one line matching `message`, quickly."""
    started = time.perf_counter()
    with pytest.raises(Exception) as failure:
        call()
    text = str(failure.value)
    assert re.search(message, text), text
    assert "\n" not in text and "Traceback" not in text and " object at 0x" not in text, text
    assert time.perf_counter() - started < within_s
    return text


def still_serving(client, photo_path) -> None:
    gallery, _, _ = compare(client, photo_path)
    assert [item["caption"] for item in gallery] == ["clahe"]


class RawApi:
    """The HTTP API as curl sees it: a JSON body written by hand, the event stream read back."""

    def __init__(self, url: str):
        self.url = url.rstrip("/")

    def upload(self, path: Path) -> str:
        with path.open("rb") as handle:
            response = httpx.post(f"{self.url}/gradio_api/upload", files={"files": handle}, timeout=30)
        response.raise_for_status()
        return json.dumps({"path": response.json()[0], "meta": {"_type": "gradio.FileData"}})

    def call(self, api: str, body: str) -> tuple[str, str]:
        """(event, data) of the call's last event: "complete" with the outputs, or "error" with the message."""
        posted = httpx.post(
            f"{self.url}/gradio_api/call/{api}", content=body, headers={"Content-Type": "application/json"}
        )
        posted.raise_for_status()
        stream = httpx.get(f"{self.url}/gradio_api/call/{api}/{posted.json()['event_id']}", timeout=120)
        events = re.findall(r"event: (\w+)\ndata: (.*)", stream.text)
        return events[-1]

    def error(self, api: str, body: str) -> str:
        event, data = self.call(api, body)
        assert event == "error", data
        message = json.loads(data)["error"]
        assert message and "\n" not in message and " object at 0x" not in message, message
        return message


@pytest.fixture(scope="module")
def raw(app_server):
    return RawApi(app_server.url)


def test_more_model_ids_than_the_page_offers_are_refused_at_once(client, photo_path, tmp_path):
    """1000 ids took 50.8 s before; the page caps at 8, and so does every endpoint now."""
    for ids in ([f"model-{i}" for i in range(1000)], ["clahe"] * 1000):
        refused(lambda ids=ids: compare(client, photo_path, ids), r"^pick at most 8 models \(got 1000\)$", 3)
    clip = make_clip(tmp_path / "clip.mp4", frames=4, size=(64, 48), fps=4)
    refused(
        lambda: client.predict(
            handle_file(str(clip)), ["clahe"] * 1000, [], "", 512, 4, "", "{}", "auto", "auto", api_name="/video"
        ),
        r"^pick at most 8 models \(got 1000\)$",
        3,
    )
    still_serving(client, photo_path)


def test_previews_that_are_not_whole_numbers_in_range_are_one_line(client, raw, photo_path):
    refused(lambda: compare(client, photo_path, preview=-5), r"^preview must be between 16 and 16384 \(0 = off\)")
    image = raw.upload(photo_path)
    for value, shown in (("NaN", "nan"), ("Infinity", "inf"), ("-Infinity", "-inf")):
        body = f'{{"data": [{image}, ["clahe"], [], "", null, {value}, "{{}}", "auto", "auto"]}}'
        assert raw.error("compare", body) == f"preview must be a whole number, got {shown}"
        video = f'{{"data": [{image}, ["clahe"], [], "", {value}, 4, "", "{{}}", "auto", "auto"]}}'
        assert raw.error("video", video) == f"preview must be a whole number, got {shown}"
    # the page's Run (its first step, /build_request) reads its preview slider the same way: NaN was a raw
    # "cannot convert float NaN to integer"
    form = (
        f'{{"data": [{image}, true, NaN, "none", 4, "none", 1.2, 9, 0, 0, 0, 0, null, [], "auto", "auto", "auto", '
        '[], [], [], [], ["clahe"]]}'
    )
    assert raw.error("build_request", form) == "preview must be a whole number, got nan"
    still_serving(client, photo_path)


def test_malformed_parameters_are_one_line(client, photo_path):
    refused(
        lambda: compare(client, photo_path, ["unsharp-mask"], params='{"unsharp-mask": 5}'),
        r"^parameters for 'unsharp-mask' must be an object, like \{\"unsharp-mask\": \{\"amount\": 1.5\}\}$",
    )
    refused(
        lambda: compare(client, photo_path, ["unsharp-mask"], params='{"unsharp-mask": {"amount": NaN}}'),
        r"^parameters may not contain NaN: give finite numbers$",
    )
    refused(
        lambda: compare(client, photo_path, ["unsharp-mask"], params="{'unsharp-mask': {'amount': 2}}"),
        r"^parameters are not valid JSON \(Expecting property name enclosed in double quotes\): give an object",
    )
    still_serving(client, photo_path)


def test_recipes_and_seeds_are_bounded(client, raw, photo_path):
    """blur=gauss:2000 added 3.35 GB and took 20 s; seed 10^30 ran and then lost the response in its JSON."""
    refused(
        lambda: compare(client, photo_path, recipe="x4,blur=gauss:2000"),
        r"^blur sigma must be between 0.1 and 10, got 2000$",
        2,
    )
    refused(
        lambda: compare(client, photo_path, recipe="x2,seed=" + "1" + "0" * 30),
        r"^seed must be a whole number between 0 and 4294967295, got 1e\+30$",
    )
    image = raw.upload(photo_path)
    form = (
        f'{{"data": [{image}, true, 512, "synthetic degradation", 2, "none", 1.2, 9, 0, 0, 0, 1e30, null, [], '
        '"auto", "auto", "auto", [], [], [], [], ["clahe"]]}'
    )
    assert raw.error("build_request", form) == "seed must be a whole number between 0 and 4294967295, got 1e+30"
    still_serving(client, photo_path)


def test_missing_trailing_values_are_named(raw, client, photo_path):
    image = raw.upload(photo_path)
    message = raw.error("compare", f'{{"data": [{image}, ["clahe"], [], "", null]}}')
    assert message == (
        "/compare takes 9 values (and optionally 'device') and got 5: 'preview long side (0 = full size)', "
        "'per-model parameters as JSON', 'backend', 'precision' are missing (send every value, in order)"
    )
    assert raw.error("video", f'{{"data": [{image}]}}').startswith(
        "/video takes 10 values (and optionally 'device') and got 1: 'model ids',"
    )
    still_serving(client, photo_path)


def test_device_may_be_left_out_and_one_a_model_cannot_use_is_its_error(raw, client, photo_path):
    """/compare gained `device` last: the nine values callers sent before still run over plain HTTP (device
    auto), and a device a model cannot run on is that model's one-line error."""
    image = raw.upload(photo_path)
    event, data = raw.call("compare", f'{{"data": [{image}, ["clahe"], [], "", null, 512, "{{}}", "auto", "auto"]}}')
    assert event == "complete", data
    assert [(row["model"], row["device"], row["error"]) for row in json.loads(data)[2]["rows"]] == [
        ("clahe", "cpu", "")
    ]
    _, _, details = client.predict(
        handle_file(str(photo_path)), ["clahe"], [], "", None, 512, "{}", "auto", "auto", "vulkan", api_name="/compare"
    )
    assert details["rows"][0]["error"] == "'clahe' is a classical filter: it runs on the CPU, not on vulkan"
    still_serving(client, photo_path)


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


@pytest.mark.parametrize("kind", [b"zTXt", b"iCCP", b"iTXt"])
def test_png_chunk_bombs_are_refused_as_such(client, tmp_path, photo_path, kind):
    bomb = zlib.compress(b"\0" * (PngImagePlugin.MAX_TEXT_CHUNK + 4096), 9)
    header = {b"zTXt": b"k\0\0", b"iCCP": b"p\0\0", b"iTXt": b"k\0\x01\0\0\0"}[kind]
    clean = photo_path.read_bytes()
    path = tmp_path / "bomb.png"
    path.write_bytes(clean[:33] + _chunk(kind, header + bomb) + clean[33:])  # right after IHDR
    refused(lambda: compare(client, path), r"^the PNG file has a compressed text or colour-profile chunk that expands")
    still_serving(client, photo_path)


def test_a_one_pixel_image_with_a_x4_recipe_is_refused_in_our_words(client, tmp_path, photo_path):
    one = save(tmp_path / "one.png", np.full((1, 1, 3), 128, np.uint8))
    refused(
        lambda: compare(client, one, recipe="x4"),
        r"^the image is 1x1: a x4 degradation needs at least 4 px on each side \(use a larger image or a smaller",
    )
    gallery, _, _ = compare(client, one, ["lanczos-x4", "clahe"], preview=0)  # without a recipe it runs
    assert {item["caption"]: Image.open(item["image"]).size for item in gallery} == {
        "lanczos-x4": (4, 4),
        "clahe": (1, 1),
    }


def _paths(value) -> list[str]:
    """Every file path in a /run response (nested lists and dicts)."""
    if isinstance(value, str):
        return [value] if Path(value).suffix else []
    if isinstance(value, dict):
        return [path for item in value.values() for path in _paths(item)]
    if isinstance(value, (list, tuple)):
        return [path for item in value for path in _paths(item)]
    return []


def test_an_output_wider_than_webp_allows_stays_downloadable_as_png(app_server, tmp_path):
    """A 20000x1 output with WebP chosen lost the whole response after the work was done; now the run ends
    normally and that one download is a PNG (the page and API images are PNG anyway)."""
    wide = save(tmp_path / "wide.png", np.random.default_rng(1).integers(0, 256, (1, 20000, 3), dtype=np.uint8))
    session = Client(app_server.url, verbose=False)
    session.predict(
        handle_file(str(wide)), False, 512, "none", 4, "none", 1.2, 9, 0, 0, 0, 0, None, [], "auto", "auto", "auto",
        [], [], [], [], ["clahe"], api_name="/build_request",
    )  # fmt: skip
    outputs = session.predict(handle_file(str(wide)), None, "webp", api_name="/run")
    paths = _paths(outputs)
    assert "clahe.png" in {Path(path).name for path in paths} and not [p for p in paths if p.endswith(".webp")]
    (archive,) = [path for path in paths if path.endswith(".zip")]
    with zipfile.ZipFile(archive) as bundle:
        assert {"clahe.png", "input.png", "results.json"} <= set(bundle.namelist())


def test_a_run_that_would_not_fit_in_memory_is_refused_with_a_preview_that_does(client, tmp_path, photo):
    """A 4000x4000 upload through an x4 model at full size ran for minutes, peaked over 12.9 GB and failed;
    now it is refused before it starts, and the preview it names runs."""
    big = save(tmp_path / "big.png", np.asarray(Image.fromarray(photo).resize((1400, 1050))))
    message = refused(
        lambda: compare(client, big, ["lanczos-x4"], ["colourfulness"], preview=0),
        r"^this run would need about \S+ (MB|GB) of memory \(lanczos-x4 makes a 5600x4200 output from 1400x1050\), "
        r"more than the 1\.0 GB allowed by STUDIO_MAX_MEMORY_MB: use a preview long side of \d+ px or less$",
    )
    side = int(re.search(r"of (\d+) px or less", message).group(1))
    gallery, _, details = compare(client, big, ["lanczos-x4"], ["colourfulness"], preview=side)
    assert max(Image.open(gallery[0]["image"]).size) == 4 * side and not details["rows"][0]["error"]


def test_a_video_run_that_would_not_fit_is_refused_before_a_frame_is_decoded(client, tmp_path):
    clip = make_clip(tmp_path / "clip.mp4", frames=8, size=(320, 240), fps=8)
    refused(
        lambda: client.predict(
            handle_file(str(clip)), ["realcugan-se-x2"], [], "", 0, 8, "", "{}", "ncnn", "fp32", api_name="/video"
        ),
        r"^this video run would need about 1\.\d GB of memory \(realcugan-se-x2 makes a 640x480 output from "
        r"320x240\), more than the 1\.0 GB allowed by STUDIO_MAX_MEMORY_MB: use a preview long side of 128 px",
    )


def test_none_of_these_left_a_traceback_in_the_log(app_server):
    """Every refusal above is one `user error:` line in the server log; no traceback was printed."""
    log = app_server.log_path.read_text()
    assert "user error: pick at most 8 models (got 1000)" in log
    assert "Traceback" not in log, log[-3000:]


@pytest.mark.parametrize(
    ("preview", "message"),
    [(float("nan"), "preview must be a whole number, got nan"), (-5, "preview must be between 16 and 16384")],
)
def test_the_blur_estimate_reads_its_preview_as_a_run_does(settings, photo_path, preview, message):
    """Estimate blur limits the upload as the run will: a negative preview made a 1x1 image of it before."""
    import gradio as gr

    from studio.models.registry import load_registry
    from studio.ui.compare.blur import estimate_for

    specs = [load_registry(settings).get("wiener-motion")]
    with pytest.raises(gr.Error, match=message):
        estimate_for(specs, 10**7, str(photo_path), True, preview)
    assert estimate_for(specs, 10**7, str(photo_path), True, 64)[2] == "64x51 (the run's preview of the 120x96 upload)"
