"""The synced zoom viewer in Chromium, on a small Blocks app that shows real engine results.

The engine runs lanczos-x4, bicubic-x2 and unsharp-mask on the astronaut (128x96), so one view
holds images of three sizes (128x96, 256x192, 512x384). The page first shows the input and the
first output, as a run does after its first model; the app's Run button shows all of them.
Pixels are read back from screenshots (device scale 1) and compared with the engine's arrays.
"""

from __future__ import annotations

import dataclasses
import io
from types import SimpleNamespace

import gradio as gr
import numpy as np
import pytest
from PIL import Image

from studio.core.config import Settings
from studio.core.media import DecodedImage
from studio.core.resize import resize_to
from studio.engine.compare import run
from studio.engine.request import CompareRequest
from studio.models.loader import Loader
from studio.models.registry import load_registry
from studio.ui.compare.viewer import build_viewer, viewer_update
from tests.appserver import free_port
from tests.ui.browser import ARTIFACTS, open_app, require_chromium

require_chromium()
pytestmark = [pytest.mark.browser, pytest.mark.network, pytest.mark.slow]

VIEWER = "#zoom-viewer"
MODELS = ["lanczos-x4", "bicubic-x2", "unsharp-mask"]


@pytest.fixture(scope="module")
def results(photo, tmp_path_factory):
    home = tmp_path_factory.mktemp("viewer")
    settings = Settings.from_env(
        {
            "STUDIO_OFFLINE": "1",
            "HF_HUB_OFFLINE": "1",
            "STUDIO_WEIGHTS_DIR": str(home / "weights"),
            "STUDIO_DATA_DIR": str(home / "data"),
        }
    )
    registry = load_registry(settings)
    request = CompareRequest.build(registry, MODELS, metrics=[])
    image = DecodedImage(rgb=np.ascontiguousarray(resize_to(photo, 128, 128)[16:112]))  # 128x96
    results = run(request, image, registry, Loader(settings))
    assert [row.output.size for row in results.rows] == [(512, 384), (256, 192), (128, 96)]
    return results


@pytest.fixture(scope="module")
def app_server(results):
    """The test app: the viewer shows the first model's results on load, every model's after Run."""
    first = dataclasses.replace(results, rows=results.rows[:1])
    with gr.Blocks() as demo:
        with gr.Row():
            show_all = gr.Button("Run", elem_id="run")
            # A run's streamed updates, one button each: the first has no outputs, each later one adds one.
            steps = [gr.Button(f"{count} outputs", elem_id=f"stream-{count}") for count in range(3)]
        viewer = build_viewer()
        demo.load(lambda: viewer_update(first)[0], None, viewer.outputs)
        show_all.click(lambda: viewer_update(results)[0], None, viewer.outputs)
        for count, step in enumerate(steps):
            streamed = dataclasses.replace(results, rows=results.rows[:count])
            step.click(lambda streamed=streamed: viewer_update(streamed)[0], None, viewer.outputs)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    yield SimpleNamespace(url=f"http://127.0.0.1:{port}/")
    demo.close()


def wait_for_panels(page, keys: list[str]) -> None:
    """Until the viewer shows exactly these panels (after the flip panel) with every image loaded and decoded,
    and Gradio's loading overlay on it has faded out: what a screenshot then shows is what the viewer draws."""
    page.wait_for_function(
        """([selector, keys]) => {
            const figures = [...document.querySelectorAll(`${selector} .sv-panel`)];
            const shown = figures.map(f => f.dataset.key);
            const overlays = [...document.querySelectorAll(`${selector} .wrap`)];
            return JSON.stringify(shown) === JSON.stringify(['flip', ...keys])
                && [...document.querySelectorAll(`${selector} .sv-view img`)]
                    .every(i => i.complete && i.naturalWidth > 0)
                && overlays.every(w => getComputedStyle(w).opacity === '0' || !w.getBoundingClientRect().height);
        }""",
        arg=[VIEWER, keys],
        timeout=30_000,
    )
    # Loaded is not yet decoded: a busy machine may paint an image's panel before its pixels are ready.
    page.evaluate(
        "(selector) => Promise.all([...document.querySelectorAll(`${selector} img`)].map(i => i.decode()))", VIEWER
    )


