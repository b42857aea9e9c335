"""The /video endpoint through gradio_client, against the real app (tests/conftest.py: app_server)."""

from __future__ import annotations

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from tests.video.clips import make_clip, video_facts

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client(app_server):
    return Client(app_server.url, verbose=False)


def call_video(
    client,
    path,
    models=("lanczos-x2", "unsharp-mask"),
    layout="side-by-side",
    metrics=("sharpness",),
    recipe="",
    max_frames=30,
):
    return client.predict(
        handle_file(str(path)),
        list(models),
        list(metrics),
        recipe,
        0,
        max_frames,
        layout,
        "{}",
        "auto",
        "auto",
        api_name="/video",
    )


def rows_by_model(table: dict) -> dict[str, dict]:
    headers = table["headers"]
    return {row[headers.index("model")]: dict(zip(headers, row, strict=True)) for row in table["data"]}


def test_two_classical_models_give_a_playable_comparison_and_the_table(client, tmp_path):
    clip = make_clip(tmp_path / "moving.mp4", frames=24, size=(96, 64), fps=24)
    video, table, details, files = call_video(client, clip)

    comparison = video_facts(video)
    assert comparison["codec"] == "h264" and comparison["pix_fmt"] == "yuv420p"
    assert (comparison["width"], comparison["height"]) == (192 * 3, 128)  # input | lanczos | unsharp at 192x128
    assert comparison["frames"] == 24 and comparison["audio"] == []
    rows = rows_by_model(table)
    assert set(rows) == {"lanczos-x2", "unsharp-mask"}
    for row in rows.values():
        assert row["fps"] > 0 and row["frames"] == 24 and row["error"] is None
        assert 0 < row["latency_ms_median"] <= row["latency_ms_p95"]
        assert row["flicker"] > 0 and row["sharpness"] > 0
    assert rows["lanczos-x2"]["output_size"] == "192x128" and rows["unsharp-mask"]["output_size"] == "96x64"
    assert details["frames"] == 24 and details["layout"] == "side-by-side"
    assert [row["model"] for row in details["rows"]] == ["lanczos-x2", "unsharp-mask"]
    assert all("path" not in row for row in details["rows"])  # gradio_client would fetch it as a file
    assert [video_facts(path)["codec"] for path in files] == ["h264"] * 3
    assert sorted(video_facts(path)["width"] for path in files[1:]) == [96, 192]


def test_audio_in_means_audio_out_and_one_model_without_layout_is_its_clip(client, tmp_path):
    clip = make_clip(tmp_path / "talk.mp4", frames=30, size=(80, 48), fps=30, audio=True)
    video, table, details, files = call_video(client, clip, models=["lanczos-x2"], layout="", metrics=())
    facts = video_facts(video)
    assert facts["codec"] == "h264" and facts["audio"] == ["aac"]
    assert (facts["width"], facts["height"]) == (160, 96) and facts["frames"] == 30
    assert details["comparison"] is None and list(details["outputs"]) == ["lanczos-x2"]
    assert len(files) == 1 and any("audio (aac) copied" in note for note in details["notes"])
    assert rows_by_model(table)["lanczos-x2"]["flicker"] is not None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x89PNG\r\n\x1a\n" + bytes(200), "not a supported video: expected MP4, MOV, MKV, WebM or AVI"),
        (b"hello, I am a text file\n", "not a supported video: expected MP4, MOV, MKV, WebM or AVI"),
        (b"ffconcat version 1.0\nfile 'x.mp4'\n", "a playlist or concat list is not a video"),
    ],
    ids=["png-bytes", "text", "concat-list"],
)
def test_a_file_that_is_not_a_video_is_one_line_and_the_server_goes_on(client, tmp_path, content, message):
    bad = tmp_path / "holiday.mp4"
    bad.write_bytes(content)
    with pytest.raises(AppError) as caught:
        call_video(client, bad, models=["unsharp-mask"], layout="")
    text = str(caught.value)
    assert message in text and "\n" not in text and "Traceback" not in text
    good = make_clip(tmp_path / "after.mp4", frames=6, size=(64, 48))
    video, table, _, _ = call_video(client, good, models=["unsharp-mask"], layout="", metrics=())
    assert video_facts(video)["frames"] == 6 and rows_by_model(table)["unsharp-mask"]["frames"] == 6


def test_reference_mode_scores_each_model_against_the_sharp_frames_and_max_frames_cuts(client, tmp_path):
    clip = make_clip(tmp_path / "sharp.mp4", frames=20, size=(96, 64))
    _, table, details, _ = call_video(
        client,
        clip,
        models=["bicubic-x2", "lanczos-x2"],
        layout="split",
        metrics=["psnr_y"],
        recipe="x2,seed=1",
        max_frames=12,
    )
    rows = rows_by_model(table)
    assert all(row["psnr_y"] > 20 and row["frames"] == 12 for row in rows.values())
    assert rows["lanczos-x2"]["output_size"] == "96x64"  # the x2-degraded 48x32 frames, upscaled back
    assert details["frames"] == 12 and details["layout"] == "split"
    assert any("12-frame limit" in note for note in details["notes"])
    assert any("reference mode" in note and "x2" in note for note in details["notes"])


def test_bad_options_are_refused_in_one_line(client, tmp_path):
    clip = make_clip(tmp_path / "small.mp4", frames=4, size=(64, 48))
    with pytest.raises(AppError, match="unknown comparison layout 'mosaic'"):
        call_video(client, clip, layout="mosaic")
    with pytest.raises(AppError, match="pick at least one model"):
        call_video(client, clip, models=[])
    with pytest.raises(AppError, match=r"max frames must be between 1 and 300 \(STUDIO_MAX_FRAMES\), got 5000$"):
        call_video(client, clip, max_frames=5000)
    with pytest.raises(AppError, match="unknown model"):
        call_video(client, clip, models=["lanczos-x2", "no-such-model"])
