"""OpenCV dnn_superres `.pb` files -> state dicts for studio/models/archs/opencv_sr.py, read by OpenCV itself.

cv2.dnn imports the TensorFlow graph (no TensorFlow needed) into layers whose blobs hold the
weights, already in OpenCV's own layout: convolutions (out, in, kh, kw), biases and PReLU slopes
(1, C). The layers are walked in graph order against the architecture's expected sequence, so a
graph of another shape is refused at the layer that differs. The few constants OpenCV keeps as
layer parameters rather than blobs (LapSRN's scalar first bias, FSRCNN's scalar last bias, the
activations' slopes) are read by running the graph: a Power layer is affine, so its output against
its input gives them. Two layouts need turning: TensorFlow's depth-to-space takes channel
(dy * s + dx) * C + c where torch's pixel_shuffle takes c * s^2 + dy * s + dx (the same for the
one-channel luma networks), and EDSR's weights take and give BGR where ours take RGB.

Before anything is cached, the filled network runs beside OpenCV's own forward pass on a probe
image; a disagreement refuses the file in one line rather than caching a network that would give
other pixels. The agreement tests (dnn_superres vs the torch and ONNX forms, >= 60 dB) prove the
pre- and post-processing on top. Converted weights are cached as .safetensors beside the other
converted weights, named by the source's sha256, so a changed file converts again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from studio.core.config import Settings
from studio.core.errors import WeightsError
from studio.models.convert.opencv_graph import Cursor, Graph, first_line
from studio.models.weights.download import lock_for

PROBE_SIZE = (23, 29)  # odd on purpose: TensorFlow's SAME padding of the 4x4 kernels is uneven
AGREEMENT = 1e-3  # largest |torch - OpenCV| of the network's output, relative to the output's range
FSRCNN_PRELU_HALF = 0.5  # FSRCNN_Tensorflow's PReLU: relu(x) + alpha * (x - |x|) * 0.5


def _espcn(cursor: Cursor) -> dict[str, np.ndarray]:
    state = {}
    for index in (1, 2, 3):
        state[f"conv{index}.weight"], state[f"conv{index}.bias"] = cursor.conv(bias=True)
        if index < 3:
            cursor.take("ReLU")
    cursor.take("DepthToSpace")
    cursor.take("TanH")
    return state


def _prelu(cursor: Cursor) -> np.ndarray:
    """relu(x) + alpha * (x - |x|) * 0.5, as FSRCNN_Tensorflow writes PReLU: returns alpha."""
    cursor.take("ReLU")
    cursor.take("AbsVal")
    cursor.take("Eltwise")
    alpha = cursor.take("Scale")
    half = cursor.take("Power")
    cursor.graph.expect_scale(alpha, half, FSRCNN_PRELU_HALF)
    cursor.take("Eltwise")
    return alpha.blobs[0].reshape(-1)


def _fsrcnn(cursor: Cursor) -> dict[str, np.ndarray]:
    state = {}
    index = 0
    weight, bias = cursor.conv(bias=None)
    while bias is not None:  # every layer but the last adds a bias and a PReLU
        state[f"body.{index}.weight"], state[f"body.{index}.bias"] = weight, bias
        state[f"body.{index + 1}.weight"] = _prelu(cursor)
        index += 2
        weight, bias = cursor.conv(bias=None)
    state["upsample.weight"] = weight
    shuffle = cursor.take("DepthToSpace")
    added = cursor.take("Power")
    state["bias"] = np.array([cursor.graph.shift(shuffle, added)], np.float32)
    return state


def _leaky(cursor: Cursor) -> None:
    """relu(x) - 0.2 * relu(-x), as TF-LapSRN writes its leaky ReLU."""
    from studio.models.archs.opencv_sr import LAPSRN_SLOPE

    cursor.take("ReLU")
    cursor.take("Power")  # -x
    negative = cursor.take("ReLU")
    cursor.graph.expect_scale(negative, cursor.take("Power"), LAPSRN_SLOPE)
    cursor.take("Eltwise")


def _lapsrn(cursor: Cursor) -> dict[str, np.ndarray]:
    state = {}
    level = 0
    while cursor.peek() == "Convolution":
        prefix = f"levels.{level}."
        first = cursor.take("Convolution")
        bias = cursor.take("Power")
        state[prefix + "first.weight"] = first.blobs[0]
        state[prefix + "first_bias"] = np.array([cursor.graph.shift(first, bias)], np.float32)
        _leaky(cursor)
        conv = 0
        while cursor.next_kernel() == (3, 3):
            weight, conv_bias = cursor.conv(bias=True)
            state[f"{prefix}convs.{conv}.weight"], state[f"{prefix}convs.{conv}.bias"] = weight, conv_bias
            _leaky(cursor)
            conv += 1
        state[prefix + "upsample_features.weight"], _ = cursor.conv(bias=False)
        cursor.take("DepthToSpace")
        _leaky(cursor)
        state[prefix + "upsample_image.weight"], _ = cursor.conv(bias=False)
        cursor.take("DepthToSpace")
        cursor.take("Eltwise")
        _leaky(cursor)
        level += 1
    return state


def _edsr(cursor: Cursor) -> dict[str, np.ndarray]:
    from studio.models.archs.opencv_sr import EDSR_RES_SCALE

    state = {}
    weight, bias = cursor.conv(bias=True)
    state["head.weight"], state["head.bias"] = weight[:, ::-1], bias  # the graph takes BGR; ours takes RGB
    block = 0
    while True:
        weight, bias = cursor.conv(bias=True)
        if cursor.peek() != "ReLU":
            break
        cursor.take("ReLU")
        state[f"blocks.{block}.conv1.weight"], state[f"blocks.{block}.conv1.bias"] = weight, bias
        weight, bias = cursor.conv(bias=True)
        state[f"blocks.{block}.conv2.weight"], state[f"blocks.{block}.conv2.bias"] = weight, bias
        before = cursor.layers[cursor.index - 1]
        cursor.graph.expect_scale(before, cursor.take("Power"), EDSR_RES_SCALE)
        cursor.take("Eltwise")
        block += 1
    state["body.weight"], state["body.bias"] = weight, bias
    cursor.take("Eltwise")
    weight, bias = cursor.conv(bias=True)
    cursor.take("DepthToSpace")
    order = _rgb_shuffle_order(weight.shape[0] // 3)
    state["upsample.weight"], state["upsample.bias"] = weight[order], bias[order]
    return state


def _rgb_shuffle_order(positions: int) -> np.ndarray:
    """The output channels of a BGR depth-to-space convolution, reordered for an RGB pixel_shuffle: TensorFlow's
    channel (dy * s + dx) * 3 + c becomes torch's c * s^2 + dy * s + dx, with c counted from red."""
    return np.array([position * 3 + colour for colour in (2, 1, 0) for position in range(positions)])