@pytest.fixture
def page(browser, app_server):
    """The app in a new page, once the page's own first update is in (so that one cannot land after a test's)."""
    with open_app(browser, app_server.url) as page:
        wait_for_panels(page, ["input", "lanczos-x4"])
        yield page


def show_all(page) -> None:
    page.click("#run")
    wait_for_panels(page, ["input", *MODELS])


def stream(page, count: int) -> None:
    """The viewer as a run's update with the first `count` outputs leaves it."""
    page.click(f"#stream-{count}")
    wait_for_panels(page, ["input", *MODELS[:count]])


def regions(page) -> dict[str, list[float]]:
    """Per panel, the scene region its view shows: [left, top, right, bottom] as fractions of its image."""
    return page.evaluate(
        """(selector) => Object.fromEntries([...document.querySelectorAll(`${selector} .sv-panel`)].map(f => {
            const view = f.querySelector('.sv-view').getBoundingClientRect();
            const img = [...f.querySelectorAll('.sv-view img')].find(i => !i.hidden).getBoundingClientRect();
            return [f.dataset.key, [(view.left - img.left) / img.width, (view.top - img.top) / img.height,
                                    (view.right - img.left) / img.width, (view.bottom - img.top) / img.height]];
        }))""",
        VIEWER,
    )


def assert_one_region(found: dict[str, list[float]]) -> np.ndarray:
    """Every panel shows the same region (to a fraction of one pixel of the largest image); returns it."""
    boxes = np.array(list(found.values()))
    assert len(boxes) == 5  # the flip panel and four images
    assert np.abs(boxes - boxes[0]).max() < 0.25 / 512, found
    return boxes[0]


def centre(box: np.ndarray) -> np.ndarray:
    return np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2])


def view(page, key: str):
    return page.locator(f"{VIEWER} .sv-panel[data-key='{key}'] .sv-view")


def view_pixels(page, key: str, scale: int = 1) -> np.ndarray:
    """A panel's view in screen (device) pixels: Chrome paints a box at a fractional position from the nearest
    device pixel, so the clip is the box snapped to device pixels (an element screenshot takes one row more)."""
    panel = view(page, key)
    panel.scroll_into_view_if_needed()
    box = panel.bounding_box()
    clip = {name: round(box[name] * scale) / scale for name in ("x", "y", "width", "height")}
    return np.asarray(Image.open(io.BytesIO(page.screenshot(clip=clip))).convert("RGB")).astype(int)


def expected_view(page, key: str, image: np.ndarray, scale: int = 1) -> np.ndarray:
    """What a panel must show, in device pixels: `image` magnified by nearest neighbour, placed as the panel
    places it (offsets and factors are in device pixels)."""
    img = page.locator(f"{VIEWER} .sv-panel[data-key='{key}'] .sv-view img").first
    magnify = float(img.get_attribute("data-magnify"))
    assert magnify == round(magnify)
    left, top = int(img.get_attribute("data-left")), int(img.get_attribute("data-top"))
    side = round(view(page, key).bounding_box()["width"] * scale)
    rows = (np.arange(side) - top) // int(magnify)
    cols = (np.arange(side) - left) // int(magnify)
    assert rows.min() >= 0 and cols.min() >= 0 and rows.max() < image.shape[0] and cols.max() < image.shape[1]
    return image[rows][:, cols].astype(int)


