"""Small TensorFlow GraphDef files written without TensorFlow, for OpenCV's TensorFlow importer.

Only what the tests need: float constants, Placeholder, Conv2D, Add, Mul, Relu, Identity, DepthToSpace
and Transpose nodes, encoded in protobuf's wire format (tensorflow/core/framework/graph.proto,
node_def.proto, attr_value.proto, tensor.proto, tensor_shape.proto). `edsr_graph` builds an
EDSR_Tensorflow network (edsr.py's graph: the nodes its frozen export holds) with random weights,
since the real EDSR files (37 MB each) are not in the test weights mirror.
"""

from __future__ import annotations

import numpy as np

DT_FLOAT, DT_INT32 = 1, 3


def _varint(value: int) -> bytes:
    out = bytearray()
    value &= (1 << 64) - 1  # negative int64s are ten-byte varints
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, payload: bytes | int) -> bytes:
    """A varint field (int) or a length-delimited one (bytes)."""
    if isinstance(payload, int):
        return _varint(number << 3) + _varint(payload)
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _shape(dims: tuple[int, ...]) -> bytes:
    return b"".join(_field(2, _field(1, size)) for size in dims)


def _tensor(array: np.ndarray) -> bytes:
    dtype = DT_INT32 if array.dtype == np.int32 else DT_FLOAT
    return _field(1, dtype) + _field(2, _shape(array.shape)) + _field(4, np.ascontiguousarray(array).tobytes())


def _attr(key: str, value: bytes) -> bytes:
    return _field(5, _field(1, key.encode()) + _field(2, value))


def _type(dtype: int = DT_FLOAT) -> bytes:
    return _field(6, dtype)


def _ints(values: list[int]) -> bytes:
    return _field(1, _field(3, b"".join(_varint(v) for v in values)))


def _string(text: str) -> bytes:
    return _field(2, text.encode())


class GraphWriter:
    """Nodes appended in order; `bytes()` is the serialized GraphDef."""

    def __init__(self) -> None:
        self.nodes: list[bytes] = []
        self.count = 0

    def node(self, op: str, inputs: list[str], attrs: dict[str, bytes], name: str | None = None) -> str:
        self.count += 1
        name = name or f"{op.lower()}_{self.count}"
        body = _field(1, name.encode()) + _field(2, op.encode())
        body += b"".join(_field(3, i.encode()) for i in inputs)
        body += b"".join(_attr(key, value) for key, value in attrs.items())
        self.nodes.append(body)
        return name

    def const(self, array: np.ndarray) -> str:
        array = np.asarray(array)
        dtype = DT_INT32 if array.dtype == np.int32 else DT_FLOAT
        array = array.astype(np.int32 if dtype == DT_INT32 else np.float32)
        return self.node("Const", [], {"dtype": _type(dtype), "value": _field(8, _tensor(array))})

    def placeholder(self, name: str, channels: int) -> str:
        shape = _field(7, _shape((-1, -1, -1, channels)))
        return self.node("Placeholder", [], {"dtype": _type(), "shape": shape}, name)

    def conv(self, x: str, weight_hwio: np.ndarray) -> str:
        attrs = {
            "T": _type(),
            "strides": _ints([1, 1, 1, 1]),
            "padding": _string("SAME"),
            "data_format": _string("NHWC"),
            "dilations": _ints([1, 1, 1, 1]),
        }
        return self.node("Conv2D", [x, self.const(weight_hwio)], attrs)

    def binary(self, op: str, x: str, y: str) -> str:
        return self.node(op, [x, y], {"T": _type()})

    def unary(self, op: str, x: str, name: str | None = None) -> str:
        return self.node(op, [x], {"T": _type()}, name)

    def depth_to_space(self, x: str, block: int, name: str) -> str:
        attrs = {"T": _type(), "block_size": _field(3, block), "data_format": _string("NHWC")}
        return self.node("DepthToSpace", [x], attrs, name)

    def transpose(self, x: str, perm: list[int], name: str) -> str:
        attrs = {"T": _type(), "Tperm": _type(DT_INT32)}
        return self.node("Transpose", [x, self.const(np.array(perm, np.int32))], attrs, name)

    def __bytes__(self) -> bytes:
        return b"".join(_field(1, node) for node in self.nodes)


def edsr_graph(scale: int, features: int = 8, blocks: int = 2, seed: int = 0) -> bytes:
    """EDSR_Tensorflow's graph (edsr.py: head, `blocks` residual blocks scaled by 0.1, body + skip, one
    sub-pixel convolution to 3 * scale^2 channels, NHWC_output / NCHW_output) with random weights."""
    rng = np.random.default_rng(seed)
    graph = GraphWriter()

    def conv_bias(x: str, channels_in: int, channels_out: int) -> str:
        weight = rng.normal(0.0, 0.6 / np.sqrt(9 * channels_in), (3, 3, channels_in, channels_out))
        return graph.binary("Add", graph.conv(x, weight), graph.const(rng.normal(0.0, 0.1, channels_out)))

    x = graph.placeholder("IteratorGetNext", 3)
    head = graph.unary("Identity", conv_bias(x, 3, features))
    x = head
    for _ in range(blocks):
        inner = conv_bias(graph.unary("Relu", conv_bias(x, features, features)), features, features)
        x = graph.binary("Add", x, graph.binary("Mul", inner, graph.const(np.float32(0.1))))
    x = graph.binary("Add", conv_bias(x, features, features), head)
    out = graph.depth_to_space(conv_bias(x, features, 3 * scale * scale), scale, "NHWC_output")
    graph.transpose(out, [0, 3, 1, 2], "NCHW_output")
    return bytes(graph)
