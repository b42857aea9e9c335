"""int8 for the ONNX form: ONNX Runtime static quantization, made once per fp32 file with its measured fidelity.

The recipe follows ONNX Runtime's quantization guide for x86-64 CPUs: QDQ format, uint8 activations with
int8 weights (U8S8, the fast pairing there), weights quantized per output channel (convolutions whose
channels' ranges differ keep their accuracy). Without VNNI the U8S8 kernels can saturate, so on such CPUs
weights use 7 bits (`reduce_range`), as the guide advises; the choice is part of the cache key. Activation
ranges come from MinMax calibration on fixed, seeded crops of scikit-image's photos: percentile clipping
measured worse on these super-resolution networks (it clips the outliers they need), entropy no better.

The quantized file sits beside the converted fp32 file, named by a hash of the fp32 file's bytes and the
recipe (a re-conversion re-quantizes), written atomically under a file lock like every conversion. Its
fidelity (PSNR of the int8 output against fp32 on a fixed probe that calibration never saw) is measured
once, when it is made, and kept in a JSON file beside it: int8 is never shown without it.
"""

from __future__ import annotations

import hashlib
import json
import math
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from studio.core.config import Settings
from studio.core.errors import WeightsError
from studio.core.psnr import psnr
from studio.models import autotune
from studio.models.fingerprint import cpu_flags
from studio.models.weights.download import lock_for

RECIPE = "qdq-u8s8-per-channel-minmax-1"  # change it when the recipe below changes: every model re-quantizes
CALIBRATION_PHOTOS = ("coffee", "chelsea", "rocket", "page", "immunohistochemistry", "camera")
CALIBRATION_SIDE = 64  # px: small crops keep quantizing to seconds; MinMax ranges barely change with size
CALIBRATION_SEED = 0
PROBE_SIDE = 128  # the fidelity probe: scikit-image's astronaut shrunk to 128x128 (as `studio bench` does)
VNNI_FLAGS = ("avx512_vnni", "avx_vnni", "amx_int8")  # int8 dot products that do not saturate

Prepare = Callable[[np.ndarray], np.ndarray]  # an HxWx3 uint8 image -> the model's input batch (NCHW float32)


@dataclass(frozen=True)
class Quantized:
    """A quantized model file and what was measured when it was made."""

    path: Path
    fidelity_db: float  # PSNR (dB) of its output against the fp32 model's on the probe; inf when identical
    quantize_s: float  # seconds making it took (pre-processing, calibration, quantization, the probe)


def _photo(name: str) -> np.ndarray:
    from skimage import data

    picture = getattr(data, name)()
    if picture.ndim == 2:
        picture = np.repeat(picture[..., None], 3, axis=2)
    return np.ascontiguousarray(picture[..., :3]).astype(np.uint8)


def calibration_images() -> list[np.ndarray]:
    """One seeded CALIBRATION_SIDE crop of each calibration photo: the same images on every machine."""
    rng = np.random.default_rng(CALIBRATION_SEED)
    crops = []
    for name in CALIBRATION_PHOTOS:
        picture = _photo(name)
        top = int(rng.integers(0, picture.shape[0] - CALIBRATION_SIDE + 1))
        left = int(rng.integers(0, picture.shape[1] - CALIBRATION_SIDE + 1))
        crops.append(np.ascontiguousarray(picture[top : top + CALIBRATION_SIDE, left : left + CALIBRATION_SIDE]))
    return crops


def probe_image() -> np.ndarray:
    """The fidelity probe: a whole scene (the astronaut) that calibration never saw."""
    return autotune.probe_image(PROBE_SIDE)


def reduce_range_for(flags: Iterable[str]) -> bool:
    """7-bit weights where U8S8 kernels could saturate: x86 CPUs without VNNI (ONNX Runtime's advice)."""
    return not set(flags) & set(VNNI_FLAGS)


