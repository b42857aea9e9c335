"""A run in a real browser while it goes on: finished results stay visible and usable, progress shows in
one place (the run bar), Cancel stops the run and keeps what finished, Run is locked and unlocked.

The input is a 512x48 strip of a photo: lanczos-x4 finishes at once, then realesr-animevideov3-x4 runs
in two tiles (x4 tiles are 320 px) and realesrgan-x4plus after it, so there is a slow model running to
look at and a tile boundary soon for the Cancel to stop at.
"""

from __future__ import annotations

import csv
import re

import pytest
from PIL import Image

from tests.ui.browser import (
    ARTIFACTS,
    clear_models,
    image_sizes,
    pick_model,
    require_chromium,
    run_finished,
    table_records,
    upload,
    wait_for_text,
)

require_chromium()
pytestmark = pytest.mark.browser

# Evaluated in one go in the page, so it describes one instant: the first slot's images are there and
# not covered, the run is still going (Run locked, Cancel open) and its progress shows in the run bar only.
FINISHED_SLOT_VISIBLE_WHILE_RUNNING = """() => {
    const images = [...document.querySelectorAll('#slot-0 img')];
    const loaded = images.length >= 2 && images.every(i => i.complete && i.naturalWidth > 0);
    const covered = (selector) => [...document.querySelectorAll(`${selector} [data-testid=status-tracker]`)]
        .some(t => !t.classList.contains('hide'));
    const running = document.querySelector('#run').disabled && !document.querySelector('#cancel').disabled;
    const progress = document.querySelector('#run-progress .progress-level');
    return loaded && running && !covered('#slot-0') && !covered('#results-table') && covered('#run-progress')
        && !!progress && /Real-ESRGAN/.test(progress.innerText);
}"""


@pytest.fixture
def strip(tmp_path, photo):
    path = tmp_path / "strip.png"
    Image.fromarray(photo[200:248]).save(path)  # 512x48
    return path


def test_finished_results_stay_visible_while_a_slow_model_runs_and_cancel_keeps_them(page, strip, tmp_path):
    upload(page, strip)
    pick_model(page, "super-resolution", "Real-ESRGAN x4plus")  # after the two preselected models
    page.click("#run")
    page.wait_for_function(FINISHED_SLOT_VISIBLE_WHILE_RUNNING, timeout=180_000)
    # the page scrolled to the run bar, the results right under it (the form above may have grown since)
    top = page.evaluate("() => document.getElementById('run-bar').getBoundingClientRect().top")
    assert page.evaluate("() => window.scrollY") > 300 and -5 < top < 500
    page.screenshot(path=str(ARTIFACTS / "browser-10-running.png"))
    assert "Lanczos x4" in page.locator("#slot-0").inner_text()
    assert page.locator("#run").is_disabled()

    page.click("#cancel")
    run_finished(page, timeout=240_000)
    status = page.locator("#status").inner_text()
    (kept,) = re.findall(r"Cancelled after (\d) of 3 models: the finished results are kept", status)
    kept = int(kept)
    assert kept in (1, 2), status  # stopped within animevideov3's tiles, or before/inside realesrgan's
    assert f"Cancelled after {kept} of 3 models" in page.locator("#run-progress").inner_text()
    assert image_sizes(page, "#slot-0 img") == [[2048, 192], [2048, 192]]  # still there after the run
    assert not page.locator(f"#slot-{kept}").is_visible()  # the model in progress was dropped
    assert [row["model"] for row in table_records(page)] == ["Lanczos x4", "Real-ESRGAN animevideo v3 x4"][:kept]
    assert page.locator("#cancel").is_disabled() and page.locator("#run").is_enabled()
    page.screenshot(path=str(ARTIFACTS / "browser-11-cancelled.png"), full_page=True)

    with page.expect_download(timeout=60_000) as download:  # the finished results' files were written
        page.click("#download-csv")
    download.value.save_as(tmp_path / "results.csv")
    records = list(csv.DictReader((tmp_path / "results.csv").open(encoding="utf-8")))
    assert [r["model"] for r in records] == ["lanczos-x4", "realesr-animevideov3-x4"][:kept]

    # Run again: a fresh run is not cancelled by the last one's Cancel
    clear_models(page, "super-resolution")
    pick_model(page, "super-resolution", "Bicubic x4")
    page.click("#run")
    wait_for_text(page, "#run-progress", ["Done: 1 of 1 model(s) ran"], timeout=120_000)
    assert [row["model"] for row in table_records(page)] == ["Bicubic x4"]
    assert "Cancelled" not in page.locator("#status").inner_text()
    assert page.locator("#run").is_enabled() and page.locator("#cancel").is_disabled()


def test_a_refused_request_unlocks_run(page, strip):
    """The request is refused before anything runs (no model chosen): one clear error, and Run works again."""
    upload(page, strip)
    clear_models(page, "super-resolution")
    page.click("#run")
    page.get_by_text("pick at least one model", exact=False).first.wait_for(timeout=30_000)
    run_finished(page, timeout=30_000)
    assert page.locator("#cancel").is_disabled()
    # the reason stays in the progress box after the toast fades
    wait_for_text(page, "#run-progress", ["Not run: pick at least one model"], timeout=30_000)


def test_a_ground_truth_of_another_picture_is_refused_and_unlocks_run(page, strip, photo, tmp_path):
    """The engine refuses it when the run starts (another aspect ratio): one line, no results, Run works again."""
    other = tmp_path / "other.png"
    Image.fromarray(photo).save(other)  # 512x512 against the 512x48 strip
    upload(page, strip)
    page.get_by_text("Reference, metrics & runtime").click()
    page.get_by_role("radio", name="ground truth upload").check()
    page.locator("#ground-truth input[type=file]").set_input_files(str(other))
    page.wait_for_selector("#ground-truth a, #ground-truth .file-name", timeout=30_000)
    page.click("#run")
    toast = page.get_by_text("does not match the input", exact=False).first
    toast.wait_for(timeout=60_000)
    assert "the ground truth (512x512) does not match the input (512x48)" in toast.inner_text()
    run_finished(page, timeout=30_000)
    wait_for_text(page, "#run-progress", ["Not run: the ground truth (512x512) does not match"], timeout=30_000)
    assert page.locator("#slot-0").is_hidden() and page.locator("#cancel").is_disabled()
