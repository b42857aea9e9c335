"""The Compare and Models tabs' own events through gradio_client, against the real app server.

The Run button takes two steps: `/build_request` turns the form into one checked
CompareRequest (kept in the session), then `/run` runs it. A gradio_client session
takes the same steps as the page, so the results (slots, table, plot, free
comparison, downloads) are checked here without a browser. (A model that fails is
checked in the browser, test_browser_results.py: the picker offers none here.)
"""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import numpy as np
import pytest
from gradio_client import Client, handle_file
from PIL import Image

from studio.engine.request import MAX_MODELS

NINE_MODELS = {  # more than the page's slots, all classical and fast
    "Super resolution": ["bicubic-x2", "bicubic-x3", "bicubic-x4", "lanczos-x2", "lanczos-x3", "lanczos-x4"],
    "Sharpen": ["unsharp-mask", "laplacian-sharpen"],
    "Contrast": ["clahe"],
}


def form(client: Client, **by_label) -> list:
    """/build_request's arguments in order: the form's defaults, with the values given by label (prefix)."""
    parameters = client.view_api(return_format="dict", print_info=False)["named_endpoints"]["/build_request"]
    args, unused = [], dict(by_label)
    for parameter in parameters["parameters"]:
        hits = [label for label in by_label if parameter["label"].startswith(label)]
        assert len(hits) <= 1, f"{hits} all match {parameter['label']!r}"
        args.append(unused.pop(hits[0]) if hits else parameter["parameter_default"])
    assert not unused, f"no form field is labelled {sorted(unused)}"
    return args


def value(output):
    """An output's value, whether it came as a plain value or as an update."""
    return output.get("value") if isinstance(output, dict) and output.get("__type__") == "update" else output


RUN_OUTPUTS = ["table", "table_all", "table_note", "gallery", "pick_a", "pick_b", "viewer", "plot_metric", "plot"]


def as_named(outputs: tuple) -> dict:
    """/run's outputs (see ResultsArea.run_outputs) by name; each slot as header, slider, error."""
    status, *rest = outputs
    slot_parts, rest = rest[: 3 * MAX_MODELS], rest[3 * MAX_MODELS :]
    named = dict(zip([*RUN_OUTPUTS, "files", "csv", "zip", "report"], rest, strict=True))
    named["status"] = status
    named["slots"] = [slot_parts[3 * i : 3 * i + 3] for i in range(MAX_MODELS)]
    return named


def distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(int) - b.astype(int)).mean())


