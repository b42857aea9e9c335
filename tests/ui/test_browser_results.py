"""One finished run in a real browser, read by several tests: lanczos-x2, a Hub model that is not
downloaded (its slot shows its error), and unsharp-mask. Checks what only the page shows: the
failed slot, the plot's points, the crop gallery, picking a free comparison, the zip button."""

from __future__ import annotations

import csv
import io
import json
import time
import zipfile

import numpy as np
import pytest
from PIL import Image

from tests.ui.browser import (
    ARTIFACTS,
    clear_models,
    image_sizes,
    launch_chromium,
    open_app,
    pick_model,
    require_chromium,
    shown_images,
    upload,
    wait_for_text,
)

require_chromium()
pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def finished_page(app_server, tmp_path_factory, photo):
    small = tmp_path_factory.mktemp("browser") / "small.png"
    Image.fromarray(photo[:96, :128]).save(small)  # 128x96
    with launch_chromium() as browser, open_app(browser, app_server.url) as page:
        upload(page, small)
        clear_models(page, "super-resolution")
        pick_model(page, "super-resolution", "Lanczos x2")
        pick_model(page, "deblur", "NAFNet")
        pick_model(page, "sharpen", "Unsharp mask")
        page.click("#run")
        wait_for_text(page, "#results-table", ["lanczos-x2", "nafnet-gopro-width64", "unsharp-mask"])
        page.wait_for_selector("#zoom img", timeout=60_000)
        page.wait_for_function("() => document.querySelectorAll('.progress-level').length === 0", timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / "browser-6-failed-slot.png"), full_page=True)
        yield page


def test_a_failed_model_shows_its_error_in_its_own_slot(finished_page):
    page = finished_page
    error = page.locator("#error-1")
    assert error.is_visible()
    assert "nafnet-gopro-width64' is not downloaded" in error.inner_text()
    assert "failed" in page.locator("#slot-1").inner_text() and page.locator("#slot-1 img").count() == 0
    assert image_sizes(page, "#slot-0 img") == [[256, 192], [256, 192]]  # lanczos-x2: before and after
    assert image_sizes(page, "#slot-2 img") == [[128, 96], [128, 96]]  # unsharp-mask
    assert not page.locator("#error-0").is_visible() and not page.locator("#error-2").is_visible()
    assert not page.locator("#slot-3").is_visible()


def test_the_plot_has_one_point_per_successful_model(finished_page):
    points = finished_page.evaluate(
        "() => [...document.querySelectorAll('#plot [role=graphics-symbol]')]"
        ".map(e => e.getAttribute('aria-label') || '').filter(label => label.startsWith('latency ms'))"
    )
    assert sorted(label.rsplit("model: ", 1)[1] for label in points) == ["lanczos-x2", "unsharp-mask"]


def test_the_crop_gallery_has_one_crop_per_image(finished_page):
    captions = finished_page.locator("#zoom .caption-label").all_inner_texts()
    assert captions == ["input (128x96)", "lanczos-x2 (256x192)", "unsharp-mask (128x96)"]
    # 128 px of the largest image (256 wide): 128 on it, 64 on the 128-wide ones
    assert image_sizes(finished_page, "#zoom img") == [[64, 64], [128, 128], [64, 64]]


def test_the_free_comparison_shows_the_two_picked_images(finished_page):
    page = finished_page
    for selector, name in (("#pick-a", "lanczos-x2"), ("#pick-b", "input")):
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
    assert image_sizes(page, "#free-slider img") == [[256, 192], [256, 192]]
    page.locator("#free-slider").screenshot(path=str(ARTIFACTS / "browser-7-free-comparison.png"))


def test_the_zip_download_holds_everything(finished_page, tmp_path):
    with finished_page.expect_download(timeout=60_000) as download_info:
        finished_page.click("#download-zip")
    target = tmp_path / "results.zip"
    download_info.value.save_as(target)
    with zipfile.ZipFile(target) as archive:
        assert sorted(archive.namelist()) == [
            "input.png",
            "lanczos-x2.png",
            "results.csv",
            "results.json",
            "unsharp-mask.png",
        ]
        records = list(csv.DictReader(io.StringIO(archive.read("results.csv").decode("utf-8"))))
        rows = json.loads(archive.read("results.json"))["rows"]
    assert (
        [r["model"] for r in records]
        == [r["model"] for r in rows]
        == [
            "lanczos-x2",
            "nafnet-gopro-width64",
            "unsharp-mask",
        ]
    )
    assert "not downloaded" in records[1]["error"] and records[0]["output"] == "256x192"
