"""dnn_superres's colour steps around a converted luma network (ESPCN, FSRCNN, LapSRN: the torch and ONNX forms).

OpenCV's dnn_superres (opencv_contrib, dnn_superres.cpp: preprocess_YCrCb, reconstruct_YCrCb) runs
these networks on luma alone: the 8-bit image to YCrCb, Y / 255 through the network, the network's
output and Cr, Cb (as float / 255, cv2.resize's default bilinear) rounded to 8 bits, merged, and
converted back. The same OpenCV calls run here around whichever enhancer holds the network, so both
converted forms give dnn_superres's pixels wherever their networks agree, and the colour work runs
in OpenCV's 8-bit code instead of as float tensors at the output size. The inner enhancer takes and
returns one-channel 8-bit images, and its own rounding (x * 255, half to even, saturated) is
dnn_superres's convertTo(CV_8U, 255).
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from studio.core.errors import EnhanceError
from studio.models.backends.base import Enhancer, EnhancerInfo

INV_255 = np.float32(1.0 / 255.0)


class LumaOnly:
    """An Enhancer: RGB in, RGB out, with `inner` (a one-channel network) run on the luma."""

    def __init__(self, inner: Enhancer):
        self.inner = inner
        self.info: EnhancerInfo = inner.info
        self.memory_mb = inner.memory_mb

    @property
    def network(self) -> Any:
        """The torch form's luma network (`studio export-onnx` writes it); AttributeError for the ONNX form."""
        return self.inner.network  # type: ignore[attr-defined]

    def enhance(self, image: np.ndarray) -> np.ndarray:
        scale = self.info.scale
        ycrcb = cv2.cvtColor(image, cv2.COLOR_RGB2YCrCb)  # the same integers as dnn_superres's BGR2YCrCb on BGR
        luma = self.inner.enhance(np.ascontiguousarray(ycrcb[..., :1]))
        height, width = image.shape[0] * scale, image.shape[1] * scale
        if luma.shape[:2] != (height, width):
            raise EnhanceError(f"'{self.info.model_id}' gave {luma.shape[1]}x{luma.shape[0]}, not {width}x{height}")
        channels = [luma.reshape(height, width)]
        for index in (1, 2):  # Cr, Cb one at a time, as dnn_superres resizes them (cv2's default: bilinear)
            chroma = cv2.resize(ycrcb[..., index].astype(np.float32) * INV_255, (width, height))
            channels.append(cv2.convertScaleAbs(chroma, alpha=255.0))  # saturate(round(x * 255)); x is never < 0
        return cv2.cvtColor(cv2.merge(channels), cv2.COLOR_YCrCb2RGB)
