"""OpenCV dnn_superres networks (EDSR, ESPCN, FSRCNN, LapSRN) from opencv-contrib."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from studio.core.config import Settings
from studio.core.errors import BackendUnavailableError, EnhanceError, UsageError, WeightsError
from studio.models.backends.base import EnhancerInfo, Runtime
from studio.models.options import OpenCVDnnOptions
from studio.models.schema import ModelSpec


class OpenCVSuperRes:
    """cv2.dnn_superres is not documented as thread-safe: one call at a time per network."""

    def __init__(self, spec: ModelSpec, path: Path, settings: Settings, runtime: Runtime):
        if not hasattr(cv2, "dnn_superres"):
            raise BackendUnavailableError(f"'{spec.id}' needs opencv-contrib-python-headless (cv2.dnn_superres)")
        if not isinstance(spec.options, OpenCVDnnOptions):
            raise WeightsError(f"'{spec.id}' has no OpenCV DNN options")
        if runtime.precision not in ("auto", "fp32") or runtime.device not in ("auto", "cpu"):
            raise UsageError(
                f"'{spec.id}': OpenCV DNN runs fp32 on the CPU, not {runtime.precision} on {runtime.device}"
            )
        algorithm = spec.options.algorithm  # one of vocabulary.OPENCV_DNN_ALGORITHMS, checked by the registry
        self._net = cv2.dnn_superres.DnnSuperResImpl_create()
        try:
            self._net.readModel(str(path))
        except cv2.error as exc:
            raise WeightsError(f"'{spec.id}': OpenCV cannot read {path.name}: {str(exc).strip()[:160]}") from None
        self._net.setModel(algorithm, spec.scale)
        cv2.setNumThreads(settings.threads)
        self._lock = threading.Lock()
        self.info = EnhancerInfo(model_id=spec.id, task=spec.task, scale=spec.scale, backend="opencv-dnn")
        self.memory_mb = path.stat().st_size / 2**20

    def enhance(self, image: np.ndarray) -> np.ndarray:
        bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
        try:
            with self._lock:
                result = self._net.upsample(bgr)
        except cv2.error as exc:
            raise EnhanceError(f"'{self.info.model_id}' failed in OpenCV DNN: {str(exc).strip()[:160]}") from None
        return cv2.cvtColor(result, cv2.COLOR_BGR2RGB)


def load(
    spec: ModelSpec, weights_path: Path | None, params: dict[str, Any], settings: Settings, runtime: Runtime
) -> OpenCVSuperRes:
    """Backend entry point used by the loader (OpenCV DNN runs fp32 on the CPU only)."""
    if weights_path is None:
        raise WeightsError(f"'{spec.id}' has no weight file")
    return OpenCVSuperRes(spec, weights_path, settings, runtime)
