"""The `studio report` page in Chromium, opened from disk: the slider splits two pictures, headers sort,
and the human ratings of the run's models (from a ratings store filled through its API) are shown.

The run is real (`studio batch --save-outputs` on three crops, two classical models); the page is
opened as a file, offline, and driven with the mouse and the range input.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from tests.cli.helpers import studio
from tests.report.ratings import add_outputs, open_store, score_every_output, vote
from tests.report.runs import IMAGES, make_run
from tests.ui.browser import DOCS, drag_across, launch_chromium, require_chromium, save_doc_screenshot

require_chromium()
pytestmark = [pytest.mark.browser, pytest.mark.slow]

FIRST = "#image-1"
EDGE = 8  # px left out around the divider in pixel comparisons


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("report")
    run_dir = make_run(tmp_path, "--save-outputs")
    out = tmp_path / "report.html"
    result = studio("report", str(run_dir), "-o", str(out))
    assert result.returncode == 0, result.stderr
    return out


RATED = ("lanczos-x2", "bicubic-x2", "unsharp-mask")  # the raters' order, best first


@pytest.fixture(scope="module")
def rated_report(tmp_path_factory):
    """A run of RATED (unsharp-mask, x1, is flagged against the x2 degradation) and a ratings store where a
    rater always preferred the model earlier in RATED, with a MOS score for each output."""
    tmp_path = tmp_path_factory.mktemp("rated")
    run_dir = make_run(tmp_path, "-m", "unsharp-mask")
    db = open_store(tmp_path / "data")
    files = add_outputs(db, "photo", RATED)
    for _ in range(9):
        vote(db, files, RATED)
    score_every_output(db, files, {"lanczos-x2": 5, "bicubic-x2": 4, "unsharp-mask": 2})
    db.dispose()
    out = tmp_path / "report.html"
    result = studio("report", str(run_dir), "-o", str(out), env={"STUDIO_DATA_DIR": str(tmp_path / "data")})
    assert result.returncode == 0, result.stderr
    return out


def open_page(path):
    with launch_chromium() as browser:
        context = browser.new_context(viewport={"width": 1100, "height": 900}, device_scale_factor=1)
        page = context.new_page()
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        page.goto(path.as_uri(), wait_until="load")
        page.wait_for_selector("#summary table")
        yield page
        assert all(url.startswith(("file:", "data:")) for url in requests), requests  # nothing from elsewhere
        context.close()


@pytest.fixture
def page(report):
    yield from open_page(report)


@pytest.fixture
def rated_page(rated_report):
    yield from open_page(rated_report)


def split_at(page, value: float) -> None:
    page.locator(f"{FIRST} input[type=range]").evaluate(
        "(range, value) => { range.value = value; range.dispatchEvent(new Event('input', {bubbles: true})); }", value
    )


def slider_pixels(page) -> np.ndarray:
    shot = page.locator(f"{FIRST} .slider").screenshot()
    return np.asarray(Image.open(io.BytesIO(shot)).convert("RGB")).astype(int)


def test_the_slider_shows_the_left_picture_left_of_the_split(page):
    assert page.locator(".slider").count() == len(IMAGES)
    assert page.locator(f"{FIRST} select.left").input_value() == "0"  # the degraded input the models received
    assert page.locator(f"{FIRST} select.right").input_value() == "2"  # the first model (1: the sharp original)
    assert page.locator(f"{FIRST} .tag.left").inner_text() == "input (degraded: x2,seed=0)"
    assert page.locator(f"{FIRST} .tag.right").inner_text() == "bicubic-x2"
    split_at(page, 100)
    left_only = slider_pixels(page)
    split_at(page, 0)
    right_only = slider_pixels(page)
    split_at(page, 50)
    half = slider_pixels(page)
    middle = half.shape[1] // 2
    assert np.abs(left_only - right_only)[:, EDGE:-EDGE].mean() > 1  # two different pictures
    assert np.abs(half[:, EDGE : middle - EDGE] - left_only[:, EDGE : middle - EDGE]).mean() < 0.5
    assert np.abs(half[:, middle + EDGE : -EDGE] - right_only[:, middle + EDGE : -EDGE]).mean() < 0.5
    top = page.locator(f"{FIRST} img.top")
    assert top.evaluate("img => img.style.clipPath") == "inset(0px 50% 0px 0px)"


def test_dragging_moves_the_split_and_the_selects_pick_any_two(page):
    drag_across(page, page.locator(f"{FIRST} .slider"))
    value = float(page.locator(f"{FIRST} input[type=range]").input_value())
    assert value == pytest.approx(75, abs=1)
    assert page.locator(f"{FIRST} img.top").evaluate("img => img.style.clipPath").startswith("inset(0px 25")
    page.locator(f"{FIRST} select.left").select_option(label="lanczos-x2")
    page.locator(f"{FIRST} select.right").select_option(label="bicubic-x2")
    assert page.locator(f"{FIRST} .tag.left").inner_text() == "lanczos-x2"
    assert page.locator(f"{FIRST} .tag.right").inner_text() == "bicubic-x2"
    strip = page.locator(f"{FIRST} .strip img")
    assert strip.nth(1).get_attribute("alt") == "original (reference)"
    assert page.locator(f"{FIRST} img.top").evaluate("img => img.src") == strip.nth(3).get_attribute("src")
    assert page.locator(f"{FIRST} img.under").evaluate("img => img.src") == strip.nth(2).get_attribute("src")


def column(page, index: int) -> list[float]:
    return page.locator(f"table.summary tbody tr td:nth-child({index})").evaluate_all(
        "cells => cells.map(c => Number(c.dataset.sort))"
    )


def test_clicking_a_header_sorts_the_rows_and_the_page_is_documented(page):
    def order() -> list[str]:
        return page.locator("table.summary tbody tr").evaluate_all("rows => rows.map(r => r.dataset.model)")

    header = page.locator("table.summary th", has_text="latency ms (median)")
    header.click()  # lower is better: the first click puts the fastest first
    ascending = order()
    assert header.get_attribute("aria-sort") == "ascending"
    assert column(page, 5) == sorted(column(page, 5))
    header.click()
    descending = order()
    assert header.get_attribute("aria-sort") == "descending"
    assert descending == ascending[::-1] and descending != ascending
    assert column(page, 5) == sorted(column(page, 5), reverse=True)
    split_at(page, 40)
    save_doc_screenshot(page, "report.jpg", full_page=True)


def test_headers_sort_from_the_keyboard_best_first(page):
    """Tab reaches every header; Enter sorts by it (a higher-is-better metric: highest first), Space reverses."""
    buttons = page.locator("table.summary thead th button")
    assert buttons.count() == page.locator("table.summary thead th").count()
    buttons.first.focus()
    page.keyboard.press("Tab")  # from "model" to the next header
    assert page.evaluate("() => document.activeElement.textContent") == "ok/cells"
    psnr = page.locator("table.summary th", has_text="PSNR-Y")
    psnr.locator("button").focus()
    page.keyboard.press("Enter")
    assert psnr.get_attribute("aria-sort") == "descending"
    assert column(page, 3) == sorted(column(page, 3), reverse=True)
    page.keyboard.press(" ")
    assert psnr.get_attribute("aria-sort") == "ascending"
    assert column(page, 3) == sorted(column(page, 3))
    assert page.locator("table.summary th[aria-sort]").count() == 1


def test_a_flagged_model_is_marked_hollow_and_every_label_stays_inside_the_plot(rated_page):
    page = rated_page
    row = page.locator('table.summary tr[data-model="unsharp-mask"]').inner_text()
    assert "unsharp-mask ⚑" in row and "x1 output scored against a x2 degradation" in row
    fills = page.locator("svg.plot g.point").evaluate_all(
        "points => points.map(p => [p.dataset.model, getComputedStyle(p.querySelector('circle')).fill])"
    )
    assert dict(fills)["unsharp-mask"] == "rgb(255, 255, 255)"  # hollow
    assert {fill for model, fill in fills if model != "unsharp-mask"} == {"rgb(37, 99, 235)"}
    assert "not comparable with the others" in page.locator("svg.plot .legend").text_content()
    inside = page.locator("svg.plot").evaluate(
        """svg => { const frame = svg.querySelector('rect.frame').getBBox();
          return [...svg.querySelectorAll('g.point text')].map(t => { const box = t.getBBox();
            return box.x >= frame.x && box.x + box.width <= frame.x + frame.width; }); }"""
    )
    assert inside and all(inside)
    x_ticks = page.locator("svg.plot text[text-anchor=middle]:not(.axis)").evaluate_all(
        "texts => texts.map(t => t.textContent)"
    )
    assert x_ticks and all(float(t) >= 0 for t in x_ticks)  # latency never below 0


def test_the_ratings_section_ranks_the_runs_models_and_its_tables_sort(rated_page):
    page = rated_page

    def order(css: str) -> list[str]:
        return page.locator(f"#ratings table.{css} tbody tr").evaluate_all("rows => rows.map(r => r.dataset.model)")

    assert order("leaderboard") == list(RATED)
    assert order("mos") == list(RATED)
    assert order("agreement") == ["psnr_y", "ssim_y"]
    assert "9 counted arena vote(s) between 3 of these 3 models" in page.locator("#ratings").inner_text()
    rating = page.locator("#ratings table.leaderboard th", has_text="rating")
    rating.click()
    assert order("leaderboard") == list(RATED)  # higher is better: the first click puts the highest first
    assert rating.get_attribute("aria-sort") == "descending"
    rating.click()
    assert order("leaderboard") == list(RATED)[::-1]
    page.locator("#ratings").screenshot(path=str(DOCS / "report-ratings.jpg"), type="jpeg", quality=80)
