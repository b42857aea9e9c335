"""BRISQUE (Mittal, Moorthy and Bovik 2012), lower is better, as the authors' MATLAB code computes it.

OpenCV's `QualityBRISQUE` is 2 to 12 points off the original (its own grey
conversion, resize and model, and a clip at 0), so we compute the 36 features as
`brisque_feature.m` does (MATLAB rgb2gray, zero-padded Gaussian filtering,
MATLAB imresize for the half scale) and evaluate the LIVE-trained epsilon-SVR
ourselves: features scaled to [-1, 1] with the range file, then the RBF kernel
sum over the support vectors minus rho, as libsvm's svm-predict does. The
model and range are the LIVE files OpenCV ships, fetched by sha256. They are
OpenCV's retraining on LIVE (rho -149.6 and other feature ranges than the
release's `allmodel` / `allrange`, rho -153.6), so our scores differ from the
original's by the model: on TID2013, +0.6 (I03), -15.8 (I04), +3.1 (I06),
+4.7 (I08), -5.0 (I19). With the release's own SVR these features give the
original scores to 0.01 on three of those images (tests/metrics).
"""

from __future__ import annotations

import math
import threading
from functools import lru_cache

import cv2
import numpy as np

from studio.core.errors import MediaError
from studio.metrics.base import MetricContext, source_availability
from studio.metrics.matlab import imresize, rgb2gray
from studio.metrics.nss import BRISQUE_SHIFTS, aggd_fit, ggd_fit, mscn, pair_products
from studio.models.schema import SourceSpec

# The LIVE-trained BRISQUE model as OpenCV ships it (opencv_contrib, modules/quality/samples).
_SAMPLES = "https://raw.githubusercontent.com/opencv/opencv_contrib/4.x/modules/quality/samples/"
MODEL = SourceSpec.model_validate(
    {
        "url": {
            "url": _SAMPLES + "brisque_model_live.yml",
            "sha256": "4c44c7eec9e5139830c0bb0e4a044c9cd351ba5bbc9e3798beca3243e2782ff4",
        }
    }
)
RANGE = SourceSpec.model_validate(
    {
        "url": {
            "url": _SAMPLES + "brisque_range_live.yml",
            "sha256": "a18427f4f7ad087524bd0d63389649a3899b51ca6d44a4d5f8d8171f1f914a9c",
        }
    }
)
MIN_SIDE = 16  # below this the half scale has too few coefficients for the fits
_LOCK = threading.Lock()


def availability(store) -> str | None:
    """None when both LIVE files are cached or fetchable now."""
    if not hasattr(cv2, "ml"):
        return "needs OpenCV's ml module (cv2.ml) to read the LIVE model"
    for source in (MODEL, RANGE):
        reason = source_availability(store, source, "model files", " (set STUDIO_WEIGHTS_MIRROR or allow network)")
        if reason:
            return reason
    return None


@lru_cache(maxsize=4)
def _model(store) -> tuple[np.ndarray, np.ndarray, float, float, np.ndarray, np.ndarray]:
    """Support vectors, coefficients, gamma, rho, and the per-feature minimum and maximum."""
    with _LOCK:
        svm = cv2.ml.SVM_load(str(store.resolve_source("brisque", MODEL)))
        ranges = cv2.FileStorage(str(store.resolve_source("brisque", RANGE)), cv2.FILE_STORAGE_READ)
        low, high = ranges.getNode("range").mat().astype(np.float64)
        ranges.release()
    rho, alpha, index = svm.getDecisionFunction(0)
    vectors = svm.getSupportVectors().astype(np.float64)[np.ravel(index)]
    return vectors, np.ravel(alpha).astype(np.float64), float(svm.getGamma()), float(rho), low, high


def features(grey: np.ndarray) -> np.ndarray:
    """brisque_feature.m: per scale, the GGD fit of the coefficients and the AGGD fits of four products."""
    if min(grey.shape) < MIN_SIDE:
        raise MediaError(
            f"BRISQUE needs at least {MIN_SIDE}x{MIN_SIDE} px; the image is {grey.shape[1]}x{grey.shape[0]}"
        )
    values: list[float] = []
    image = grey
    for _ in range(2):
        coefficients = mscn(image, cv2.BORDER_CONSTANT)
        alpha, variance = ggd_fit(coefficients.ravel())
        values += [alpha, variance]
        for product in pair_products(coefficients, BRISQUE_SHIFTS):
            alpha, left, right = aggd_fit(product.ravel())
            scale = math.sqrt(math.gamma(1 / alpha) / math.gamma(3 / alpha))
            mean = (right - left) * (math.gamma(2 / alpha) / math.gamma(1 / alpha)) * scale
            values += [alpha, mean, left**2, right**2]
        image = imresize(image, 0.5)
    return np.array(values)


def predict(feats: np.ndarray, model: tuple[np.ndarray, np.ndarray, float, float, np.ndarray, np.ndarray]) -> float:
    """svm-scale to [-1, 1] (not clipped), then sum_i coef_i exp(-gamma |sv_i - x|^2) - rho."""
    vectors, coefficients, gamma, rho, low, high = model
    scaled = -1 + 2 * (feats - low) / (high - low)
    kernel = np.exp(-gamma * np.sum((vectors - scaled) ** 2, axis=1))
    return float(coefficients @ kernel - rho)


def brisque(output: np.ndarray, reference: np.ndarray | None, context: MetricContext) -> float:
    """BRISQUE of MATLAB's rgb2gray of the output: about 0 for pristine photos, 100 for badly distorted ones."""
    with np.errstate(invalid="ignore", divide="ignore"):
        feats = features(rgb2gray(output))
        return predict(feats, _model(context.store))