def test_a_click_and_a_drag_move_every_panel_to_the_same_region(page):
    show_all(page)
    start = assert_one_region(regions(page))
    assert np.allclose(centre(start), [0.5, 0.5], atol=1 / 512)
    # Click on the Lanczos panel, 100 px left of and 60 px above its centre: every panel centres there.
    lanczos = view(page, "lanczos-x4").bounding_box()
    side = lanczos["width"]
    page.mouse.click(lanczos["x"] + side / 2 - 100, lanczos["y"] + side / 2 - 60)
    clicked = assert_one_region(regions(page))
    expected = centre(start) + np.array([-100 / (512 * 4), -60 / (384 * 4)])  # 4x: 4 screen px per pixel
    assert np.allclose(centre(clicked), expected, atol=1 / 512)
    # Drag the unsharp-mask panel (a 128x96 image, at 16x) by (+80, +40) px: the scene follows the pointer.
    small = view(page, "unsharp-mask").bounding_box()
    x, y = small["x"] + side / 2, small["y"] + side / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 40, y + 20, steps=4)
    page.mouse.move(x + 80, y + 40, steps=4)
    page.mouse.up()
    dragged = assert_one_region(regions(page))
    assert np.allclose(centre(dragged), centre(clicked) - np.array([80 / 2048, 40 / 1536]), atol=1 / 512)
    page.locator(VIEWER).screenshot(path=str(ARTIFACTS / "viewer-1-synced.png"))
    # The overview: a click on its top-left quarter centres every panel there.
    overview = page.locator(f"{VIEWER} .sv-overview").bounding_box()
    page.mouse.click(overview["x"] + overview["width"] * 0.3, overview["y"] + overview["height"] * 0.25)
    moved = assert_one_region(regions(page))
    assert np.allclose(centre(moved), [0.3, 0.25], atol=2 / 128)


@pytest.mark.parametrize("factor", [1, 4, 8])
def test_each_panel_shows_its_image_magnified_by_nearest_neighbour_at_the_stated_factor(page, results, factor):
    show_all(page)
    page.click(f"{VIEWER} button[data-factor='{factor}']")
    page.wait_for_function(f"() => document.querySelector('{VIEWER} .sv').dataset.factor === '{factor}'")
    images = {"input": results.input.rgb, **{row.model_id: row.output.rgb for row in results.rows}}
    largest = 512
    for key, image in images.items():
        magnify = factor * largest // image.shape[1]
        caption = page.locator(f"{VIEWER} .sv-panel[data-key='{key}'] figcaption").inner_text()
        assert caption.endswith(f"({image.shape[1]}x{image.shape[0]}) · {magnify}x")
        shown = view_pixels(page, key)
        wanted = expected_view(page, key, image)
        assert shown.shape == wanted.shape
        assert np.abs(shown - wanted).max() <= 1, f"{key} at {factor}x differs from the engine's pixels"
    if factor == 4:
        page.locator(VIEWER).screenshot(path=str(ARTIFACTS / "viewer-2-4x.png"))


def flip_caption(page) -> str:
    return page.locator(f"{VIEWER} .sv-panel[data-key='flip'] figcaption").inner_text()


def assert_same_view(page, key: str, other: str) -> None:
    """Panels `key` and `other` show the very same screen pixels. A frame may lag a key press by a paint, so the
    pair is read again until it matches (5 s at most); the assertion is on the last reading."""
    for _ in range(50):
        shown, wanted = view_pixels(page, key), view_pixels(page, other)
        if np.array_equal(shown, wanted):
            return
        page.wait_for_timeout(100)
    assert np.array_equal(shown, wanted), f"the {key} panel does not show {other}"


def test_the_flip_shortcut_swaps_the_image_in_place(page):
    show_all(page)
    flip = view(page, "flip")
    box = flip.bounding_box()
    assert flip_caption(page).startswith("A: input (128x96) · 16x") and "B: Lanczos x4" in flip_caption(page)
    assert_same_view(page, "flip", "input")
    page.focus(f"{VIEWER} .sv")
    page.keyboard.press("f")
    assert flip_caption(page).startswith("B: Lanczos x4 (512x384) · 4x") and "A: input" in flip_caption(page)
    assert_same_view(page, "flip", "lanczos-x4")
    assert flip.bounding_box() == box  # in place: the same panel, the same region
    page.locator(VIEWER).screenshot(path=str(ARTIFACTS / "viewer-3-flipped.png"))
    page.keyboard.press(" ")
    assert flip_caption(page).startswith("A: input")
    assert_same_view(page, "flip", "input")
    # Any two images: pick Bicubic x2 as B, then F shows it.
    page.select_option(f"{VIEWER} .sv-pick-b", "bicubic-x2")
    page.keyboard.press("f")
    assert flip_caption(page).startswith("B: Bicubic x2 (256x192) · 8x")
    assert_same_view(page, "flip", "bicubic-x2")