@lru_cache(maxsize=32)
def _content_hash(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cache_key(fp32_path: Path, reduce_range: bool) -> str:
    """What the quantized file is made from: the fp32 file's bytes, the recipe and the weight bits."""
    stat = fp32_path.stat()
    content = _content_hash(str(fp32_path), stat.st_size, stat.st_mtime_ns)
    return hashlib.sha256(f"{content}|{RECIPE}|reduce_range={reduce_range}".encode()).hexdigest()[:16]


def quantized_path(model_id: str, fp32_path: Path, settings: Settings, reduce_range: bool | None = None) -> Path:
    """Where the int8 file for this fp32 file lives (whether or not it was made yet)."""
    reduce_range = reduce_range_for(cpu_flags()) if reduce_range is None else reduce_range
    return settings.weights_dir / "converted" / f"{model_id}-{cache_key(fp32_path, reduce_range)}.int8.onnx"


def quantized_onnx(model_id: str, fp32_path: Path, settings: Settings, prepare: Prepare) -> Quantized:
    """The int8 model for `fp32_path`, quantized once (calibrated on `prepare`d crops) and cached."""
    reduce_range = reduce_range_for(cpu_flags())
    target = quantized_path(model_id, fp32_path, settings, reduce_range)
    report = target.with_suffix(".json")
    if not (target.exists() and report.exists()):
        with lock_for(target):
            if not (target.exists() and report.exists()):
                _quantize(model_id, fp32_path, target, report, settings, prepare, reduce_range)
    return _read(target, report)


def _read(target: Path, report: Path) -> Quantized:
    try:
        facts = json.loads(report.read_text(encoding="utf-8"))
        fidelity = facts["fidelity_db"]
        return Quantized(target, math.inf if fidelity is None else float(fidelity), float(facts["quantize_s"]))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise WeightsError(f"unreadable {report.name} ({exc}): delete it to quantize again") from None


class _Calibration:
    """ONNX Runtime's CalibrationDataReader protocol over prepared batches (get_next until None)."""

    def __init__(self, input_name: str, batches: list[np.ndarray]):
        self._feeds = iter([{input_name: batch} for batch in batches])

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._feeds, None)


def _quantize(
    model_id: str, fp32: Path, target: Path, report: Path, settings: Settings, prepare: Prepare, reduce_range: bool
) -> None:
    import onnxruntime as ort
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    started = time.perf_counter()
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".quantize-", dir=target.parent) as scratch:
        prepared, partial = Path(scratch) / "prepared.onnx", Path(scratch) / "int8.onnx"
        try:
            # ONNX shape inference and graph optimisation, as the guide recommends (symbolic shape inference
            # cannot follow these graphs' dynamic height and width; it is for transformers).
            quant_pre_process(str(fp32), str(prepared), skip_symbolic_shape=True)
            model_input = _session(ort, fp32, settings).get_inputs()[0]
            input_name = model_input.name
            if model_input.shape[1] == 1:  # a luma network (dnn_superres's ESPCN, FSRCNN, LapSRN): fed Y, as it runs
                prepare = _on_luma(prepare)
            quantize_static(
                str(prepared),
                str(partial),
                _Calibration(input_name, [prepare(image) for image in calibration_images()]),
                quant_format=QuantFormat.QDQ,
                activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8,
                per_channel=True,
                reduce_range=reduce_range,
                calibrate_method=CalibrationMethod.MinMax,
            )
            fidelity = _fidelity(ort, fp32, partial, settings, prepare(probe_image()))
        except Exception as exc:
            raise WeightsError(f"'{model_id}': int8 quantization failed: {str(exc).splitlines()[0][:200]}") from None
        facts = {
            "model": model_id,
            "fp32": fp32.name,
            "recipe": RECIPE,
            "reduce_range": reduce_range,
            "calibration": {"photos": list(CALIBRATION_PHOTOS), "side": CALIBRATION_SIDE, "seed": CALIBRATION_SEED},
            "probe": f"skimage astronaut at {PROBE_SIDE}x{PROBE_SIDE}",
            "fidelity_db": None if math.isinf(fidelity) else round(fidelity, 2),
            "quantize_s": round(time.perf_counter() - started, 2),
            "onnxruntime": ort.__version__,
        }
        written = Path(scratch) / "report.json"
        written.write_text(json.dumps(facts, indent=2) + "\n", encoding="utf-8")
        written.replace(report)
        partial.replace(target)  # last: the model file's presence says both are complete


def _on_luma(prepare: Prepare) -> Prepare:
    """`prepare` fed each RGB image's 8-bit luma (the YCrCb Y that backends/luma.py gives such networks)."""
    return lambda image: prepare(np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_RGB2YCrCb)[..., :1]))


def _session(ort: Any, path: Path, settings: Settings) -> Any:
    options = ort.SessionOptions()
    options.intra_op_num_threads = settings.threads
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


def _as_image(result: np.ndarray) -> np.ndarray:
    return np.clip(result[0].transpose(1, 2, 0) * 255.0, 0, 255).round().astype(np.uint8)


def _fidelity(ort: Any, fp32: Path, int8: Path, settings: Settings, batch: np.ndarray) -> float:
    """PSNR of the int8 model's output against the fp32 model's, both rounded to 8-bit images."""
    outputs = []
    for path in (fp32, int8):
        session = _session(ort, path, settings)
        (result, *_) = session.run(None, {session.get_inputs()[0].name: batch})
        outputs.append(_as_image(result))
    return psnr(outputs[0], outputs[1])
