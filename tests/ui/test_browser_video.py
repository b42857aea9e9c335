"""The Video tab in a real browser (Debian Chromium driven by Playwright), as a person uses it.

Upload a clip with sound, pick two models, run, play the comparison video, read the table, and send a
keyframe to the Compare tab. The README's screenshot of the tab (docs/video.jpg) is written here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.ui.browser import (
    ARTIFACTS,
    require_chromium,
    save_doc_screenshot,
    table_records,
    wait_for_text,
)
from tests.video.clips import _write_tone, make_clip

pytestmark = [pytest.mark.slow, pytest.mark.browser]
require_chromium()

PLAY = """async (selector) => {
    const video = document.querySelector(selector);
    video.muted = true;  // a muted video may play without a user gesture
    await video.play();
    const start = video.currentTime;
    await new Promise(resolve => setTimeout(resolve, 1200));
    const result = {duration: video.duration, start, now: video.currentTime, error: video.error && video.error.code,
                    width: video.videoWidth, height: video.videoHeight};
    video.pause();
    return result;
}"""


def panning_clip(path: Path, photo: np.ndarray, frames: int = 60, size: tuple[int, int] = (320, 192)) -> Path:
    """A 2.5 s H.264 clip with a tone: a window panning across the photo (24 fps), so frames differ like footage."""
    import av

    width, height = size
    with av.open(str(path), "w", format="mp4") as output:
        video = output.add_stream("libx264", rate=24)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        sound = output.add_stream("aac", rate=48000)
        sound.layout = "mono"
        for index in range(frames):
            left = round(index * (photo.shape[1] - width) / (frames - 1))
            top = round(index * (photo.shape[0] - height) / (frames - 1) / 3)
            crop = np.ascontiguousarray(photo[top : top + height, left : left + width])
            for packet in video.encode(av.VideoFrame.from_ndarray(crop, format="rgb24")):
                output.mux(packet)
        for packet in video.encode(None):
            output.mux(packet)
        _write_tone(sound, output, frames / 24)
    return path


def pick_video_model(page, name: str) -> None:
    box = page.locator("#video-models input")
    box.click()
    box.fill(name)
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")


def video_run_finished(page, timeout: float = 180_000) -> None:
    page.wait_for_function(
        "() => { const run = document.querySelector('#video-run'); return !!run && !run.disabled; }", timeout=timeout
    )


def test_run_a_clip_play_the_comparison_and_open_a_keyframe_in_compare(page, tmp_path, photo):
    clip = panning_clip(tmp_path / "street.mp4", photo)
    page.get_by_role("tab", name="Video").click()
    page.wait_for_selector("#video-upload", state="visible", timeout=30_000)
    page.locator("#video-upload input[type=file]").set_input_files(str(clip))
    wait_for_text(page, "#video-info", ["street.mp4", "320x192", "audio: aac"], timeout=60_000)

    page.locator("#video-models [title='Clear']").click()  # starts with two fast defaults: pick our own
    page.wait_for_function("() => document.querySelectorAll('#video-models .token').length === 0", timeout=30_000)
    pick_video_model(page, "Lanczos x2")
    pick_video_model(page, "Unsharp mask")
    page.wait_for_function("() => document.querySelectorAll('#video-models .token').length === 2", timeout=30_000)

    page.click("#video-run")
    page.wait_for_selector("#video-comparison video[src]", timeout=180_000)
    video_run_finished(page)
    wait_for_text(page, "#video-progress", ["Done: 2 of 2 model(s) over 60 frames"])
    wait_for_text(page, "#video-summary", ["60 frames at 320x192", "audio (aac) copied"])

    played = page.evaluate(PLAY, "#video-comparison video")
    assert played["error"] is None, played  # Chromium decoded our H.264 (a MEDIA_ERR code otherwise)
    assert played["duration"] == pytest.approx(2.5, abs=0.2)
    assert played["now"] > played["start"] + 0.3, played  # time advanced: it plays
    assert (played["width"], played["height"]) == (3 * 640, 384)  # input | Lanczos x2 | Unsharp mask

    wait_for_text(page, "#video-table", ["flicker", "p95 ms", "lanczos-x2", "unsharp-mask"])
    records = {record["model"]: record for record in table_records(page, "#video-table")}
    assert set(records) == {"lanczos-x2", "unsharp-mask"}
    assert all(float(record["flicker"]) > 0 and float(record["fps"]) > 0 for record in records.values())
    assert records["lanczos-x2"]["output"] == "640x384"

    page.wait_for_selector("#video-keyframes img", timeout=60_000)
    page.wait_for_function(
        "() => [...document.querySelectorAll('#video-keyframes img')].every(i => i.complete && i.naturalWidth > 0)",
        timeout=60_000,
    )
    page.evaluate("() => document.getElementById('video-run-bar').scrollIntoView({block: 'start'})")
    page.wait_for_timeout(300)
    save_doc_screenshot(page, "video.jpg")
    page.screenshot(path=str(ARTIFACTS / "browser-video-1-results.png"), full_page=True)

    thumbnails = page.locator("#video-keyframes img")
    assert thumbnails.count() >= 2
    thumbnails.nth(1).click()
    wait_for_text(page, "#keyframe-selected", ["Selected: frame", " s · sharpness "], timeout=30_000)
    page.click("#keyframe-to-compare")
    page.wait_for_selector("#input-preview img", state="visible", timeout=60_000)
    assert page.get_by_role("tab", name="Compare").get_attribute("aria-selected") == "true"
    wait_for_text(page, "#upload", ["street-frame-"])  # the keyframe's own PNG is the Compare tab's upload
    page.screenshot(path=str(ARTIFACTS / "browser-video-2-compare.png"))


def test_progress_streams_and_cancel_stops_the_run_and_keeps_no_files(page, tmp_path):
    clip = make_clip(tmp_path / "long.mp4", frames=240, size=(640, 360), fps=24)  # 10 s
    page.get_by_role("tab", name="Video").click()
    page.locator("#video-upload input[type=file]").set_input_files(str(clip))
    wait_for_text(page, "#video-info", ["640x360", "no audio"], timeout=60_000)
    pick_video_model(page, "Non-local means")  # a slow filter (a few fps): time to watch and cancel

    page.click("#video-run")
    wait_for_text(page, "#video-progress", ["frame ", "/240", "fps", "s left"], timeout=120_000)
    page.screenshot(path=str(ARTIFACTS / "browser-video-3-progress.png"))
    page.click("#video-cancel")
    video_run_finished(page, timeout=60_000)
    wait_for_text(page, "#video-progress", ["Cancelled after", "partial files removed"])
    assert page.locator("#video-comparison video[src]").count() == 0
    downloads = page.locator("#video-files").inner_text().replace("\n", "")  # names are split into spans
    assert "results.json" in downloads and ".mp4" not in downloads
    frames = {record["model"]: int(record["frames"]) for record in table_records(page, "#video-table")}
    assert set(frames) == {"lanczos-x2", "unsharp-mask", "nl-means"} and 0 < frames["nl-means"] < 240


def test_a_file_that_is_not_a_video_is_refused_on_upload_in_one_line(page, tmp_path):
    fake = tmp_path / "holiday.mp4"
    fake.write_text("ffconcat version 1.0\nfile 'secret.mp4'\n")
    page.get_by_role("tab", name="Video").click()
    page.locator("#video-upload input[type=file]").set_input_files(str(fake))
    wait_for_text(page, "#video-info", ["holiday.mp4", "cannot be used: a playlist or concat list is not a video"])
    page.click("#video-run")
    video_run_finished(page, timeout=60_000)
    wait_for_text(page, "#video-progress", ["Not run: a playlist or concat list is not a video"])