READERS: dict[str, Callable[[Cursor], dict[str, np.ndarray]]] = {
    "espcn": _espcn,
    "fsrcnn": _fsrcnn,
    "lapsrn": _lapsrn,
    "edsr": _edsr,
}


def convert_opencv(path: Path, algorithm: str, scale: int) -> dict[str, Any]:
    """The state dict of archs/opencv_sr.py's `algorithm` network filled from the `.pb`, checked against
    OpenCV's own forward pass."""
    import torch

    from studio.models.archs.opencv_sr import ARCH_CODES, ARCH_KEY, from_state_dict

    if algorithm not in READERS:
        raise WeightsError(f"no dnn_superres conversion for '{algorithm}' (known: {', '.join(READERS)})")
    graph = Graph(path, algorithm)
    cursor = Cursor(graph)
    weights = READERS[algorithm](cursor)
    cursor.end()
    state: dict[str, Any] = {
        f"network.{key}": torch.from_numpy(np.ascontiguousarray(value)) for key, value in weights.items()
    }
    state[ARCH_KEY] = torch.tensor(ARCH_CODES[algorithm])
    try:
        model = from_state_dict(state).eval()
    except (RuntimeError, KeyError, ValueError) as exc:
        raise graph.refuse(first_line(exc)) from None
    if model.scale != scale:
        raise WeightsError(f"{path.name} upscales x{model.scale}, not x{scale}")
    _check_agreement(graph, model)
    return model.state_dict()


def _check_agreement(graph: Graph, model: Any) -> None:
    """The filled network against OpenCV's forward pass on the same probe image (what dnn_superres feeds it)."""
    import torch

    from studio.models.archs.opencv_sr import EDSR_MEAN_BGR

    channels = model.channels
    levels = np.random.default_rng(1).integers(0, 256, (1, channels, *PROBE_SIZE)).astype(np.float32)
    if channels == 1:
        probe = levels * np.float32(1.0 / 255.0)  # dnn_superres's Y: float32(y) * float32(1 / 255)
    else:
        probe = levels - np.float32(EDSR_MEAN_BGR).reshape(1, 3, 1, 1)  # a BGR image, mean-centred
        levels = levels[:, ::-1].copy()  # the same image in RGB, for ours
    expected = graph.forward(probe)
    with torch.inference_mode():
        found = model(torch.from_numpy(levels / np.float32(255.0))).numpy()
    if channels == 3:  # ours gives RGB in [0, 1]; OpenCV's graph gives BGR around the mean
        found = found[:, ::-1] * np.float32(255.0) - np.float32(EDSR_MEAN_BGR).reshape(1, 3, 1, 1)
    if found.shape != expected.shape:
        raise graph.refuse(f"the rebuilt network gives {found.shape[1:]}, OpenCV gives {expected.shape[1:]}")
    error = float(np.abs(found - expected).max())
    if error > AGREEMENT * max(1.0, float(np.abs(expected).max())):
        raise graph.refuse(f"the rebuilt network differs from OpenCV's by up to {error:.3g}")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def converted_weights(model_id: str, pb_path: Path, algorithm: str, scale: int, settings: Settings) -> Path:
    """The converted .safetensors for a dnn_superres model, made once and cached by the source's sha256."""
    from safetensors.torch import save_file

    target = settings.weights_dir / "converted" / f"{model_id}-{_sha256(pb_path)[:16]}.safetensors"
    if target.exists():
        return target
    with lock_for(target):
        if not target.exists():
            state = convert_opencv(pb_path, algorithm, scale)
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(target.name + ".part")
            save_file({key: value.contiguous() for key, value in state.items()}, str(partial))
            partial.replace(target)
    return target
