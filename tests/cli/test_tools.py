"""`studio export-onnx` and `studio bench`: real conversions and timings on tiny inputs."""

from __future__ import annotations

import re

import pytest

from studio.core.vocabulary import PRECISIONS
from tests.cli.helpers import studio


def test_export_onnx_writes_a_model_with_dynamic_size(env, tmp_path, model_settings):
    import numpy as np
    import onnxruntime

    env = {**env, "STUDIO_WEIGHTS_MIRROR": model_settings.weights_mirror}
    target = tmp_path / "compact.onnx"
    result = studio("export-onnx", "realesr-animevideov3-x4", "-o", str(target), env=env)
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(rf"realesr-animevideov3-x4: wrote {re.escape(str(target))} \([\d.]+ MB\)\n", result.stdout)
    session = onnxruntime.InferenceSession(str(target), providers=["CPUExecutionProvider"])
    (output,) = session.run(None, {"input": np.random.default_rng(0).random((1, 3, 24, 40), dtype=np.float32)})
    assert output.shape == (1, 3, 96, 160)
    refused = studio("export-onnx", "lanczos-x4", "-o", str(tmp_path / "x.onnx"), env=env)
    assert refused.returncode == 2 and "no PyTorch form" in refused.stderr
    assert refused.stderr.count("\n") == 1 and not (tmp_path / "x.onnx").exists()


def test_bench_writes_every_cell_the_baseline_and_the_target_table(env, tmp_path, model_settings):
    import pandas as pd

    env = {**env, "STUDIO_WEIGHTS_MIRROR": model_settings.weights_mirror, "STUDIO_MACHINE_CLASS": "cpu-bf16"}
    args = ("bench", "-m", "realesr-animevideov3-x4", "--sizes", "32", "--repeat", "1", "--tiled-side", "96")
    result = studio(*args, "--out", str(tmp_path / "bench"), env=env)
    assert result.returncode == 0, result.stderr
    assert sorted(path.name for path in (tmp_path / "bench").iterdir()) == ["neural-cpu-bf16.csv", "neural-cpu-bf16.md"]
    cells = pd.read_csv(tmp_path / "bench" / "neural-cpu-bf16.csv")
    expected = [("spandrel eager", "fp32"), ("ncnn", "fp32"), ("ncnn", "bf16"), ("torch", "fp32"), ("torch", "bf16")]
    expected += [("onnx", "fp32")] + ([("onnx", "int8")] if "int8" in PRECISIONS else [])
    assert list(zip(cells["backend"], cells["precision"], strict=True)) == expected
    assert (cells["min ms"] > 0).all()
    fidelity = dict(zip(cells["backend"] + " " + cells["precision"], cells["vs fp32 dB"], strict=True))
    assert 40 < float(fidelity["ncnn bf16"]) < 80 and 40 < float(fidelity["torch bf16"]) < 80  # measured, not fp32
    assert pd.isna(fidelity["torch fp32"]) and pd.isna(fidelity["ncnn fp32"])  # fp32 cells carry no figure
    text = (tmp_path / "bench" / "neural-cpu-bf16.md").read_text()
    assert text.startswith("# Neural backends on CPU: machine class cpu-bf16\n\nMachine: ")
    assert "## Default path against spandrel + torch fp32 eager" in text
    untuned = r"\| realesr-animevideov3-x4 \| 32x32 \| \w+ \w+ \| options.fastest \(untuned\) \| "
    untuned += r"[\d.]* \| [\d.]+ \| [\d.]+ \| [\d.]+x \|"  # vs fp32 dB, default ms, baseline ms, speed-up
    assert re.search(untuned, text), text
    assert "## Tiled 96x96 through x4" in text
    assert result.stdout.endswith(text + "\n")  # the markdown it wrote, printed last


def test_bench_tiled_side_zero_skips_the_tiled_run(env, tmp_path, model_settings):
    env = {**env, "STUDIO_WEIGHTS_MIRROR": model_settings.weights_mirror, "STUDIO_MACHINE_CLASS": "cpu"}
    args = ("bench", "-m", "realesr-animevideov3-x2", "--sizes", "24", "--repeat", "1", "--tiled-side", "0")
    result = studio(*args, "--out", str(tmp_path / "bench"), env=env)
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "bench" / "neural-cpu.md").read_text()
    assert "## Tiled" not in text and "unexpected" not in result.stderr


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (("--tiled-side", "-1"), "--tiled-side must be 0 (skip the tiled run) or a side in px, not -1"),
        (("--sizes", "128,big"), "--sizes takes input sides in px separated by commas (like 128,256), not 'big'"),
        (("--sizes", ","), "--sizes names no size (like 128,256)"),
        (("--repeat", "0"), "--repeat must be at least 1, not 0"),
    ],
)
def test_bench_refuses_bad_flags_in_one_line(env, tmp_path, flags, message):
    result = studio("bench", *flags, "--out", str(tmp_path / "bench"), env=env)
    assert result.returncode == 2 and result.stderr == f"error: {message}\n"
    assert not (tmp_path / "bench").exists()
