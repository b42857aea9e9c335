"""The web app through its API, as gradio_client sees it, against the real server."""

from __future__ import annotations

import pytest
from gradio_client import Client, handle_file
from PIL import Image

from tests.environment import FORCED_MACHINE_CLASS


@pytest.fixture(scope="module")
def client(app_server):
    return Client(app_server.url, verbose=False)


def machine() -> str:
    """The machine class the app server decides defaults by (it runs under the same forced class)."""
    from studio.models.backends.devices import machine_class

    return machine_class(FORCED_MACHINE_CLASS)


def ncnn_device() -> str:
    """Where the app runs an ncnn network: a real Vulkan GPU (never a software one) when the class allows GPUs."""
    from studio.models.backends.devices import gpu_allowed
    from studio.models.backends.ncnn import find_vulkan_gpu

    return "vulkan" if gpu_allowed(FORCED_MACHINE_CLASS) and find_vulkan_gpu() is not None else "cpu"


@pytest.fixture
def photo_path(tmp_path, photo):
    path = tmp_path / "in.png"
    Image.fromarray(photo[:96, :120]).save(path)
    return path


def test_compare_two_classical_and_one_neural_model(client, photo_path):
    gallery, table, details = client.predict(
        handle_file(str(photo_path)),
        ["lanczos-x2", "unsharp-mask", "realesr-animevideov3-x2"],
        ["sharpness", "colourfulness"],
        "",
        None,
        0,
        '{"unsharp-mask": {"amount": 2.0}}',
        "ncnn",  # explicit: the default form and precision differ per machine class
        "fp32",
        api_name="/compare",
    )
    sizes = {item["caption"]: Image.open(item["image"]).size for item in gallery}
    assert sizes == {"lanczos-x2": (240, 192), "unsharp-mask": (120, 96), "realesr-animevideov3-x2": (240, 192)}
    headers, rows = table["headers"], table["data"]
    assert {"model", "backend", "output", "first ms", "MP/s", "Sharpness ↑", "Colourfulness ↑"} <= set(headers)
    by_model = {row[headers.index("model")]: dict(zip(headers, row, strict=True)) for row in rows}
    assert by_model["realesr-animevideov3-x2"]["backend"] == "ncnn"
    assert by_model["unsharp-mask"]["Sharpness ↑"] > 0 and by_model["lanczos-x2"]["output"] == "240x192"
    assert details["rows"][1]["model"] == "unsharp-mask"
    runtime = {model: (row["backend"], row["device"], row["precision"]) for model, row in by_model.items()}
    assert runtime == {
        "lanczos-x2": ("classical", "cpu", "fp32"),
        "unsharp-mask": ("classical", "cpu", "fp32"),
        "realesr-animevideov3-x2": ("ncnn", ncnn_device(), "fp32"),
    }
    assert {row["model"]: (row["backend"], row["device"], row["precision"]) for row in details["rows"]} == runtime


def test_reference_mode_through_the_api(client, photo_path):
    _, table, details = client.predict(
        handle_file(str(photo_path)),
        ["bicubic-x2", "lanczos-x2"],
        ["psnr_y", "ssim_y"],
        "x2,seed=3",
        None,
        0,
        "{}",
        api_name="/compare",
    )
    assert details["degradation"]["text"] == "x2,seed=3"
    psnr_column = table["headers"].index("PSNR-Y ↑")
    assert all(20 < row[psnr_column] < 50 for row in table["data"])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x89PNG\r\n\x1a\n not really", "not a supported image|truncated or corrupt"),
        (b"GIF89a" + b"\0" * 20, "not a supported image|GIF images are not supported"),
    ],
)
def test_bad_upload_gets_a_friendly_error(client, tmp_path, content, message):
    path = tmp_path / "broken.png"
    path.write_bytes(content)
    with pytest.raises(Exception, match=message):
        client.predict(handle_file(str(path)), ["clahe"], [], "", None, 512, "{}", api_name="/compare")


def test_bad_parameters_and_models_are_refused(client, photo_path):
    with pytest.raises(Exception, match="outside"):
        client.predict(
            handle_file(str(photo_path)),
            ["clahe"],
            [],
            "",
            None,
            512,
            '{"clahe": {"clip_limit": 99}}',
            api_name="/compare",
        )
    with pytest.raises(Exception, match="degradation scale must be"):
        client.predict(handle_file(str(photo_path)), ["clahe"], [], "x7", None, 512, "{}", api_name="/compare")


def test_a_failing_model_reports_its_error_in_its_row(client, photo_path):
    _, table, _ = client.predict(
        handle_file(str(photo_path)), ["clahe", "scunet-color-real"], [], "", None, 512, "{}", api_name="/compare"
    )
    errors = {row[0]: row[table["headers"].index("error")] for row in table["data"]}
    assert errors["clahe"] == "" and "not downloaded" in errors["scunet-color-real"]


def test_models_endpoint_lists_states(client):
    table = client.predict(api_name="/models")
    states = {row[0]: row[table["headers"].index("state")] for row in table["data"]}
    assert states["clahe"] == "ready" and states["4x-ultrasharp"] == "not downloaded"


def test_backend_and_precision_through_the_api(client, photo_path):
    _, table, _ = client.predict(
        handle_file(str(photo_path)),
        ["realesr-animevideov3-x4", "clahe"],
        [],
        "",
        None,
        64,
        "{}",
        "torch",
        "fp32",
        api_name="/compare",
    )
    headers = table["headers"]
    forms = {row[0]: (row[headers.index("backend")], row[headers.index("precision")]) for row in table["data"]}
    assert forms == {"realesr-animevideov3-x4": ("torch", "fp32"), "clahe": ("classical", "fp32")}
    devices = {row[0]: row[headers.index("device")] for row in table["data"]}
    assert devices == {"realesr-animevideov3-x4": "cuda" if machine() == "cuda" else "cpu", "clahe": "cpu"}


def test_an_oversized_image_is_refused_before_decoding(client, tmp_path):
    from tests.core.test_media import png_header_only

    path = tmp_path / "huge.png"
    path.write_bytes(png_header_only(8000, 6000))
    with pytest.raises(Exception, match="image too large: 8000x6000 is over the 16 MP limit"):
        client.predict(handle_file(str(path)), ["clahe"], [], "", None, 512, "{}", api_name="/compare")


def test_api_outputs_are_lossless_pngs_equal_to_the_cli_files(client, photo_path, tmp_path, env):
    """What the API returns is the model's output itself (PNG), bit for bit what `studio enhance` writes."""
    import numpy as np

    from tests.cli.helpers import studio

    gallery, _, details = client.predict(
        handle_file(str(photo_path)),
        ["lanczos-x2", "unsharp-mask"],
        ["sharpness"],
        "",
        None,
        0,
        "{}",
        api_name="/compare",
    )
    made = studio("enhance", str(photo_path), "-m", "lanczos-x2", "-m", "unsharp-mask", "-o", str(tmp_path), env=env)
    assert made.returncode == 0, made.stderr
    for entry in gallery:
        served = entry["image"]
        assert served.lower().endswith(".png"), served
        cli_file = tmp_path / f"{photo_path.stem}_{entry['caption']}.png"
        assert np.array_equal(np.asarray(Image.open(served).convert("RGB")), np.asarray(Image.open(cli_file)))
    assert {entry["caption"] for entry in gallery} == {"lanczos-x2", "unsharp-mask"}
    assert details["non_finite"] == ["metrics.sharpness.range[1]: inf"]  # strict JSON: null plus a note
