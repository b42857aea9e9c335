"""No-reference scores: BRISQUE (OpenCV contrib, LIVE model), sharpness, colourfulness."""

from __future__ import annotations

import threading
from functools import lru_cache

import cv2
import numpy as np

from studio.metrics.base import MetricContext
from studio.models.schema import SourceSpec

# The LIVE-trained BRISQUE model as OpenCV ships it (opencv_contrib, modules/quality/samples).
_SAMPLES = "https://raw.githubusercontent.com/opencv/opencv_contrib/4.x/modules/quality/samples/"
BRISQUE_MODEL = SourceSpec.model_validate(
    {
        "url": {
            "url": _SAMPLES + "brisque_model_live.yml",
            "sha256": "4c44c7eec9e5139830c0bb0e4a044c9cd351ba5bbc9e3798beca3243e2782ff4",
        }
    }
)
BRISQUE_RANGE = SourceSpec.model_validate(
    {
        "url": {
            "url": _SAMPLES + "brisque_range_live.yml",
            "sha256": "a18427f4f7ad087524bd0d63389649a3899b51ca6d44a4d5f8d8171f1f914a9c",
        }
    }
)
_BRISQUE_LOCK = threading.Lock()


def brisque_availability(store) -> str | None:
    if not hasattr(cv2, "quality"):
        return "needs opencv-contrib (cv2.quality)"
    if store is None:
        return "no weights store"
    states = [store.source_state(s).label for s in (BRISQUE_MODEL, BRISQUE_RANGE)]
    if all(state == "cached" for state in states):
        return None
    if store.settings.weights_mirror or not store.settings.offline:
        return None  # fetchable on first use
    return "model files not downloaded (set STUDIO_WEIGHTS_MIRROR or allow network)"


@lru_cache(maxsize=4)
def _brisque_paths(store) -> tuple[str, str]:
    model = store.resolve_source("brisque", BRISQUE_MODEL)
    ranges = store.resolve_source("brisque", BRISQUE_RANGE)
    return str(model), str(ranges)


def brisque(output: np.ndarray, reference: np.ndarray | None, context: MetricContext) -> float:
    """BRISQUE (Mittal et al. 2012): 0 is pristine, about 100 is badly distorted."""
    model, ranges = _brisque_paths(context.store)
    bgr = cv2.cvtColor(output, cv2.COLOR_RGB2BGR)
    with _BRISQUE_LOCK:
        return float(cv2.quality.QualityBRISQUE_compute(bgr, model, ranges)[0])


def sharpness(output: np.ndarray, reference: np.ndarray | None, context: MetricContext) -> float:
    """Variance of the Laplacian of the grey image (Pech-Pacheco et al. 2000): higher is sharper."""
    grey = cv2.cvtColor(output, cv2.COLOR_RGB2GRAY)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


def colourfulness(output: np.ndarray, reference: np.ndarray | None, context: MetricContext) -> float:
    """Hasler and Süsstrunk (2003) colourfulness M3: 0 is grey, above 100 is extremely colourful."""
    rgb = output.astype(np.float64)
    rg = rgb[..., 0] - rgb[..., 1]
    yb = 0.5 * (rgb[..., 0] + rgb[..., 1]) - rgb[..., 2]
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))
