"""One finished run in a real browser, read by several tests: a x2 degradation of a 128x96 photo scored by the
reference-mode defaults (LPIPS among them, unavailable offline), with lanczos-x2 and bicubic-x2 (the x2 group),
a model whose weights file is corrupt (it fails when loaded: its slot and its table row show its error) and
unsharp-mask (x1: not comparable with the x2 rows, so flagged). Checks what only the page shows: the failed
slot and row, the table's highlights, hidden column and sorting, the plot's labelled points, the synced zoom, the free
comparison's names, the zip button, and the report download opened offline with its slider dragged."""

from __future__ import annotations

import csv
import io
import json
import re
import time
import zipfile

import numpy as np
import pytest
from PIL import Image

from tests.appserver import AppServer, app_env
from tests.ui.browser import (
    ARTIFACTS,
    clear_models,
    drag_across,
    image_sizes,
    launch_chromium,
    open_app,
    pick_model,
    require_chromium,
    run_finished,
    shown_images,
    table_cells,
    table_records,
    upload,
    wait_for_text,
)

require_chromium()
pytestmark = pytest.mark.browser

BROKEN_REGISTRY = """\
models:
  - id: broken-x2
    name: Broken x2 (corrupt weights)
    task: super-resolution
    scale: 2
    backend: onnx
    source: {file: broken.onnx}
    license: MIT
    description: A test model whose weights file is corrupt, so it fails when it is loaded.
    link: https://example.invalid/broken
"""
MODELS = ["Lanczos x2", "Broken x2 (corrupt weights)", "Bicubic x2", "Unsharp mask"]


@pytest.fixture(scope="module")
def app_server(tmp_path_factory, model_settings):
    """The real app with one more model (a corrupt weights file) from a user registry (STUDIO_REGISTRY)."""
    home = tmp_path_factory.mktemp("results-app")
    (home / "broken.onnx").write_bytes(b"not an onnx graph " * 64)
    (home / "registry.yaml").write_text(BROKEN_REGISTRY, encoding="utf-8")
    env = app_env(home, model_settings.weights_mirror, offline=False, STUDIO_REGISTRY=str(home / "registry.yaml"))
    app = AppServer(env, home / "app.log").wait_ready()
    yield app
    app.stop()


@pytest.fixture(scope="module")
def finished_page(app_server, tmp_path_factory, photo):
    small = tmp_path_factory.mktemp("browser") / "small.png"
    Image.fromarray(photo[:96, :128]).save(small)  # 128x96
    with launch_chromium() as browser, open_app(browser, app_server.url) as page:
        assert page.locator("#download-report").is_disabled()  # no comparison yet: nothing to report
        upload(page, small)
        clear_models(page, "super-resolution")
        for name in MODELS[:3]:
            pick_model(page, "super-resolution", name)
        pick_model(page, "sharpen", MODELS[3])
        page.get_by_text("Reference, metrics & runtime").click()
        page.get_by_role("radio", name="synthetic degradation").check()
        page.get_by_label("Downscale x").click()
        page.get_by_role("option", name="2", exact=True).click()
        page.click("#run")
        wait_for_text(page, "#results-table", ["Lanczos x2", "Broken x2", "Bicubic x2", "Unsharp mask"])
        run_finished(page)
        page.wait_for_selector("#zoom-viewer .sv-panel[data-key='unsharp-mask'] img", timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / "browser-6-failed-slot.png"), full_page=True)
        yield page


def test_a_failed_model_shows_its_error_in_its_own_slot_and_row(finished_page):
    page = finished_page
    error = page.locator("#error-1")
    assert error.is_visible()
    assert "cannot load ONNX model broken.onnx" in error.inner_text()
    assert "failed" in page.locator("#slot-1").inner_text() and page.locator("#slot-1 img").count() == 0
    assert image_sizes(page, "#slot-0 img") == [[128, 96], [128, 96]]  # lanczos-x2: before and after
    assert image_sizes(page, "#slot-3 img") == [[64, 48], [64, 48]]  # unsharp-mask, on the 64x48 input
    assert not page.locator("#error-0").is_visible() and not page.locator("#error-3").is_visible()
    assert not page.locator("#slot-4").is_visible()
    boxes = [page.locator(f"#slot-{index}").bounding_box() for index in range(4)]
    assert max(b["width"] for b in boxes) - min(b["width"] for b in boxes) < 2  # equal tiles, no lone wide one
    rows = {row["model"]: row for row in table_records(page)}
    assert "cannot load ONNX model broken.onnx" in rows["Broken x2 (corrupt weights)"]["error"]
    assert rows["Broken x2 (corrupt weights)"]["PSNR-Y ↑"] == rows["Broken x2 (corrupt weights)"]["latency ms"] == ""
    assert rows["Lanczos x2"]["error"] == "" and rows["Lanczos x2"]["output"] == "128x96"


