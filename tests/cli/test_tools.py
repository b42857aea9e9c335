"""`studio export-onnx` and `studio bench`: real conversions and timings on tiny inputs."""

from __future__ import annotations

import re

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

    env = {**env, "STUDIO_WEIGHTS_MIRROR": model_settings.weights_mirror}
    args = ("bench", "-m", "realesr-animevideov3-x4", "--sizes", "32", "--repeat", "1", "--tiled-side", "96")
    result = studio(*args, "--out", str(tmp_path / "bench"), env=env)
    assert result.returncode == 0, result.stderr
    cells = pd.read_csv(tmp_path / "bench" / "neural-cpu.csv")
    assert list(cells["backend"]) == ["spandrel eager", "ncnn", "ncnn", "torch", "torch", "onnx"]
    assert list(cells["precision"]) == ["fp32", "fp32", "bf16", "fp32", "bf16", "fp32"]
    assert (cells["min ms"] > 0).all()
    text = (tmp_path / "bench" / "neural-cpu.md").read_text()
    assert "## Default path against spandrel + torch fp32 eager" in text
    assert re.search(r"\| realesr-animevideov3-x4 \| 32x32 \| \w+ \w+ \| [\d.]+ \| [\d.]+ \| [\d.]+x \|", text)
    assert "## Tiled 96x96 through x4" in text
    assert result.stdout.endswith(text + "\n")  # the markdown it wrote, printed last
