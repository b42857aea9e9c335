"""The app in a real browser (Debian Chromium driven by Playwright), as a person uses it.

Screenshots land in tests/artifacts/ (ignored by git) for a human to look at; the README's Compare tab
screenshots (docs/screenshot.jpg, docs/results-table.jpg) are written here, so they show the current app.
"""

from __future__ import annotations

import csv
import shutil

import numpy as np
import pytest

from tests.paths import REPO_ROOT
from tests.ui.browser import (
    ARTIFACTS,
    clear_models,
    element_pixels,
    pick_model,
    require_chromium,
    run_finished,
    save_doc_screenshot,
    table_records,
    wait_for_text,
)

ROOT = REPO_ROOT
require_chromium()


def test_upload_compare_drag_and_download(page, tmp_path):
    page.locator("#upload input[type=file]").set_input_files(str(ROOT / "assets" / "astronaut-lowres.jpg"))
    page.wait_for_selector("#input-preview img", timeout=30_000)
    pick_model(page, "sharpen", "Unsharp mask")
    pick_model(page, "super-resolution", "waifu2x upconv_7 photo x2")
    page.screenshot(path=str(ARTIFACTS / "browser-1-chosen.png"))

    page.click("#run")
    for slot in range(4):  # lanczos-x4 and animevideov3-x4 are preselected, plus the two picked
        page.wait_for_selector(f"#slot-{slot} img", timeout=180_000)
    names = ["Lanczos x4", "Real-ESRGAN animevideo v3 x4", "waifu2x upconv_7 photo x2", "Unsharp mask"]
    wait_for_text(page, "#results-table", names)
    wait_for_text(page, "#download-csv", ["Download"])
    run_finished(page)
    page.wait_for_function(  # every image of the page decoded (galleries load lazily: they are scrolled past)
        "() => [...document.querySelectorAll('#slot-0 img, #slot-3 img')].every(i => i.complete && i.naturalWidth)",
        timeout=60_000,
    )
    page.screenshot(path=str(ARTIFACTS / "browser-2-results.png"), full_page=True)
    page.evaluate("() => document.getElementById('run-bar').scrollIntoView({block: 'start'})")
    save_doc_screenshot(page, "screenshot.jpg")  # the run bar, what ran, the before/after sliders
    table_top = page.locator("#results-table").bounding_box()["y"] + page.evaluate("() => window.scrollY")
    plot = page.locator("#plot").bounding_box()
    plot_bottom = plot["y"] + plot["height"] + page.evaluate("() => window.scrollY")
    save_doc_screenshot(  # the table and plot that answer "which model is best?"
        page,
        "results-table.jpg",
        full_page=True,
        clip={"x": 0, "y": table_top - 40, "width": 1400, "height": plot_bottom - table_top + 60},
    )

    slider = page.locator("#slider-1")
    slider.scroll_into_view_if_needed()
    page.wait_for_function(  # both sides decoded, not just present: a busy machine paints late
        "() => { const images = [...document.querySelectorAll('#slider-1 img')];"
        " return images.length >= 2 && images.every(i => i.complete && i.naturalWidth > 0); }",
        timeout=60_000,
    )
    page.wait_for_timeout(500)
    before = element_pixels(slider)
    box = slider.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.15, box["y"] + box["height"] / 2, steps=8)
    page.mouse.up()
    after = element_pixels(slider)
    assert np.abs(before - after).mean() > 0.5  # the divider moved: a different mix of input and output
    slider.screenshot(path=str(ARTIFACTS / "browser-3-dragged.png"))

    with page.expect_download(timeout=60_000) as download_info:
        page.click("#download-csv")
    target = tmp_path / "results.csv"
    download_info.value.save_as(target)
    records = list(csv.DictReader(target.open(encoding="utf-8")))
    assert [r["model"] for r in records] == [
        "lanczos-x4",
        "realesr-animevideov3-x4",
        "waifu2x-photo-x2",
        "unsharp-mask",
    ]
    assert records[2]["output"] == "384x384" and float(records[1]["first ms"]) > 0


