"""The Webcam tab in a real browser: Chromium's fake camera streams through the default filter.

Chromium runs with `--use-fake-device-for-media-stream` (a synthetic 640x480 camera: a green pie
that turns) and `--use-fake-ui-for-media-stream` (the permission prompt is accepted). The test starts
the webcam, presses Record, and waits for processed frames in the output and an fps figure in the
status line. The README's screenshot (docs/webcam.jpg) is written here, so it shows the current tab.
"""

from __future__ import annotations

import re

import pytest

from tests.ui.browser import ARTIFACTS, FAKE_CAMERA_ARGS, launch_chromium, require_chromium, save_doc_screenshot

require_chromium()

STATUS = "#webcam-status [data-testid='markdown']"
STATUS_FIGURES = re.compile(r"([\d.]+) fps · (\d+) ms per frame .* · (\d+) processed · (\d+) dropped")


@pytest.fixture(scope="module")
def browser():
    """This module's Chromium, with a fake camera (named like conftest's fixture, which it replaces here)."""
    with launch_chromium(FAKE_CAMERA_ARGS) as instance:
        yield instance


@pytest.fixture
def page(browser, app_server):
    """The app in a fresh context allowed to use the camera."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, permissions=["camera"])
    try:
        page = context.new_page()
        page.goto(app_server.url, wait_until="load")
        page.wait_for_selector("#run", timeout=60_000)
        yield page
    finally:
        context.close()


def status_text(page) -> str:
    """The status line itself (the element also holds Gradio's hidden progress timer)."""
    return page.locator(STATUS).inner_text()


def status_figures(page) -> tuple[float, int, int, int] | None:
    """(fps, ms per frame, processed, dropped) from the status line, None before the first frame."""
    match = STATUS_FIGURES.search(status_text(page))
    return (float(match[1]), int(match[2]), int(match[3]), int(match[4])) if match else None


def test_fake_camera_streams_through_the_filter_with_an_fps_figure(page):
    page.get_by_role("tab", name="Webcam", exact=True).click()
    page.wait_for_selector("#webcam-input", timeout=30_000)
    assert page.locator("#webcam-model input").input_value() == "Unsharp mask (classical)"  # the default
    page.get_by_text("Click to Access Webcam").click()
    page.wait_for_function(  # the fake camera is playing in the page
        "() => { const v = document.querySelector('#webcam-input video'); return !!v && v.videoWidth > 0; }",
        timeout=30_000,
    )
    page.locator("#webcam-input button[aria-label='capture photo']").click()  # Record: starts the stream

    page.wait_for_function(  # processed frames shown, and a rate measured over them
        "(selector) => { const img = document.querySelector('#webcam-output img');"
        " const status = document.querySelector(selector);"
        " const fps = /([\\d.]+) fps/.exec(status ? status.innerText : '');"
        " return !!img && img.complete && img.naturalWidth > 0 && !!fps && Number(fps[1]) > 0; }",
        arg=STATUS,
        timeout=60_000,
    )
    first_src = page.locator("#webcam-output img").get_attribute("src")
    page.wait_for_function(  # the output keeps changing: a stream of frames, not one picture
        "(first) => { const img = document.querySelector('#webcam-output img');"
        " return !!img && img.getAttribute('src') !== first && img.complete && img.naturalWidth > 0; }",
        arg=first_src,
        timeout=30_000,
    )
    page.wait_for_timeout(2_000)  # a couple of seconds of steady state for the figures and the screenshot

    figures = status_figures(page)
    assert figures is not None, status_text(page)
    fps, latency_ms, processed, dropped = figures
    assert fps > 0 and processed >= 3 and dropped >= 0 and latency_ms >= 0
    sizes = page.wait_for_function(  # the camera's frame and the latest output, once that has loaded
        "() => { const v = document.querySelector('#webcam-input video');"
        " const i = document.querySelector('#webcam-output img');"
        " return i.complete && i.naturalWidth > 0"
        " ? [[v.videoWidth, v.videoHeight], [i.naturalWidth, i.naturalHeight]] : null; }",
        timeout=30_000,
    ).json_value()
    assert sizes[0] == sizes[1] == [640, 480]  # the size asked of the camera; a filter runs at the frame's size
    assert "unsharp-mask at 640x480" in status_text(page)

    page.screenshot(path=str(ARTIFACTS / "browser-webcam.png"))
    save_doc_screenshot(page, "webcam.jpg")
    print(f"\nwebcam status: {status_text(page)}")
