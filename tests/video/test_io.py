"""Reading and writing clips with PyAV: containers, timing, rotation, caps, hostile files, H.264 out, audio copy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from studio.core.errors import MediaError
from studio.video.io import ClipWriter, ReadReport, VideoLimits, even_size, probe, read_frames, upright
from tests.video.clips import CONTAINERS, audio_packets, claim_frames, corrupt_middle, make_clip, pattern, video_facts


def read_all(path: Path, limits: VideoLimits | None = None) -> tuple[list, ReadReport]:
    limits = limits or VideoLimits()
    report = ReadReport()
    frames = list(read_frames(probe(path, limits), limits, report))
    return frames, report


@pytest.mark.parametrize("container", list(CONTAINERS))
def test_every_common_container_reads_with_its_audio(tmp_path, container):
    clip = make_clip(tmp_path / f"clip.{container}", frames=12, audio=True, container=container)
    info = probe(clip, VideoLimits())
    frames, report = read_all(clip)
    assert len(frames) == 12 and report.cut is None
    assert frames[0].rgb.shape == (64, 96, 3) and frames[0].rgb.dtype == np.uint8
    assert info.audio_codec is not None
    # the frames are the pattern (lossy, so close, not equal): the moving square is where it was drawn
    assert np.abs(frames[5].rgb.astype(int) - pattern(5, 96, 64)).mean() < 12


def test_variable_frame_rate_keeps_each_frames_own_time(tmp_path):
    frames, _ = read_all(make_clip(tmp_path / "vfr.mkv", frames=10, vfr=True, container="mkv"))
    gaps = np.diff([frame.time for frame in frames])
    assert np.allclose(gaps, [0.06, 0.02] * 4 + [0.06], atol=1e-3)


@pytest.mark.parametrize(("rotation", "turns"), [(90, 1), (-90, 3), (180, 2)])
def test_rotated_clips_come_out_upright(tmp_path, rotation, turns):
    frames, _ = read_all(make_clip(tmp_path / "rotated.mp4", frames=3, rotation=rotation))
    expected = np.rot90(pattern(0, 96, 64), k=turns)
    assert frames[0].rgb.shape == expected.shape
    assert np.abs(frames[0].rgb.astype(int) - expected).mean() < 12


def test_upright_turns_counterclockwise():
    image = np.zeros((2, 3, 3), np.uint8)
    image[0, 0] = 255  # top left
    assert upright(image, 90)[-1, 0, 0] == 255  # a quarter turn counterclockwise: bottom left
    assert upright(image, 0) is image


def test_frame_cap_cuts_and_says_so(tmp_path):
    frames, report = read_all(make_clip(tmp_path / "long.mp4", frames=20), VideoLimits(max_frames=7))
    assert len(frames) == 7
    assert report.cut == "cut at the 7-frame limit (STUDIO_MAX_FRAMES)"


def test_duration_cap_cuts_and_says_so(tmp_path):
    frames, report = read_all(make_clip(tmp_path / "long.mp4", frames=30, fps=10), VideoLimits(max_seconds=1.0))
    assert frames[-1].time <= 1.0 and len(frames) == 11
    assert report.cut == "cut at the 1 s limit (STUDIO_MAX_VIDEO_SECONDS)"


def test_side_limit_is_checked_from_the_header_before_decoding(tmp_path):
    clip = make_clip(tmp_path / "wide.mp4", frames=2, size=(320, 64))
    with pytest.raises(MediaError, match=r"video too large: 320x64 is over the 256 px limit \(STUDIO_MAX_VIDEO_SIDE\)"):
        probe(clip, VideoLimits(max_side=256))


def test_a_header_claiming_a_billion_frames_is_not_trusted(tmp_path):
    clip = claim_frames(make_clip(tmp_path / "claims.avi", frames=9, container="avi"), 10**9)
    info = probe(clip, VideoLimits())
    assert info.claimed_frames == 10**9
    frames, report = read_all(clip)
    assert len(frames) == 9 and report.cut is None


def test_corrupt_packets_mid_stream_are_skipped_and_counted(tmp_path):
    clip = corrupt_middle(make_clip(tmp_path / "damaged.mp4", frames=60))
    frames, report = read_all(clip)
    assert 30 <= len(frames) <= 60
    assert report.corrupt_packets + (60 - len(frames)) > 0  # the damage shows up, one way or the other


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"ffconcat version 1.0\nfile '/etc/passwd'\n", "a playlist or concat list is not a video"),
        (b"#EXTM3U\n#EXTINF:1,\nfile:///etc/passwd\n", "a playlist or concat list is not a video"),
        (b"\x89PNG\r\n\x1a\n" + bytes(64), "not a supported video"),
        (b"<html><body>hello</body></html>", "not a supported video"),
        (b"", "the video file is empty"),
    ],
)
def test_hostile_or_foreign_files_are_refused_in_one_line(tmp_path, content, message):
    path = tmp_path / "upload.mp4"
    path.write_bytes(content)
    with pytest.raises(MediaError, match=message) as caught:
        probe(path, VideoLimits())
    assert "\n" not in str(caught.value)


def test_a_truncated_mp4_is_one_clear_error(tmp_path):
    clip = make_clip(tmp_path / "clip.mp4", frames=10)
    clip.write_bytes(clip.read_bytes()[:200])
    with pytest.raises(MediaError, match="the video|no video frame"):
        read_all(clip)


def test_writer_makes_h264_yuv420p_at_the_source_timing_with_the_audio_copied(tmp_path):
    source = make_clip(tmp_path / "in.mp4", frames=15, vfr=True, audio=True)
    info = probe(source, VideoLimits())
    frames, _report = read_all(source)
    writer = ClipWriter(tmp_path / "out.mp4", 97, 65, info.fps, audio_from=info)  # odd sizes: rounded down to even
    for frame in frames:
        writer.write(np.ascontiguousarray(np.pad(frame.rgb, ((0, 1), (0, 1), (0, 0)))), frame.time)
    writer.close(until=None)
    facts = video_facts(tmp_path / "out.mp4")
    assert (facts["codec"], facts["pix_fmt"], facts["width"], facts["height"]) == ("h264", "yuv420p", 96, 64)
    assert facts["frames"] == 15
    assert np.allclose(facts["times"], [frame.time for frame in frames], atol=1e-3)
    assert audio_packets(tmp_path / "out.mp4") == audio_packets(source)  # byte for byte, none re-encoded


def test_even_size_never_goes_below_two():
    assert even_size(1, 1) == (2, 2)
    assert even_size(641, 480) == (640, 480)