def test_a_broken_upload_shows_a_friendly_error(page, tmp_path):
    broken = tmp_path / "holiday.jpg"
    broken.write_bytes((ROOT / "assets" / "astronaut-lowres.jpg").read_bytes()[:3000])
    page.locator("#upload input[type=file]").set_input_files(str(broken))
    toast = page.get_by_text("truncated or corrupt", exact=False).first
    toast.wait_for(timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "browser-4-error.png"))
    assert "JPEG file is truncated or corrupt" in toast.inner_text()


def test_reference_mode_shows_the_kernel_and_full_reference_scores(page):
    page.locator("#upload input[type=file]").set_input_files(str(ROOT / "assets" / "coffee-noisy.png"))
    page.wait_for_selector("#input-preview img", timeout=30_000)
    page.get_by_text("Reference, metrics & runtime").click()
    page.get_by_role("radio", name="synthetic degradation").check()
    blur_controls = {"gauss": ["#blur-sigma"], "motion": ["#blur-length", "#blur-angle"], "none": []}
    for kind in ("motion", "none", "gauss"):  # only the selected blur kind's controls are shown
        page.locator("#blur-kind").get_by_role("radio", name=kind).check()
        for control in ("#blur-sigma", "#blur-length", "#blur-angle"):
            expect_visible = control in blur_controls[kind]
            page.wait_for_selector(control, state="visible" if expect_visible else "hidden", timeout=30_000)
    page.wait_for_selector("#kernel img", timeout=30_000)
    page.click("#run")
    page.wait_for_selector("#slot-1 img", timeout=180_000)
    wait_for_text(page, "#results-table", ["PSNR-Y", "SSIM-Y", "Real-ESRGAN animevideo v3 x4"])
    assert "x4,blur=gauss:1.2,seed=0" in page.locator("#status").inner_text()
    page.screenshot(path=str(ARTIFACTS / "browser-5-reference.png"), full_page=True)


def teardown_module(module):
    # keep the newest full-page result where the README's screenshot can be refreshed from
    source = ARTIFACTS / "browser-2-results.png"
    if source.exists():
        shutil.copy(source, ARTIFACTS / "latest-results.png")


def test_parameter_controls_are_live_and_reach_the_engine(page, model_settings):
    from studio.core.media import decode
    from studio.engine.compare import run
    from studio.engine.request import CompareRequest
    from studio.models.cache import EnhancerCache
    from studio.models.loader import Loader
    from studio.models.registry import load_registry

    asset = ROOT / "assets" / "text-motion-blurred.png"
    page.locator("#upload input[type=file]").set_input_files(str(asset))
    page.wait_for_selector("#input-preview img", timeout=30_000)
    clear_models(page, "super-resolution")
    pick_model(page, "sharpen", "Unsharp mask")
    page.get_by_text("Model parameters").click()
    amount = page.get_by_label("number input for amount")
    amount.fill("4")
    amount.press("Enter")
    page.get_by_text("Reference, metrics & runtime").click()
    page.get_by_label("Sharpness ↑").check()
    page.click("#run")
    wait_for_text(page, "#results-table", ["Unsharp mask"])
    image = decode(asset, 10**8)
    loader = Loader(model_settings, cache=EnhancerCache(100))
    registry = load_registry(model_settings)
    request = CompareRequest.build(
        registry, ["unsharp-mask"], metrics=["sharpness"], params={"unsharp-mask": {"amount": 4}}
    )
    (row,) = run(request, image, registry, loader).rows
    wait_for_text(page, "#results-table", [f"{row.metrics['sharpness']:.1f}"[:-2]])
    (shown,) = table_records(page)  # only unsharp-mask ran
    assert shown["model"] == "Unsharp mask"
    assert float(shown["Sharpness ↑"]) == pytest.approx(row.metrics["sharpness"], abs=1e-4)  # shown to 4 decimals


def test_chosen_output_format_applies_to_the_run(page):
    page.locator("#upload input[type=file]").set_input_files(str(ROOT / "assets" / "astronaut-lowres.jpg"))
    page.wait_for_selector("#input-preview img", timeout=30_000)
    page.get_by_role("radio", name="webp").check()
    page.click("#run")
    wait_for_text(page, "#output-files", ["lanczos-x4", "realesr-animevideov3-x4", ".webp"])
    assert ".png" not in page.locator("#output-files").inner_text()
