"""The app's zip download holds the uploads themselves, so `studio compare --from results.json` repeats the run.

The engine runs in-process as the app's handler does; the replay is a real `studio` process in the unzipped folder.
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from studio.core.media import decode
from studio.engine.compare import run
from studio.engine.export import results_records
from studio.engine.request import CompareRequest
from studio.models.cache import EnhancerCache
from studio.models.loader import Loader
from studio.models.registry import load_registry
from studio.ui import downloads
from tests.cli.helpers import save_image, studio

MODELS = ["bicubic-x2", "lanczos-x2", "unsharp-mask"]  # deterministic classical models


@pytest.fixture
def runs_dir(tmp_path, monkeypatch) -> Path:
    monkeypatch.setattr(downloads, "RUNS_DIR", tmp_path / "runs")
    return tmp_path / "runs"


def compare(settings, source: Path, reference: Path | None = None, **fields):
    """What the Compare tab's run handler does with its uploads (names recorded from the upload paths)."""
    registry = load_registry(settings)
    request = CompareRequest.build(registry, MODELS, with_reference=reference is not None, **fields)
    image = decode(source, settings.max_pixels)
    truth = decode(reference, settings.max_pixels) if reference else None
    loader = Loader(settings, cache=EnhancerCache(64))
    return run(
        request,
        image,
        registry,
        loader,
        truth,
        source=source.name,
        reference_source=reference.name if reference else None,
    )


def scores(rows: list[dict], labels: list[str]) -> list[tuple]:
    return [(row["model"], row["output"], *(row[label] for label in labels)) for row in rows]


def replay(env, zip_path: str, folder: Path) -> dict:
    """Unzip into `folder` and repeat the run there with nothing but --from."""
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(folder)
    result = studio("compare", "--from", "results.json", "--format", "json", env=env, cwd=folder)
    assert result.returncode == 0, result.stderr
    assert "differ" not in result.stderr
    return json.loads(result.stdout)


def test_the_zip_holds_both_uploads_and_repeats_a_ground_truth_run(settings, env, photo, runs_dir, tmp_path):
    (tmp_path / "uploads").mkdir()
    truth = save_image(tmp_path / "uploads" / "building truth.png", photo[40:168, 200:392])
    upload = save_image(tmp_path / "uploads" / "small.jpg", photo[40:168:2, 200:392:2], quality=85)
    upload.chmod(0o600)  # as Gradio's upload temp files may be: the zip's copy must still unpack readable
    results = compare(settings, upload, truth, metrics=["psnr", "ssim"], preview=None)
    files, _csv, zip_path = downloads.write_run_files(results, "webp", str(upload), str(truth))
    with zipfile.ZipFile(zip_path) as archive:
        assert sorted(archive.namelist()) == sorted(
            [
                *(f"{m}.webp" for m in MODELS),
                "input.webp",
                "results.csv",
                "results.json",
                "small.jpg",
                "building truth.png",
            ]
        )
        assert archive.read("small.jpg") == upload.read_bytes()  # byte for byte, under its own name
        assert archive.getinfo("small.jpg").external_attr >> 16 & 0o777 == 0o644
        assert archive.read("building truth.png") == truth.read_bytes()
    assert sorted(Path(path).name for path in files) == [f"{m}.webp" for m in MODELS]  # the per-file downloads
    labels = ["PSNR ↑", "SSIM ↑"]
    again = replay(env, zip_path, tmp_path / "unzipped")
    assert scores(again["rows"], labels) == scores(results_records(results), labels)
    assert all(row["PSNR ↑"] > 20 for row in again["rows"][:2])  # the x2 rows, scored at the truth's size
    assert again["reference_source"] == "building truth.png"


