"""Driving Debian Chromium through Playwright for the browser tests: launch, open the app, pick
models, read the results table and the images the page shows."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.paths import REPO_ROOT

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = REPO_ROOT / "tests" / "artifacts"
DOCS = REPO_ROOT / "docs"  # the README's screenshots: written by the browser tests, so they show the current app


def require_chromium() -> None:
    """Skip the calling test module without Debian chromium (in CI its absence is an error)."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            raise RuntimeError("Debian chromium is missing: .ci/run installs it")
        pytest.skip("Debian chromium is not installed (apt-get install chromium)", allow_module_level=True)


CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
FAKE_CAMERA_ARGS = ("--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream")


@contextmanager
def launch_chromium(extra_args: tuple[str, ...] = ()) -> Iterator:
    """Debian Chromium headless, with the flags this machine needs (and `extra_args`, e.g. FAKE_CAMERA_ARGS)."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *extra_args])
        try:
            yield instance
        finally:
            instance.close()


@contextmanager
def open_app(browser, url: str) -> Iterator:
    """A fresh browser context on the app, once its Run button is there."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    try:
        page = context.new_page()
        page.goto(url, wait_until="load")
        page.wait_for_selector("#run", timeout=60_000)
        yield page
    finally:
        context.close()


def upload(page, path) -> None:
    page.locator("#upload input[type=file]").set_input_files(str(path))
    page.wait_for_selector("#input-preview img", timeout=30_000)


def pick_model(page, task: str, name: str) -> None:
    box = page.locator(f"#models-{task} input")
    box.click()
    box.fill(name)
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")


def clear_models(page, task: str) -> None:
    """Remove every model chosen in one task's list (the super-resolution list starts with two)."""
    page.locator(f"#models-{task} [title='Clear']").click()
    page.wait_for_function(
        "(task) => document.querySelectorAll(`#models-${task} .token`).length === 0", arg=task, timeout=30_000
    )


def table_records(page, selector: str = "#results-table") -> list[dict[str, str]]:
    """A Gradio dataframe as the page shows it, top to bottom (after any sort): one dict per row, header -> text."""
    return [{header: cell["text"] for header, cell in row.items()} for row in table_cells(page, selector)]


def table_cells(page, selector: str = "#results-table") -> list[dict[str, dict[str, str]]]:
    """Like table_records, each cell as {"text", "style"} (the style of the cell and what it wraps: highlights)."""
    return page.evaluate(
        """(selector) => {
            const root = document.querySelector(selector);
            const headers = [...root.querySelectorAll('[role=columnheader]')].map(h => h.innerText.trim());
            const style = (cell) => [cell, ...cell.querySelectorAll('*')].map(e => e.getAttribute('style') || '')
                .join(';');
            const rows = [];
            for (const row of root.querySelectorAll('[role=row]')) {
                const cells = [...row.querySelectorAll('[role=gridcell][data-col]')];
                if (!cells.length) continue;
                const values = {};
                for (const cell of cells) {
                    values[headers[Number(cell.dataset.col)]] = {text: cell.innerText.trim(), style: style(cell)};
                }
                rows.push(values);
            }
            return rows;
        }""",
        selector,
    )


def save_doc_screenshot(page, name: str, **options) -> Path:
    """A JPEG of the page (or of `clip`, `full_page`...: Playwright's screenshot options) straight into docs/."""
    path = DOCS / name
    page.screenshot(path=str(path), type="jpeg", quality=80, **options)
    return path


def run_finished(page, timeout: float = 300_000) -> None:
    """Wait until the page's run has ended (done, cancelled or failed): Run is enabled again."""
    page.wait_for_function(
        "() => { const run = document.querySelector('#run'); return !!run && !run.disabled; }", timeout=timeout
    )


def wait_for_text(page, selector: str, needles: list[str], timeout: float = 120_000) -> None:
    page.wait_for_function(
        "([selector, needles]) => { const el = document.querySelector(selector);"
        " return !!el && needles.every(n => el.innerText.includes(n)); }",
        arg=[selector, needles],
        timeout=timeout,
    )


def element_pixels(locator) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(locator.screenshot())).convert("RGB")).astype(int)


def image_sizes(page, selector: str) -> list[list[int]]:
    """[width, height] of each image, once it has loaded (galleries load lazily: scroll them into view)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.locator(selector).first.scroll_into_view_if_needed()
    try:
        page.wait_for_function(
            "(selector) => [...document.querySelectorAll(selector)].every(i => i.complete && i.naturalWidth > 0)",
            arg=selector,
            timeout=90_000,
        )
    except PlaywrightTimeout:
        states = page.evaluate(
            "(selector) => [...document.querySelectorAll(selector)]"
            ".map(i => ({src: i.src, complete: i.complete, width: i.naturalWidth, loading: i.loading}))",
            selector,
        )
        raise AssertionError(f"images under {selector} never all loaded: {states}") from None
    return page.evaluate(
        "(selector) => [...document.querySelectorAll(selector)].map(i => [i.naturalWidth, i.naturalHeight])", selector
    )


def shown_images(page, selector: str) -> list[np.ndarray]:
    """The pixels of the images the page shows under `selector`, fetched as the browser fetches them."""
    sources = page.evaluate("(selector) => [...document.querySelectorAll(selector)].map(i => i.src)", selector)
    return [np.asarray(Image.open(io.BytesIO(page.request.get(src).body())).convert("RGB")) for src in sources]


def drag_across(page, element, start: float = 0.25, end: float = 0.75) -> None:
    """Press at `start` of the element's width, move to `end` in steps, release: a user dragging a slider."""
    element.scroll_into_view_if_needed()
    box = element.bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * start, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * end, y, steps=5)
    page.mouse.up()
