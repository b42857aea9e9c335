"""The frame pipeline end to end on generated clips: files, timing, audio, layout, caps, cancel, failures."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from studio.core.resize import resize_to
from studio.engine.request import CompareRequest
from studio.services import Services
from studio.video.io import ReadReport, VideoLimits, probe, read_frames
from studio.video.layout import plan_layout
from studio.video.pipeline import run_video
from studio.video.results import video_json, video_table
from tests.video.clips import audio_packets, make_clip, timed_audio_packets, video_facts


@pytest.fixture
def services(settings) -> Services:
    return Services(settings)


@pytest.fixture
def clip(tmp_path) -> Path:
    return make_clip(tmp_path / "clip.mp4", frames=24, audio=True)


def run(services, clip, out, models=("lanczos-x2", "unsharp-mask"), layout="side-by-side", limits=None, **build):
    build.setdefault("preview", None)
    request = CompareRequest.build(services.registry, list(models), **build)
    return run_video(request, clip, out, services.registry, services.loader, limits or VideoLimits(), layout=layout)


def first_frame(path: Path) -> np.ndarray:
    info = probe(path, VideoLimits())
    return next(read_frames(info, VideoLimits(), ReadReport())).rgb


def test_every_model_writes_h264_with_the_sources_frames_timing_and_audio(services, clip, tmp_path):
    results = run(services, clip, tmp_path / "out" / "run.mp4")
    source = video_facts(clip)
    assert [row.error for row in results.rows] == [None, None]
    lanczos, unsharp = results.rows
    assert lanczos.path == tmp_path / "out" / "run-lanczos-x2.mp4"
    assert unsharp.path == tmp_path / "out" / "run-unsharp-mask.mp4"
    for row, size in ((lanczos, (192, 128)), (unsharp, (96, 64))):
        facts = video_facts(row.path)
        assert (facts["codec"], facts["pix_fmt"]) == ("h264", "yuv420p")
        assert (facts["width"], facts["height"]) == size == row.output_size
        assert facts["frames"] == 24 and np.allclose(facts["times"], source["times"], atol=1e-3)
        assert audio_packets(row.path) == audio_packets(clip)
        assert len(row.latencies_ms) == 24 and row.fps > 0
    assert results.frames == 24 and results.audio_packets > 0
    assert "audio (aac) copied without re-encoding" in results.notes
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "run-lanczos-x2.mp4",
        "run-unsharp-mask.mp4",
        "run.mp4",
    ]  # no partial file left behind


def test_audio_stays_in_sync_when_the_picture_starts_late(services, tmp_path):
    """A clip whose first frame is at 0.48 s: frames are written from 0, so the sound moves back by 0.48 s too."""
    clip = make_clip(tmp_path / "late.mp4", frames=30, audio=True, video_start_ms=480)
    results = run(services, clip, tmp_path / "out.mp4", models=("unsharp-mask",), layout=None)
    assert video_facts(results.rows[0].path)["times"][0] == 0.0
    source = timed_audio_packets(clip)
    copied = timed_audio_packets(results.rows[0].path)
    first = next(i for i, (data, _) in enumerate(source) if data == copied[0][0])
    assert source[first][1] > 0.4  # the sound before the picture began is left out
    for (data, moved), (original, at) in zip(copied, source[first:], strict=False):
        assert data == original and abs(moved - (at - 0.48)) < 1e-3


def test_side_by_side_puts_each_panel_in_its_place(services, clip, tmp_path):
    results = run(services, clip, tmp_path / "run.mp4", models=("clahe", "lanczos-x2"))
    layout = plan_layout("side-by-side", [(96, 64), (96, 64), (192, 128)], ["input", "clahe", "lanczos-x2"])
    width, height = layout.panel
    assert (width, height) == (192, 128)  # the largest output's size
    frame = first_frame(results.comparison_path)
    assert frame.shape == (height, width * 3, 3)
    sources = [first_frame(clip), first_frame(results.rows[0].path), first_frame(results.rows[1].path)]
    below_label = slice(height // 3, height)  # the label box sits at the top left of each panel
    expected = [resize_to(source, width, height)[below_label].astype(int) for source in sources]
    for column in range(3):
        panel = frame[below_label, column * width : (column + 1) * width].astype(int)
        errors = [np.abs(panel - picture).mean() for picture in expected]
        assert errors[column] < 6, f"panel {column}: {errors}"
    # the contrast filter's panel is told apart from both others: a swapped order would not match
    clahe_panel = frame[below_label, width : 2 * width].astype(int)
    assert np.abs(clahe_panel - expected[1]).mean() * 3 < min(np.abs(clahe_panel - expected[i]).mean() for i in (0, 2))


def test_split_layout_takes_each_strip_from_its_source(services, clip, tmp_path):
    results = run(services, clip, tmp_path / "run.mp4", models=("lanczos-x2",), layout="split")
    frame = first_frame(results.comparison_path)
    assert frame.shape == (128, 192, 3)
    model = first_frame(results.rows[0].path)
    right = slice(100, 192)
    assert np.abs(frame[40:, right].astype(int) - model[40:, right].astype(int)).mean() < 8


def test_one_model_without_a_layout_writes_the_named_file(services, clip, tmp_path):
    results = run(services, clip, tmp_path / "enhanced.mp4", models=("unsharp-mask",), layout=None)
    assert results.rows[0].path == tmp_path / "enhanced.mp4" and results.comparison_path is None
    assert video_facts(tmp_path / "enhanced.mp4")["frames"] == 24


def test_caps_and_preview_apply_and_are_reported(services, clip, tmp_path):
    results = run(services, clip, tmp_path / "run.mp4", limits=VideoLimits(max_frames=5), preview=48)
    assert results.frames == 5 and results.input_size == (48, 32)
    assert "cut at the 5-frame limit (STUDIO_MAX_FRAMES)" in results.notes
    assert "preview: frames 96x64 reduced to 48x32" in results.notes
    facts = video_facts(results.rows[0].path)
    assert (facts["frames"], facts["width"]) == (5, 96)
    # the audio stops with the video: no packet starts after the last frame's end
    assert len(audio_packets(results.rows[0].path)) < len(audio_packets(clip))


def test_the_table_has_latency_fps_and_flicker_per_model(services, clip, tmp_path):
    results = run(services, clip, tmp_path / "run.mp4", metrics="sharpness,colourfulness")
    table = video_table(results)
    assert [record["model"] for record in table] == ["lanczos-x2", "unsharp-mask"]
    for record in table:
        assert record["fps"] > 0 and record["latency_ms_p95"] >= record["latency_ms_median"] > 0
        assert record["sharpness"] > 0 and record["colourfulness"] > 0
    # Lanczos changes from frame to frame as the bicubic input does; sharpening adds to the change
    assert 0.9 < table[0]["flicker"] < 1.1
    assert table[1]["flicker"] > table[0]["flicker"]
    assert '"flicker"' in video_json(results)


def test_reference_mode_degrades_every_frame_with_the_seeded_recipe(services, clip, tmp_path):
    results = run(services, clip, tmp_path / "run.mp4", models=("bicubic-x2", "lanczos-x2"), degrade="x2", preview=64)
    assert results.input_size == (32, 21)  # previewed to 64x43, cropped to 64x42 (a multiple of 2), then halved
    assert "preview: frames 96x64 reduced to 64x42" in results.notes
    assert all(row.metrics["psnr_y"] > 20 for row in results.rows)
    assert "reference mode: every frame degraded with x2,seed=0" in results.notes


def test_cancel_stops_and_removes_every_partial_file(services, clip, tmp_path):
    out = tmp_path / "out"
    asked = []
    request = CompareRequest.build(services.registry, ["lanczos-x2"], preview=None)
    results = run_video(
        request,
        clip,
        out / "run.mp4",
        services.registry,
        services.loader,
        VideoLimits(),
        "side-by-side",
        should_stop=lambda: asked.append(1) or len(asked) > 3,
    )
    assert results.cancelled == "cancelled after 3 frames; partial files removed"
    assert list(out.iterdir()) == []


def test_an_interrupt_removes_partial_files_and_leaves_no_thread(services, clip, tmp_path):
    out = tmp_path / "out"
    calls = []

    def interrupt() -> bool:
        calls.append(1)
        if len(calls) > 2:
            raise KeyboardInterrupt
        return False

    request = CompareRequest.build(services.registry, ["lanczos-x2"], preview=None)
    before = set(threading.enumerate())
    with pytest.raises(KeyboardInterrupt):
        run_video(
            request, clip, out / "run.mp4", services.registry, services.loader, VideoLimits(), should_stop=interrupt
        )
    assert list(out.iterdir()) == []
    assert not [t for t in threading.enumerate() if t not in before and t.name.startswith("video-")]


def test_a_model_that_cannot_load_is_reported_and_the_others_run(services, clip, tmp_path):
    results = run(services, clip, tmp_path / "run.mp4", models=("realesrgan-x4-hub", "unsharp-mask"))
    hub, unsharp = results.rows
    assert hub.error and "\n" not in hub.error and hub.path is None
    assert unsharp.error is None and video_facts(unsharp.path)["frames"] == 24


def test_keyframes_are_the_sharpest_frames_spread_over_the_clip(services, tmp_path):
    from tests.video.clips import make_clip as make

    clip = make(tmp_path / "clip.mp4", frames=60)
    results = run(services, clip, tmp_path / "run.mp4", models=("unsharp-mask",), layout=None)
    keyframes = results.keyframes
    assert 3 <= len(keyframes) <= 6
    indices = [k.index for k in keyframes]
    assert indices == sorted(indices) and indices[0] < 20 and indices[-1] >= 40
    assert keyframes[0].rgb.shape == (64, 96, 3)


def test_limits_follow_the_settings(settings):
    limits = VideoLimits.from_settings(replace(settings, max_frames=12, max_video_side=640, max_video_seconds=5.0))
    assert limits == VideoLimits(12, 640, 5.0)