def test_the_empty_lpips_column_is_hidden_with_the_reason_said_once(finished_page):
    headers = list(table_records(finished_page)[0])
    assert headers == [
        "model",
        "output",
        "latency ms",
        "MP/s",
        "PSNR-Y ↑",
        "SSIM-Y ↑",
        "BRISQUE ↓",
        "Sharpness ↑",
        "error",
    ]
    assert "LPIPS" in finished_page.locator("#metrics").inner_text()  # it was asked for (the reference default)
    note = finished_page.locator("#table-note").inner_text()
    assert "LPIPS ↓ hidden: weights not downloaded" in note
    page_text = finished_page.locator("#status").inner_text() + note
    assert page_text.count("LPIPS") == 1


def test_the_best_value_of_each_metric_is_highlighted(finished_page):
    """Within the x2 group (lanczos-x2, bicubic-x2); the x1 output is flagged and competes with no one."""
    rows = {row["model"]["text"]: row for row in table_cells(finished_page)}
    assert set(rows) == {"Lanczos x2", "Broken x2 (corrupt weights)", "Bicubic x2", "Unsharp mask ⚑"}
    for metric, higher_better in (("PSNR-Y ↑", True), ("SSIM-Y ↑", True), ("BRISQUE ↓", False), ("Sharpness ↑", True)):
        pair = {name: float(rows[name][metric]["text"]) for name in ("Lanczos x2", "Bicubic x2")}
        best = (max if higher_better else min)(pair, key=pair.get)
        bold = {name for name, row in rows.items() if "bold" in row[metric]["style"]}
        assert bold == ({best} if pair["Lanczos x2"] != pair["Bicubic x2"] else set(pair)), metric
    note = finished_page.locator("#table-note").inner_text()
    assert "⚑ Unsharp mask: x1 output scored against a x2 degradation: not comparable with the x2 rows" in note


def highlighted(rows: list[dict]) -> dict[str, set[str]]:
    """Model -> the metric columns highlighted in its row."""
    return {row["model"]["text"]: {h for h, cell in row.items() if "bold" in cell["style"]} for row in rows}


def test_any_column_sorts_from_its_menu(finished_page):
    page = finished_page
    before = table_cells(page)
    header = page.locator("#results-table [role=columnheader]", has_text="MP/s")
    header.hover()
    header.locator("button[aria-label='Open cell menu']").click()
    page.get_by_role("menuitem", name="Sort descending").click()
    page.wait_for_function(  # numbers sort as numbers, the failed row (no value) after them
        """() => { const root = document.querySelector('#results-table');
            const col = [...root.querySelectorAll('[role=columnheader]')].findIndex(h => h.innerText.includes('MP/s'));
            const values = [...root.querySelectorAll('[role=row]')]
                .map(r => r.querySelector(`[role=gridcell][data-col="${col}"]`)).filter(Boolean)
                .map(c => c.innerText.trim()).filter(t => t).map(Number);
            return values.length === 3 && values.every((v, i) => i === 0 || values[i - 1] >= v); }""",
        timeout=30_000,
    )
    after = table_cells(page)
    speeds = {row["model"]["text"]: row["MP/s"]["text"] for row in before if row["MP/s"]["text"]}
    expected = sorted(speeds, key=lambda name: float(speeds[name]), reverse=True)
    assert [row["model"]["text"] for row in after][:3] == expected
    assert highlighted(after) == highlighted(before)  # each highlight moved with its row
    page.locator("#results-table").screenshot(path=str(ARTIFACTS / "browser-8-sorted-table.png"))


