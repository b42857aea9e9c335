"""`studio bench --video`'s measurements on tiny sizes: the table's columns come from real runs."""

from __future__ import annotations

from studio.services import Services
from studio.video.bench import measure_webcam, pan_frames, run_video_benchmark


def test_video_benchmark_writes_both_tables(settings, tmp_path):
    services = Services(settings)
    machine = {"class": "cpu", "class_from": "forced", "cpu": "test CPU", "threads": 2, "cpu_count": 2, "python": "3"}
    text = run_video_benchmark(
        services.registry,
        services.loader,
        machine,
        tmp_path,
        frames=6,
        models=("unsharp-mask",),
        size=(96, 64),
        webcam=lambda model_id, size: {"achieved fps": 1.0, "behind (frames, max)": 0},
    )
    assert (tmp_path / "video-cpu.md").read_text() == text
    assert "Machine class **cpu** (forced)" in text
    row = next(line for line in text.splitlines() if line.startswith("| unsharp-mask | classical"))
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert cells[2] == "6" and float(cells[3]) > 0 and float(cells[5]) > 0 and cells[7].endswith("%")
    assert "| unsharp-mask | 320x240 | 1.0 | 0 |" in text and "| clahe | 640x480 | 1.0 | 0 |" in text


def test_pan_frames_move_across_a_real_photo():
    frames = pan_frames(3, (64, 48))
    assert [frame.shape for frame in frames] == [(48, 64, 3)] * 3
    assert (frames[0] != frames[1]).any()


def test_measure_webcam_reports_what_a_viewer_gets(settings):
    services = Services(settings)
    row = measure_webcam(services.registry, services.loader, "unsharp-mask", (160, 120), camera_fps=20.0)
    assert row["camera fps"] == 20.0 and 0 < row["achieved fps"] <= 20.0
    assert row["behind (frames, max)"] >= 0 and row["dropped"].endswith("of 60")
