"""A dnn_superres `.pb` graph as cv2.dnn imports it (no TensorFlow needed): its layers in order with their blobs,
a cursor that takes them one expected type at a time (a graph of another shape is refused at the layer that
differs), and its own forward pass, run to read the constants OpenCV keeps as layer parameters."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from studio.core.errors import WeightsError


@dataclass(frozen=True)
class GraphLayer:
    name: str
    type: str
    blobs: tuple[np.ndarray, ...]


class Graph:
    """A dnn_superres `.pb` as cv2.dnn imports it: its layers in order, and its forward pass for probing."""

    def __init__(self, path: Path, algorithm: str):
        import cv2

        self.file = path.name
        self.algorithm = algorithm
        if hasattr(cv2, "dnn_superres"):
            cv2.dnn_superres.DnnSuperResImpl_create()  # registers the DepthToSpace layer these graphs use
        try:
            self.net = cv2.dnn.readNetFromTensorflow(str(path), engine=cv2.dnn.ENGINE_CLASSIC)
            self.net.enableFusion(False)  # every layer keeps its own output, for probing
            self.layers = [self._layer(name) for name in self.net.getLayerNames()]
        except cv2.error as exc:
            raise WeightsError(
                f"{path.name}: OpenCV cannot read it as a TensorFlow graph ({first_line(exc)})"
            ) from None
        self._outputs: dict[str, np.ndarray] | None = None

    def _layer(self, name: str) -> GraphLayer:
        layer = self.net.getLayer(self.net.getLayerId(name))
        return GraphLayer(name, layer.type, tuple(np.asarray(blob, np.float32) for blob in layer.blobs))

    def refuse(self, why: str) -> WeightsError:
        return WeightsError(f"{self.file} is not an OpenCV dnn_superres {self.algorithm} network: {why}")

    def forward(self, probe: np.ndarray) -> np.ndarray:
        import cv2

        try:
            self.net.setInput(probe)
            return np.asarray(self.net.forward(), np.float32)
        except cv2.error as exc:
            raise self.refuse(f"OpenCV cannot run it ({first_line(exc)})") from None

    def shift(self, source: GraphLayer, target: GraphLayer) -> float:
        """The constant the Power layer `target` adds to `source`'s output (a scalar bias), read off the graph's run."""
        x, y = self._pair(source, target)
        shift = float(np.median(y - x))
        self._check(source, target, y, x + shift, f"x + {shift:g}")
        return float(np.float32(shift))

    def expect_scale(self, source: GraphLayer, target: GraphLayer, scale: float) -> None:
        """The Power layer `target` must multiply `source`'s output by `scale` (a constant of the architecture)."""
        x, y = self._pair(source, target)
        self._check(source, target, y, x * np.float32(scale), f"{scale:g} x")

    def _pair(self, source: GraphLayer, target: GraphLayer) -> tuple[np.ndarray, np.ndarray]:
        outputs = self._all_outputs()
        return outputs[source.name].astype(np.float64).ravel(), outputs[target.name].astype(np.float64).ravel()

    def _check(
        self, source: GraphLayer, target: GraphLayer, found: np.ndarray, predicted: np.ndarray, formula: str
    ) -> None:
        if np.abs(found - predicted).max() > 1e-5 * max(1.0, float(np.abs(found).max())):
            raise self.refuse(f"layer {target.name} does not compute {formula} of {source.name}")

    def _all_outputs(self) -> dict[str, np.ndarray]:
        """Every layer's output for one random probe (computed once)."""
        import cv2

        if self._outputs is None:
            channels = 3 if self.algorithm == "edsr" else 1
            probe = np.random.default_rng(0).standard_normal((1, channels, 11, 13), dtype=np.float32)
            names = [layer.name for layer in self.layers]
            try:
                self.net.setInput(probe)
                outputs = self.net.forward(names)
            except cv2.error as exc:
                raise self.refuse(f"OpenCV cannot run it ({first_line(exc)})") from None
            self._outputs = dict(zip(names, (np.asarray(output) for output in outputs), strict=True))
        return self._outputs


class Cursor:
    """The graph's layers in order (Identity layers skipped), taken one expected type at a time."""

    def __init__(self, graph: Graph):
        self.graph = graph
        self.layers = [layer for layer in graph.layers if layer.type != "Identity"]
        self.index = 0

    def peek(self) -> str | None:
        return self.layers[self.index].type if self.index < len(self.layers) else None

    def take(self, *types: str) -> GraphLayer:
        wanted = " or ".join(types)
        if self.index >= len(self.layers):
            raise self.graph.refuse(f"it ends where a {wanted} layer should follow")
        layer = self.layers[self.index]
        if layer.type not in types:
            raise self.graph.refuse(f"layer {layer.name} is {layer.type} where {wanted} should be")
        self.index += 1
        return layer

    def next_kernel(self) -> tuple[int, ...] | None:
        """The kernel size of the next layer when it is a convolution."""
        if self.peek() != "Convolution":
            return None
        return tuple(self.layers[self.index].blobs[0].shape[2:])

    def conv(self, bias: bool | None) -> tuple[np.ndarray, np.ndarray | None]:
        """A convolution's weight (out, in, kh, kw) and its per-channel bias: required (True), absent (False),
        or taken when the graph adds one (None)."""
        layer = self.take("Convolution")
        weight = layer.blobs[0]
        if len(layer.blobs) > 1:
            return weight, layer.blobs[1].reshape(-1)
        if bias is False or (bias is None and self.peek() not in ("Scale", "Shift")):
            return weight, None
        added = self.take("Scale", "Shift")
        if len(added.blobs) != 1 or added.blobs[0].size != weight.shape[0]:
            raise self.graph.refuse(f"layer {added.name} is not a bias of {weight.shape[0]} values")
        return weight, added.blobs[0].reshape(-1)

    def end(self) -> None:
        if self.index < len(self.layers):
            layer = self.layers[self.index]
            raise self.graph.refuse(f"layer {layer.name} ({layer.type}) follows the end of the network")


def first_line(exc: BaseException) -> str:
    """An exception's message on one line, without OpenCV's "OpenCV(5.0.0) file.cpp:42: error: (-2:...)" and
    "in function '...'" around it."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    text = re.sub(r"^OpenCV\([^)]*\) \S+ error: \(-?\d+:[^)]*\) ", "", text)
    return re.sub(r" in function '[^']*'$", "", text)[:200]