def test_all_columns_shows_the_rest(finished_page):
    page = finished_page
    page.locator("#all-columns input").check()
    page.wait_for_selector("#results-table-all [role=columnheader]", timeout=30_000)
    assert not page.locator("#results-table").is_visible()
    rows = {row["id"]: row for row in table_records(page, "#results-table-all")}
    assert set(rows) == {"lanczos-x2", "broken-x2", "bicubic-x2", "unsharp-mask"}
    assert rows["lanczos-x2"]["backend"] == "classical" and rows["unsharp-mask"]["flag"].startswith("x1 output")
    assert "warm ms" not in rows["lanczos-x2"] and "LPIPS ↓" not in rows["lanczos-x2"]
    page.locator("#all-columns input").uncheck()
    page.wait_for_selector("#results-table", state="visible", timeout=30_000)


def svg_texts(page, selector: str) -> list[str]:
    return page.evaluate("(s) => [...document.querySelectorAll(s)].map(t => t.textContent)", selector)


def test_the_plot_has_one_labelled_point_per_successful_model(finished_page):
    page = finished_page
    points = page.evaluate(
        "() => [...document.querySelectorAll('#plot svg circle.point')].map(c => [c.dataset.model, c.dataset.value])"
    )
    labels = svg_texts(page, "#plot svg text.point-label")
    assert sorted(model for model, _ in points) == ["bicubic-x2", "lanczos-x2", "unsharp-mask"]
    assert sorted(labels) == ["Bicubic x2", "Lanczos x2", "Unsharp mask ⚑"]
    rows = {row["model"].rstrip(" ⚑"): row for row in table_records(page)}
    names = {"bicubic-x2": "Bicubic x2", "lanczos-x2": "Lanczos x2", "unsharp-mask": "Unsharp mask"}
    for model, value in points:  # the PSNR-Y the table shows (to its 4 decimals)
        assert float(value) == pytest.approx(float(rows[names[model]]["PSNR-Y ↑"]), abs=1e-4)
    titles = svg_texts(page, "#plot svg text.axis-title")
    assert titles[1] == "PSNR-Y (dB) ↑ better" and titles[0].startswith("latency ms ↓ better")
    assert "Not plotted: Broken x2 (corrupt weights) (failed)." in page.locator("#plot").inner_text()
    for model in names:  # every point is drawn where a person can see it, inside the plot's frame
        box = page.locator(f"#plot circle[data-model='{model}']").bounding_box()
        frame = page.locator("#plot .quality-plot > svg").bounding_box()
        assert box["width"] > 5 and frame["x"] < box["x"] < frame["x"] + frame["width"]
    page.locator("#plot").screenshot(path=str(ARTIFACTS / "browser-9-plot.png"))


def test_another_quality_axis_redraws_the_plot(finished_page):
    page = finished_page
    page.locator("#plot-metric input").click()
    page.get_by_role("option", name="Sharpness ↑").click()
    wait_for_text(page, "#plot", ["Sharpness ↑ better"], timeout=30_000)
    assert page.locator("#plot svg circle.point").count() == 3


def test_the_synced_zoom_has_one_panel_per_image(finished_page):
    captions = finished_page.locator("#zoom-viewer .sv-panel figcaption").all_inner_texts()
    # the flip panel first (A: input, B: the first output), then every image over the same region, by default
    # at 4x of the largest image (128 px wide): the 64-px-wide images at 8x
    assert captions[0].startswith("A: input (64x48) · 8x") and "Lanczos x2" in captions[0]
    assert captions[1:] == [
        "input (64x48) · 8x",
        "reference (128x96) · 4x",
        "Lanczos x2 (128x96) · 4x",
        "Bicubic x2 (128x96) · 4x",
        "Unsharp mask (64x48) · 8x",
    ]


def test_the_free_comparison_shows_the_two_picked_images_and_their_names(finished_page):
    page = finished_page
    for selector, name in (("#pick-a", "Lanczos x2"), ("#pick-b", "input")):
        box = page.locator(f"{selector} input")
        box.click()
        box.fill(name)
        page.keyboard.press("Enter")
        page.keyboard.press("Escape")
    # lanczos-x2's slot shows (the input at the output's size, the output): the free slider must show them swapped
    before, after = shown_images(page, "#slider-0 img")
    deadline = time.monotonic() + 60
    while True:
        shown = shown_images(page, "#free-slider img")
        if len(shown) == 2 and np.array_equal(shown[0], after) and np.array_equal(shown[1], before):
            break
        assert time.monotonic() < deadline, "the free comparison never showed lanczos-x2 against the input"
        time.sleep(0.5)
    assert image_sizes(page, "#free-slider img") == [[128, 96], [128, 96]]
    wait_for_text(page, "#free-slider", ["Lanczos x2 ◀ ▶ input"], timeout=30_000)
    page.locator("#free-slider").screenshot(path=str(ARTIFACTS / "browser-7-free-comparison.png"))