def test_an_upload_named_like_a_run_file_keeps_its_name_and_repeats_a_degradation_run(
    settings, env, photo, runs_dir, tmp_path
):
    upload = save_image(tmp_path / "input.png", photo[100:196, 80:224])
    results = compare(settings, upload, metrics=["psnr_y", "sharpness"], degrade="x2,noise=4,seed=3", preview=None)
    _, _, zip_path = downloads.write_run_files(results, "png", upload)
    with zipfile.ZipFile(zip_path) as archive:
        assert archive.read("input.png") == upload.read_bytes()  # the upload, which --from needs
        prepared = decode(archive.read("run_input.png"), 10**6)  # the degraded copy the models ran on
    assert prepared.size == (72, 48) and prepared.rgb.tobytes() == results.input.rgb.tobytes()
    labels = ["PSNR-Y ↑", "Sharpness ↑"]
    again = replay(env, zip_path, tmp_path / "unzipped")
    assert scores(again["rows"], labels) == scores(results_records(results), labels)
    assert again["degradation"]["text"] == "x2,noise=4,seed=3"


def test_only_the_runs_own_uploads_go_in(settings, photo, runs_dir, tmp_path):
    """The page may hold newer uploads when the format changes later; a name for two files would mislead."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    upload = save_image(tmp_path / "a" / "photo.png", photo[:64, :96])
    results = compare(settings, upload, metrics=["sharpness"], preview=None)
    newer = save_image(tmp_path / "b" / "photo.png", photo[64:128, :96])  # same name, other pixels
    renamed = save_image(tmp_path / "b" / "other.png", photo[:64, :96])  # same pixels, other name
    assert downloads.run_sources(results, upload, None) == {"photo.png": upload}
    assert downloads.run_sources(results, newer, None) == {}
    assert downloads.run_sources(results, renamed, None) == {}
    assert downloads.run_sources(results, tmp_path / "a" / "gone.png", None) == {}

    same_name = compare(settings, upload, newer, metrics=["psnr"], preview=None)  # truth named like the image
    assert downloads.run_sources(same_name, upload, newer) == {}  # --from would take one for the other
    (tmp_path / "c").mkdir()
    copy = save_image(tmp_path / "c" / "photo.png", photo[:64, :96])
    assert downloads.run_sources(same_name, upload, copy) == {"photo.png": upload}  # one file for both
    _, _, zip_path = downloads.write_run_files(same_name, "png", upload, newer)
    with zipfile.ZipFile(zip_path) as archive:
        assert "photo.png" not in archive.namelist() and "input.png" in archive.namelist()


def test_without_uploads_the_zip_is_the_run_alone(settings, photo, runs_dir, tmp_path):
    upload = save_image(tmp_path / "photo.png", photo[:64, :96])
    results = compare(settings, upload, metrics=[], preview=None)
    _, _, zip_path = downloads.write_run_files(results, "png")
    with zipfile.ZipFile(zip_path) as archive:
        assert sorted(archive.namelist()) == sorted(
            [*(f"{m}.png" for m in MODELS), "input.png", "results.csv", "results.json"]
        )


def test_the_report_is_one_html_file_named_for_what_it_is(settings, photo, runs_dir, tmp_path):
    upload = save_image(tmp_path / "photo.png", photo[:64, :96])
    results = compare(settings, upload, metrics=["sharpness"], preview=None)
    path = Path(downloads.write_report_file(results))
    assert re.fullmatch(r"enhance-studio-report-\d{8}-\d{6}\.html", path.name) and path.parent.parent == runs_dir
    text = path.read_text(encoding="utf-8")
    assert "<title>Comparison of photo.png</title>" in text and not list(path.parent.glob(".*partial"))


def test_a_report_that_cannot_be_written_is_one_warning(settings, photo, tmp_path, monkeypatch):
    from studio.ui.compare import handlers

    blocker = tmp_path / "a file"
    blocker.write_text("not a folder", encoding="utf-8")
    monkeypatch.setattr(downloads, "RUNS_DIR", blocker / "runs")
    upload = save_image(tmp_path / "photo.png", photo[:64, :96])
    results = compare(settings, upload, metrics=["sharpness"], preview=None)
    services = SimpleNamespace(ratings_if_any=lambda: None)
    with pytest.warns(UserWarning) as warned:
        assert handlers.report_file(services, results) is None
    messages = [str(w.message) for w in warned]
    assert len(messages) == 1 and messages[0].startswith("The report could not be written: ")
    assert "\n" not in messages[0]
