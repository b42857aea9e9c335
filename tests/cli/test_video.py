"""`studio video` as a user runs it: a real process, real clips, exit codes, Ctrl-C."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

from tests.cli.helpers import stderr_lines, studio
from tests.environment import clean_env, default_sigint
from tests.paths import REPO_ROOT
from tests.video.clips import audio_packets, make_clip, video_facts


def test_video_writes_each_model_and_the_comparison_with_the_audio(tmp_path):
    clip = make_clip(tmp_path / "clip.mp4", frames=20, audio=True)
    out = tmp_path / "out" / "compare.mp4"
    result = studio(
        "video", str(clip), "-m", "lanczos-x2", "-m", "unsharp-mask", "-o", str(out), "--side-by-side", "--json"
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert [row["model"] for row in report["rows"]] == ["lanczos-x2", "unsharp-mask"]
    for row in report["rows"]:
        assert row["fps"] > 0 and row["latency_ms_p95"] >= row["latency_ms_median"] > 0
        assert row["flicker"] is not None
    assert report["comparison"] == str(out) and report["frames"] == 20
    assert report["outputs"] == {
        "lanczos-x2": str(tmp_path / "out" / "compare-lanczos-x2.mp4"),
        "unsharp-mask": str(tmp_path / "out" / "compare-unsharp-mask.mp4"),
    }
    for path in [out, *map(type(out), report["outputs"].values())]:
        facts = video_facts(path)
        assert facts["codec"] == "h264" and facts["frames"] == 20
        assert audio_packets(path) == audio_packets(clip)
    assert video_facts(out)["width"] == 3 * 192  # input | lanczos-x2 | unsharp-mask, each at the largest size
    progress = [line for line in stderr_lines(result) if line.startswith("[")]
    assert progress and progress[-1].startswith("[" + "#" * 24 + "] frame 20/20")


def test_video_table_and_caps(tmp_path):
    clip = make_clip(tmp_path / "clip.mkv", frames=20, container="mkv")
    result = studio("video", str(clip), "-m", "unsharp-mask", "-o", str(tmp_path / "x.mp4"), "--max-frames", "6")
    assert result.returncode == 0, result.stderr
    assert "latency_ms_median" in result.stdout and "flicker" in result.stdout
    assert "6 frames at 96x64" in result.stdout and "cut at the 6-frame limit (--max-frames)" in result.stdout
    assert video_facts(tmp_path / "x.mp4")["frames"] == 6


def test_bad_inputs_are_one_line_and_exit_2(tmp_path):
    concat = tmp_path / "list.mp4"
    concat.write_text("ffconcat version 1.0\nfile '/etc/passwd'\n")
    picture = tmp_path / "picture.mp4"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    clip = make_clip(tmp_path / "clip.mp4", frames=3)
    cases = [
        (("video", str(concat), "-m", "lanczos-x2", "-o", str(tmp_path / "o.mp4")), "a playlist or concat list"),
        (("video", str(picture), "-m", "lanczos-x2", "-o", str(tmp_path / "o.mp4")), "not a supported video"),
        (("video", str(tmp_path / "none.mp4"), "-m", "lanczos-x2", "-o", str(tmp_path / "o.mp4")), "no such file"),
        (("video", str(clip), "-m", "lanczos-x9", "-o", str(tmp_path / "o.mp4")), "lanczos-x9"),
        (("video", str(clip), "-m", "lanczos-x2", "-o", str(tmp_path / "o.avi")), "must be an .mp4 file"),
        (("video", str(clip), "-m", "lanczos-x2", "-o", str(tmp_path / "o.mp4"), "--max-frames", "0"), "--max-frames"),
    ]
    for args, words in cases:
        result = studio(*args)
        assert result.returncode == 2, (args, result.stderr)
        lines = stderr_lines(result)
        assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0], lines
    assert not (tmp_path / "o.mp4").exists()


def test_a_run_that_would_not_fit_in_memory_is_refused_before_a_frame_is_decoded(tmp_path):
    clip = make_clip(tmp_path / "clip.mp4", frames=3, size=(320, 240))
    args = ("video", str(clip), "-m", "realcugan-se-x2", "--preview", "0", "-o", str(tmp_path / "o.mp4"))
    result = studio(*args, env={"STUDIO_MAX_MEMORY_MB": "1024"})
    assert result.returncode == 2
    assert stderr_lines(result) == [
        "error: this video run would need about 1.7 GB of memory (realcugan-se-x2 makes a 640x480 output from "
        "320x240), more than the 1.0 GB allowed by STUDIO_MAX_MEMORY_MB: use a preview long side of 128 px or less"
    ]
    assert not (tmp_path / "o.mp4").exists()


def test_a_failing_model_exits_1_and_the_others_are_written(tmp_path):
    clip = make_clip(tmp_path / "clip.mp4", frames=5)
    out = tmp_path / "o.mp4"
    result = studio(
        "video", str(clip), "-m", "realesrgan-x4-hub", "-m", "unsharp-mask", "-o", str(out), "--side-by-side"
    )
    assert result.returncode == 1
    assert next(line for line in stderr_lines(result) if line.startswith("error: ")).startswith(
        "error: realesrgan-x4-hub: "
    )
    assert "unexpected" not in result.stderr
    table = result.stdout.splitlines()
    assert table[0].split()[:2] == ["model", "name"] and "unsharp-mask" in table[3]  # the table lines up
    assert video_facts(tmp_path / "o-unsharp-mask.mp4")["frames"] == 5
    assert video_facts(out)["frames"] == 5


def test_nothing_runs_when_no_chosen_model_can(tmp_path):
    clip = make_clip(tmp_path / "clip.mp4", frames=5)
    result = studio("video", str(clip), "-m", "realesrgan-x4-hub", "-o", str(tmp_path / "out" / "o.mp4"))
    assert result.returncode == 1
    lines = stderr_lines(result)
    assert len(lines) == 1 and lines[0].startswith("error: none of the chosen models can run: realesrgan-x4-hub: ")
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_the_input_is_never_overwritten(tmp_path):
    clip = make_clip(tmp_path / "clip.mp4", frames=5)
    before = clip.read_bytes()
    result = studio("video", str(clip), "-m", "unsharp-mask", "-o", str(clip))
    assert result.returncode == 2
    assert stderr_lines(result) == [f"error: the output {clip} is the input video itself: choose another output name"]
    assert clip.read_bytes() == before


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_sigterm_stops_with_130_and_leaves_no_partial_file(tmp_path, signum):
    clip = make_clip(tmp_path / "clip.mp4", frames=300, size=(320, 240))
    out = tmp_path / "out"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "studio",
            "video",
            str(clip),
            "-m",
            "nl-means",
            "-o",
            str(out / "o.mp4"),
            "--side-by-side",
        ],
        preexec_fn=default_sigint,
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=clean_env(),
        cwd=REPO_ROOT,
    )
    first = process.stderr.readline()  # the first progress line: frames are being written
    assert first.startswith("["), first
    time.sleep(0.5)
    process.send_signal(signum)
    _, rest = process.communicate(timeout=60)
    assert process.returncode == 130, rest
    assert rest.strip().splitlines()[-1] == "error: interrupted"
    assert list(out.iterdir()) == []