def test_the_zip_download_holds_everything(finished_page, tmp_path):
    with finished_page.expect_download(timeout=60_000) as download_info:
        finished_page.click("#download-zip")
    target = tmp_path / "results.zip"
    download_info.value.save_as(target)
    with zipfile.ZipFile(target) as archive:
        assert sorted(archive.namelist()) == [
            "bicubic-x2.png",
            "input.png",
            "lanczos-x2.png",
            "results.csv",
            "results.json",
            "small.png",  # the upload itself: the unzipped folder replays with `studio compare --from`
            "unsharp-mask.png",
        ]
        records = list(csv.DictReader(io.StringIO(archive.read("results.csv").decode("utf-8"))))
        details = json.loads(archive.read("results.json"))
    assert [r["model"] for r in records] == [r["model"] for r in details["rows"]]
    assert [r["model"] for r in records] == ["lanczos-x2", "broken-x2", "bicubic-x2", "unsharp-mask"]
    assert "cannot load ONNX model" in records[1]["error"] and records[0]["output"] == "128x96"
    assert details["source"] == "small.png" and re.fullmatch(r"x2,seed=0", details["degradation"]["text"])


def test_the_downloaded_report_opens_offline_and_its_slider_drags(finished_page, tmp_path):
    page = finished_page
    assert page.locator("#download-report").is_enabled()
    with page.expect_download(timeout=60_000) as download_info:
        page.click("#download-report")
    download = download_info.value
    assert re.fullmatch(r"enhance-studio-report-\d{8}-\d{6}\.html", download.suggested_filename)
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    assert not re.search(r"https?://", target.read_text(encoding="utf-8"))

    context = page.context.browser.new_context(viewport={"width": 1100, "height": 900}, offline=True)
    try:
        report = context.new_page()
        requests: list[str] = []
        report.on("request", lambda request: requests.append(request.url))
        report.goto(target.as_uri(), wait_until="load")
        report.wait_for_selector("#image-1 .slider img.top[src^='data:']")
        rows = report.locator("table.summary tbody tr").evaluate_all("rows => rows.map(r => r.dataset.model)")
        assert rows == ["lanczos-x2", "broken-x2", "bicubic-x2", "unsharp-mask"]
        assert "cannot load ONNX model broken.onnx" in report.locator("tr[data-model='broken-x2']").inner_text()
        choices = report.locator("#image-1 select.left option").all_inner_texts()
        assert choices == [
            "input (degraded: x2,seed=0)",  # what the models got
            "original (reference)",
            "lanczos-x2",
            "bicubic-x2",
            "unsharp-mask",
        ]

        report.locator("#image-1 select.right").select_option(label="lanczos-x2")
        slider, split = report.locator("#image-1 .slider"), report.locator("#image-1 input[type=range]")
        slider.scroll_into_view_if_needed()

        def shown_at(value: float) -> np.ndarray:
            split.evaluate("(r, v) => { r.value = v; r.dispatchEvent(new Event('input')); }", value)
            return np.asarray(Image.open(io.BytesIO(slider.screenshot())).convert("RGB")).astype(int)

        input_only, lanczos_only = shown_at(100), shown_at(0)
        drag_across(report, slider)
        assert float(split.input_value()) == pytest.approx(75, abs=1)
        dragged = np.asarray(Image.open(io.BytesIO(slider.screenshot())).convert("RGB")).astype(int)
        at, edge = dragged.shape[1] * 3 // 4, 8
        assert np.abs(input_only - lanczos_only)[:, edge:-edge].mean() > 1  # two different pictures
        assert np.abs(dragged - input_only)[:, edge : at - edge].mean() < 0.5  # the input left of the split
        assert np.abs(dragged - lanczos_only)[:, at + edge : -edge].mean() < 0.5  # lanczos-x2 right of it
        report.screenshot(path=str(ARTIFACTS / "browser-8-report.png"), full_page=True)
        assert all(url.startswith(("file:", "data:")) for url in requests), requests  # nothing from elsewhere
    finally:
        context.close()