def flip_pair(page) -> list[str]:
    return [page.locator(f"{VIEWER} .sv-pick-{side}").input_value() for side in "ab"]


def test_the_flip_pair_follows_a_run_s_outputs_as_they_stream_in_until_picked_by_hand(page):
    """A run's first update has no outputs (default pair: the input with itself); later ones bring the first output
    as B, so F flips input and first output. A pair picked by hand stays, across updates and the next run."""
    stream(page, 0)
    assert flip_pair(page) == ["input", "input"]
    stream(page, 1)
    assert flip_pair(page) == ["input", "lanczos-x4"]
    stream(page, 2)
    assert flip_pair(page) == ["input", "lanczos-x4"]
    assert flip_caption(page).startswith("A: input") and flip_caption(page).endswith("F shows B: Lanczos x4")
    page.focus(f"{VIEWER} .sv")
    page.keyboard.press("f")
    assert flip_caption(page).startswith("B: Lanczos x4 (512x384) · 4x")
    assert_same_view(page, "flip", "lanczos-x4")
    page.keyboard.press("f")
    assert flip_caption(page).startswith("A: input")
    assert_same_view(page, "flip", "input")
    # By hand: A = Bicubic x2, B = the input. The next updates keep that pair (the last one has every model).
    page.select_option(f"{VIEWER} .sv-pick-a", "bicubic-x2")
    page.select_option(f"{VIEWER} .sv-pick-b", "input")
    show_all(page)
    assert flip_pair(page) == ["bicubic-x2", "input"]
    # The next run: while Bicubic x2 is not back, A is the default (the input); once it is back, it is A again.
    stream(page, 0)
    assert flip_pair(page) == ["input", "input"]
    stream(page, 1)
    assert flip_pair(page) == ["input", "input"]
    stream(page, 2)
    assert flip_pair(page) == ["bicubic-x2", "input"]
    assert flip_caption(page).startswith("A: Bicubic x2 (256x192) · 8x")
    assert_same_view(page, "flip", "bicubic-x2")
    page.focus(f"{VIEWER} .sv")  # the clicks moved the focus to the buttons
    page.keyboard.press("f")
    assert flip_caption(page).startswith("B: input")
    assert_same_view(page, "flip", "input")


def test_results_arriving_later_keep_the_zoom_and_the_region(page):
    assert flip_pair(page) == ["input", "lanczos-x4"]  # after the first model
    page.click(f"{VIEWER} button[data-factor='8']")
    lanczos = view(page, "lanczos-x4").bounding_box()
    page.mouse.click(lanczos["x"] + 40, lanczos["y"] + 50)
    before = regions(page)
    show_all(page)  # the next models arrive
    after = regions(page)
    assert page.locator(f"{VIEWER} .sv").get_attribute("data-factor") == "8"
    assert after["lanczos-x4"] == before["lanczos-x4"]
    assert_one_region(after)


def test_on_a_high_density_screen_the_factor_counts_screen_pixels(browser, app_server, results):
    """Device scale 2: at 2x each pixel of the Lanczos output is 2x2 screen pixels (1x would be true 1:1)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, device_scale_factor=2)
    try:
        page = context.new_page()
        page.goto(app_server.url, wait_until="load")
        page.wait_for_selector("#run", timeout=60_000)
        wait_for_panels(page, ["input", "lanczos-x4"])
        show_all(page)
        page.click(f"{VIEWER} button[data-factor='2']")
        assert page.locator(f"{VIEWER} .sv-panel[data-key='lanczos-x4'] figcaption").inner_text().endswith("· 2x")
        assert view(page, "lanczos-x4").bounding_box()["width"] == 320  # CSS px: 640 screen pixels
        shown = view_pixels(page, "lanczos-x4", scale=2)
        assert shown.shape == (640, 640, 3)
        wanted = expected_view(page, "lanczos-x4", results.rows[0].output.rgb, scale=2)
        assert np.abs(shown - wanted).max() <= 1
    finally:
        context.close()