def pixels(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def plot_points(html: str) -> dict[str, float]:
    """The plot's points (an inline SVG): model id -> the value it is drawn at."""
    circles = ET.fromstring(html).iter("{http://www.w3.org/2000/svg}circle")
    return {circle.get("data-model"): float(circle.get("data-value")) for circle in circles}


@pytest.fixture(scope="module")
def sharp_path(tmp_path_factory, photo) -> Path:
    path = tmp_path_factory.mktemp("page") / "sharp.png"
    Image.fromarray(photo[:96, :128]).save(path)  # 128x96
    return path


@pytest.fixture(scope="module")
def ran(app_server, sharp_path):
    """One session that ran two models on a x2 degradation of a 128x96 photo (the x1 one is flagged)."""
    client = Client(app_server.url, verbose=False)
    fields = form(
        client,
        Image=handle_file(str(sharp_path)),
        Reference="synthetic degradation",
        **{"Downscale x": 2, "Metrics": ["psnr_y", "lpips", "sharpness"]},
        **{"Super resolution": ["lanczos-x2"], "Sharpen": ["unsharp-mask"]},
    )
    client.predict(*fields, api_name="/build_request")
    outputs = client.predict(handle_file(str(sharp_path)), None, "png", api_name="/run")
    return client, as_named(outputs)


def table_rows(table: dict) -> dict[str, dict]:
    """A table's rows by their first column (the compact table: display names; the full one: the same)."""
    headers = table["headers"]
    return {row[0]: dict(zip(headers, row, strict=True)) for row in table["data"]}


def test_each_model_has_its_slot_with_a_named_before_after_slider(ran):
    _, out = ran
    (lanczos_header, lanczos_slider, lanczos_error), (unsharp_header, unsharp_slider, unsharp_error) = out["slots"][:2]
    assert lanczos_header.startswith("**Lanczos x2** · 128x96 ·") and unsharp_header.startswith(
        "**Unsharp mask** · 64x48 ·"
    )
    assert "⚑ x1 output scored against a x2 degradation" in unsharp_header and "⚑" not in lanczos_header
    for slider, error in ((lanczos_slider, lanczos_error), (unsharp_slider, unsharp_error)):
        assert len(value(slider)) == 2 and error["visible"] is False  # before and after; no error box
    assert lanczos_slider["label"] == "input ◀ ▶ Lanczos x2"
    assert all(value(slider) is None for _, slider, _ in out["slots"][2:])  # the unused slots stay empty
    assert "failed" not in out["status"] and out["status"].startswith("Input **sharp.png** · 64x48")


def test_the_table_names_models_hides_lpips_and_highlights_the_best(ran):
    _, out = ran
    table = value(out["table"])
    assert out["table"]["datatype"] == ["str", "str", "number", "number", "number", "number", "str"]  # sorts as numbers
    assert table["headers"] == ["model", "output", "latency ms", "MP/s", "PSNR-Y ↑", "Sharpness ↑", "error"]
    rows = table_rows(table)
    assert set(rows) == {"Lanczos x2", "Unsharp mask ⚑"}  # flagged: not comparable with the x2 row
    assert rows["Lanczos x2"]["error"] == rows["Unsharp mask ⚑"]["error"] == ""
    assert "**LPIPS ↓** hidden: weights not downloaded" in out["table_note"]
    assert "⚑ **Unsharp mask**: x1 output scored against a x2 degradation" in out["table_note"]
    # each output is alone in its size group: nothing to beat, nothing highlighted
    assert not any("bold" in style for row in table["metadata"]["styling"] for style in row)
    full = table_rows(value(out["table_all"]))
    assert full["Lanczos x2"]["id"] == "lanczos-x2" and full["Unsharp mask ⚑"]["flag"].startswith("x1 output")
    headers = value(out["table_all"])["headers"]
    assert headers.index("params") > headers.index("Sharpness Δ vs input")


def test_the_zip_holds_outputs_input_table_and_recipe(ran):
    _, out = ran
    with zipfile.ZipFile(out["zip"]) as archive:
        assert sorted(archive.namelist()) == sorted(
            ["lanczos-x2.png", "unsharp-mask.png", "input.png", "results.csv", "results.json", "sharp.png"]
        )  # sharp.png: the upload itself, so `studio compare --from results.json` replays the unzipped run alone
        run_pngs = [name for name in archive.namelist() if name.endswith(".png") and name != "sharp.png"]
        sizes = {name: Image.open(io.BytesIO(archive.read(name))).size for name in run_pngs}
        records = list(csv.DictReader(io.StringIO(archive.read("results.csv").decode("utf-8"))))
        details = json.loads(archive.read("results.json"))
        assert Path(out["csv"]).read_bytes() == archive.read("results.csv")  # the CSV button's file
    assert sizes == {"input.png": (64, 48), "lanczos-x2.png": (128, 96), "unsharp-mask.png": (64, 48)}
    assert [r["model"] for r in records] == ["lanczos-x2", "unsharp-mask"]
    assert details["degradation"]["text"] == "x2,seed=0" and details["source"] == "sharp.png"
    assert [r["model"] for r in details["rows"]] == ["lanczos-x2", "unsharp-mask"]


def test_the_report_is_one_offline_page_of_this_comparison(ran):
    _, out = ran
    path = Path(value(out["report"]))
    assert re.fullmatch(r"enhance-studio-report-\d{8}-\d{6}\.html", path.name), path.name
    text = path.read_text(encoding="utf-8")
    assert "<title>Comparison of sharp.png</title>" in text and not re.search(r"https?://", text)
    summary = text[text.index('<section id="summary">') : text.index('<section id="plot">')]
    assert re.findall(r'<tr data-model="([^"]+)">', summary) == ["lanczos-x2", "unsharp-mask"]
    assert re.findall(r'<img src="data:image/jpeg;base64,[^"]+" alt="([^"]+)"', text) == [
        "input (degraded: x2,seed=0)",  # what the models got, named as the batch report names it
        "original (reference)",
        "lanczos-x2",
        "unsharp-mask",
    ]
    assert "x2,seed=0" in text and '<section id="ratings">' in text


def test_the_plot_has_one_point_per_successful_model(ran):
    client, out = ran
    rows = table_rows(value(out["table_all"]))
    by_id = {row["id"]: row for row in rows.values()}
    assert value(out["plot_metric"]) == "psnr_y"
    assert [label for label, _ in out["plot_metric"]["choices"]] == ["PSNR-Y ↑", "Sharpness ↑"]  # no LPIPS
    assert plot_points(value(out["plot"])) == pytest.approx(
        {m: by_id[m]["PSNR-Y ↑"] for m in ("lanczos-x2", "unsharp-mask")}, abs=1e-4
    )
    other = client.predict("sharpness", api_name="/plot")
    assert "Sharpness ↑ better" in other
    assert plot_points(other) == pytest.approx(
        {m: by_id[m]["Sharpness ↑"] for m in ("lanczos-x2", "unsharp-mask")}, abs=1e-4
    )


def test_the_free_comparison_shows_the_two_chosen_images(ran):
    from studio.core.resize import resize_to

    client, out = ran
    assert out["pick_a"]["choices"] == [
        ["input", "input"],
        ["reference", "reference"],
        ["Lanczos x2", "lanczos-x2"],
        ["Unsharp mask", "unsharp-mask"],
    ]
    assert (out["pick_a"]["value"], out["pick_b"]["value"]) == ("input", "unsharp-mask")
    gallery = {item["caption"]: pixels(item["image"]) for item in out["gallery"]}
    assert list(gallery) == ["Lanczos x2", "Unsharp mask"]
    before, after = (pixels(path) for path in value(out["slots"][0][1]))  # lanczos-x2's before/after slider
    shown = client.predict("input", "lanczos-x2", api_name="/free_compare")
    assert shown["label"] == "input ◀ ▶ Lanczos x2"  # the slider names its two sides
    left, right = (pixels(path) for path in value(shown))
    assert np.array_equal(left, before) and np.array_equal(right, after)  # the input at the output's size
    left, right = (
        pixels(path) for path in value(client.predict("lanczos-x2", "unsharp-mask", api_name="/free_compare"))
    )
    assert left.shape == right.shape == (96, 128, 3)  # the smaller image at the larger one's size
    assert np.array_equal(left, gallery["Lanczos x2"])
    unsharp = resize_to(gallery["Unsharp mask"], 128, 96)
    assert distance(right, unsharp) < 0.7 * distance(right, left)  # unsharp-mask's output (previews are lossy)


def test_more_than_the_slot_count_is_one_clear_error(app_server, sharp_path):
    client = Client(app_server.url, verbose=False)
    expected = f"pick at most {MAX_MODELS} models (got {MAX_MODELS + 1})"
    ids = [model_id for group in NINE_MODELS.values() for model_id in group]
    assert len(ids) == MAX_MODELS + 1
    with pytest.raises(Exception) as api_error:
        client.predict(handle_file(str(sharp_path)), ids, [], "", None, 512, "{}", api_name="/compare")
    with pytest.raises(Exception) as page_error:
        client.predict(*form(client, Image=handle_file(str(sharp_path)), **NINE_MODELS), api_name="/build_request")
    assert str(api_error.value) == str(page_error.value) == expected


def test_run_without_a_built_request_says_what_to_do(app_server, sharp_path):
    client = Client(app_server.url, verbose=False)
    with pytest.raises(Exception, match="No comparison to run: press Run comparison"):
        client.predict(handle_file(str(sharp_path)), None, "png", api_name="/run")


def test_download_weights_caches_a_model_from_the_mirror(app_server):
    client = Client(app_server.url, verbose=False)

    def states(table):
        return {row[0]: row[table["headers"].index("state")] for row in table["data"]}

    assert states(client.predict(api_name="/models"))["fsrcnn-small-x3"] == "not downloaded"
    table, message = client.predict("fsrcnn-small-x3", api_name="/download_model")
    path = Path(message.split(": ", 1)[1])
    assert message.startswith("`fsrcnn-small-x3`: ") and path.name == "FSRCNN-small_x3.pb" and path.stat().st_size
    assert states(table)["fsrcnn-small-x3"] == states(client.predict(api_name="/models"))["fsrcnn-small-x3"] == "cached"
    with pytest.raises(Exception, match="'nafnet-gopro-width64' is not downloaded and STUDIO_OFFLINE=1 is set"):
        client.predict("nafnet-gopro-width64", api_name="/download_model")
