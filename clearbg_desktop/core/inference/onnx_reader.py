"""Just enough of the ONNX file format to read a graph's nodes and weights, without the ``onnx`` package.

The app imports rembg's ``.onnx`` files into its own PyTorch model (``core.inference.official_weights``); the
frozen app does not carry ``onnx`` (it is ~20 MiB with protobuf). An ONNX file is a protobuf
``ModelProto``; this reads the wire format directly: ``graph`` (7) -> ``node`` (1) and
``initializer`` (5), ``NodeProto`` inputs (1), outputs (2), op_type (4) and attributes (5), and a
``TensorProto``'s dims (1), data type (2), float_data (4), int32_data (5), int64_data (7), name (8) and
raw_data (9).
Weights stored at half precision (``Cast`` of an fp16 initialiser) or quantized (``DequantizeLinear`` of an
int8/uint8 initialiser) are resolved to their float values, so fp16-stored and int8 files import too.
The file is memory-mapped, never read whole, and refused above :data:`MAX_ONNX_BYTES`.
Anything malformed raises :class:`OnnxFormatError`.
"""

from __future__ import annotations

import math
import mmap
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

_DTYPES = {1: np.float32, 2: np.uint8, 3: np.int8, 10: np.float16, 11: np.float64, 6: np.int32, 7: np.int64}
_FLOAT_TYPES = {1: np.float32, 10: np.float16, 11: np.float64}  # Cast's ``to`` attribute
MAX_ONNX_BYTES = 1 << 30  # a full U²-Net is 176 MB; anything far above is not one of ours to read
# BiRefNet's graph has ~10,000 nodes; a 1 GiB file of 5-byte nodes would be 200 million Python objects (~100 GiB)
MAX_GRAPH_ITEMS = 300_000
# Integers kept as varints become Python ints (~36 bytes each): 8 million is ~300 MiB; rembg's and ClearBG's files
# keep their weights as raw data and need a few thousand
MAX_PACKED_VALUES = 1 << 23


class _Budget:
    """How many more varint values one read may decode (a 1 GiB file could hold a billion)."""

    def __init__(self) -> None:
        self.left = MAX_PACKED_VALUES

    def take(self, count: int) -> None:
        self.left -= count
        if self.left < 0:
            raise OnnxFormatError(f"more than {MAX_PACKED_VALUES} integers kept one by one, far more than any "
                                  "model ClearBG knows has")


class OnnxFormatError(ValueError):
    """Not an ONNX file, or a truncated or damaged one."""


@dataclass
class OnnxNode:
    op_type: str
    inputs: list[str]
    outputs: list[str]
    attributes: dict[str, object] = field(default_factory=dict)


@dataclass
class OnnxGraph:
    nodes: list[OnnxNode]
    tensors: dict[str, np.ndarray]  # initializers and Constant nodes' values, by name
    inputs: list[tuple[str, list[int | None]]] = field(default_factory=list)  # fed inputs (not weights), shapes
    outputs: list[str] = field(default_factory=list)

    def producer(self, name: str) -> OnnxNode | None:
        """The node that computes ``name`` (the last one, as ONNX allows one)."""
        return next((node for node in reversed(self.nodes) if name in node.outputs), None)


def _varint(data: memoryview, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise OnnxFormatError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise OnnxFormatError("varint too long")


def _fields(data: memoryview) -> Iterator[tuple[int, int, int | memoryview]]:
    """(field number, wire type, value) for each field of one message."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise OnnxFormatError("field number 0")
        if wire == 0:
            value, pos = _varint(data, pos)
            yield number, wire, value
        elif wire == 1:
            if pos + 8 > len(data):
                raise OnnxFormatError("truncated 64-bit field")
            yield number, wire, data[pos:pos + 8]
            pos += 8
        elif wire == 2:
            length, pos = _varint(data, pos)
            if pos + length > len(data):
                raise OnnxFormatError("truncated length-delimited field")
            yield number, wire, data[pos:pos + length]
            pos += length
        elif wire == 5:
            if pos + 4 > len(data):
                raise OnnxFormatError("truncated 32-bit field")
            yield number, wire, data[pos:pos + 4]
            pos += 4
        else:
            raise OnnxFormatError(f"unsupported wire type {wire}")


def _text(value: int | memoryview) -> str:
    if not isinstance(value, memoryview):
        raise OnnxFormatError("expected a string")
    try:
        return bytes(value).decode("utf-8")
    except UnicodeDecodeError:
        raise OnnxFormatError("a name is not UTF-8") from None


def _packed_ints(value: int | memoryview, budget: _Budget) -> list[int]:
    if isinstance(value, int):
        budget.take(1)
        return [value]
    budget.take(int(np.count_nonzero(np.frombuffer(value, np.uint8) < 0x80)))  # one last byte per varint
    values, pos = [], 0
    while pos < len(value):
        number, pos = _varint(value, pos)
        values.append(number)
    return values


def _tensor(message: memoryview, budget: _Budget) -> tuple[str, np.ndarray]:
    dims: list[int] = []
    dtype_code = 0
    name = ""
    raw: memoryview | None = None
    floats: list[memoryview] = []
    ints: list[int] = []
    for number, wire, value in _fields(message):
        if number == 1:
            dims.extend(_packed_ints(value, budget))
            if len(dims) > 32:
                raise OnnxFormatError(f"tensor {name or '?'} has more than 32 dimensions")
        elif number == 2 and wire == 0:
            dtype_code = int(value)  # type: ignore[arg-type]
        elif number == 4 and isinstance(value, memoryview):
            floats.append(value)
        elif number in (5, 7):  # int32_data, int64_data (varints; negative ones in two's complement)
            raw_ints = _packed_ints(value, budget)
            ints.extend(v - (1 << 64) if v >= 1 << 63 else v for v in raw_ints)
        elif number == 8:
            name = _text(value)
        elif number == 9 and isinstance(value, memoryview):
            raw = value
        elif number == 14 and value == 1:
            raise OnnxFormatError(f"tensor {name or '?'} keeps its data in an external file")
    dtype = _DTYPES.get(dtype_code)
    if dtype is None:
        raise OnnxFormatError(f"tensor {name or '?'} has unsupported data type {dtype_code}")
    dims = [d - (1 << 64) if d >= 1 << 63 else d for d in dims]  # int64 varints: negative ones wrap
    if any(d < 0 for d in dims) or len(dims) > 32:
        raise OnnxFormatError(f"tensor {name or '?'} has an impossible shape {dims[:8]}")
    count = math.prod(dims)  # Python integers: [2^32, 2^32] is 2^64 values, not numpy's overflowed 0
    itemsize = np.dtype(dtype).itemsize
    if raw is not None:
        if len(raw) % itemsize:
            raise OnnxFormatError(f"tensor {name or '?'} has {len(raw)} bytes of data, not a whole number of "
                                  f"{itemsize}-byte values")
        array = np.frombuffer(bytes(raw), dtype=np.dtype(dtype).newbyteorder("<"))
    elif floats and dtype is np.float32:
        data = b"".join(bytes(f) for f in floats)
        if len(data) % 4:
            raise OnnxFormatError(f"tensor {name or '?'} has {len(data)} bytes of float data, not a multiple of 4")
        array = np.frombuffer(data, dtype="<f4")
    elif ints and dtype is np.float16:  # int32_data holds fp16 values as their bit patterns
        array = np.asarray(ints, np.uint16).view(np.float16)
    elif ints:
        array = np.asarray(ints, np.int64)
    else:
        array = np.zeros(0, dtype)
    if array.size != count:
        raise OnnxFormatError(f"tensor {name or '?'} holds {array.size} values, its shape {dims} needs {count}")
    return name, array.astype(dtype).reshape(dims)


def _attribute(message: memoryview, budget: _Budget) -> tuple[str, object]:
    name, value_out = "", None
    for number, wire, value in _fields(message):
        if number == 1:
            name = _text(value)
        elif number == 2 and wire == 5 and isinstance(value, memoryview):
            value_out = struct.unpack("<f", bytes(value))[0]
        elif number == 3 and wire == 0:
            value_out = int(value)  # type: ignore[arg-type]
        elif number == 5 and isinstance(value, memoryview):
            value_out = _tensor(value, budget)[1]
        elif number == 8:
            value_out = _packed_ints(value, budget)
    return name, value_out


def _node(message: memoryview, budget: _Budget) -> OnnxNode:
    node = OnnxNode("", [], [])
    for count, (number, _wire, value) in enumerate(_fields(message)):
        if count > MAX_GRAPH_ITEMS:
            raise OnnxFormatError(f"a node with more than {MAX_GRAPH_ITEMS} inputs, outputs and attributes")
        if number == 1:
            node.inputs.append(_text(value))
        elif number == 2:
            node.outputs.append(_text(value))
        elif number == 4:
            node.op_type = _text(value)
        elif number == 5 and isinstance(value, memoryview):
            key, attribute = _attribute(value, budget)
            node.attributes[key] = attribute
    return node


def read_onnx_graph(path: Path, with_tensors: bool = True) -> OnnxGraph:
    """Nodes in file order (ONNX stores them topologically sorted), inputs, outputs and every constant tensor;
    ``with_tensors=False`` skips the weights (what a 1 GB model's signature needs: no copy of its data)."""
    try:
        with open(path, "rb") as handle:
            size = Path(path).stat().st_size
            if size > MAX_ONNX_BYTES:
                raise OnnxFormatError(f"{size / 2**30:.1f} GiB, far larger than any U²-Net "
                                      f"(the limit is {MAX_ONNX_BYTES / 2**30:.0f} GiB)")
            if size == 0:
                raise OnnxFormatError("the file is empty")
            mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    except OSError as exc:
        raise OnnxFormatError(f"cannot read it ({exc.strerror or exc})") from None
    try:
        return _read_graph(memoryview(mapped), with_tensors)
    finally:
        try:
            mapped.close()
        except BufferError:  # a view into the map is still alive somewhere; the GC closes it
            pass


def _value_info(message: memoryview) -> tuple[str, list[int | None]]:
    """A ValueInfoProto's name and tensor shape (None for a symbolic dimension)."""
    name, shape = "", []
    for number, _wire, value in _fields(message):
        if number == 1:
            name = _text(value)
        elif number == 2 and isinstance(value, memoryview):  # TypeProto
            for t_number, _w, t_value in _fields(value):
                if t_number == 1 and isinstance(t_value, memoryview):  # tensor_type
                    for k_number, _w2, k_value in _fields(t_value):
                        if k_number == 2 and isinstance(k_value, memoryview):  # shape
                            for d_number, _w3, d_value in _fields(k_value):
                                if d_number == 1 and isinstance(d_value, memoryview):  # dim
                                    dims = dict((n, v) for n, _w4, v in _fields(d_value))
                                    dim = dims.get(1)
                                    shape.append(int(dim) if isinstance(dim, int) and dim > 0 else None)
    return name, shape


def _tensor_name(message: memoryview) -> str:
    return next((_text(value) for number, _wire, value in _fields(message) if number == 8), "")


def _read_graph(data: memoryview, with_tensors: bool = True) -> OnnxGraph:
    graph: memoryview | None = None
    try:
        for number, _wire, value in _fields(data):
            if number == 7 and isinstance(value, memoryview):
                graph = value
        if graph is None:
            raise OnnxFormatError("no graph in it: not an ONNX model")
        nodes: list[OnnxNode] = []
        tensors: dict[str, np.ndarray] = {}
        weights: set[str] = set()
        inputs: list[tuple[str, list[int | None]]] = []
        outputs: list[str] = []
        budget = _Budget()
        for number, _wire, value in _fields(graph):
            if len(nodes) + len(weights) + len(inputs) + len(outputs) > MAX_GRAPH_ITEMS:
                raise OnnxFormatError(f"more than {MAX_GRAPH_ITEMS} nodes and tensors, far more than any model "
                                      "ClearBG knows has")
            if number == 1 and isinstance(value, memoryview):
                nodes.append(_node(value, budget))
            elif number == 5 and isinstance(value, memoryview):
                if with_tensors:
                    name, array = _tensor(value, budget)
                    tensors[name] = array
                else:
                    name = _tensor_name(value)
                weights.add(name)
            elif number == 11 and isinstance(value, memoryview):
                inputs.append(_value_info(value))
            elif number == 12 and isinstance(value, memoryview):
                outputs.append(_value_info(value)[0])
        inputs = [item for item in inputs if item[0] not in weights]  # old files list weights as inputs too
    except OnnxFormatError:
        raise
    except (IndexError, struct.error, ValueError, TypeError, OverflowError) as exc:
        raise OnnxFormatError(f"damaged ({str(exc)[:120]})") from None
    try:
        _resolve_constants(nodes, tensors)
    except OnnxFormatError:
        raise
    except (ValueError, TypeError, IndexError, OverflowError) as exc:  # shapes that do not fit one another
        raise OnnxFormatError(f"damaged ({str(exc)[:120]})") from None
    return OnnxGraph(nodes, tensors, inputs, outputs)


def _resolve_constants(nodes: list[OnnxNode], tensors: dict[str, np.ndarray]) -> None:
    """Constant, Identity, Cast and DequantizeLinear outputs of stored tensors, as the values they compute."""
    for node in nodes:
        if node.op_type == "Constant" and isinstance(node.attributes.get("value"), np.ndarray) and node.outputs:
            tensors[node.outputs[0]] = node.attributes["value"]  # type: ignore[assignment]
        if node.op_type == "Identity" and node.inputs and node.inputs[0] in tensors and node.outputs:
            tensors[node.outputs[0]] = tensors[node.inputs[0]]
        if node.op_type == "Cast" and node.inputs and node.inputs[0] in tensors and node.outputs:
            code = node.attributes.get("to")
            to = _FLOAT_TYPES.get(code) if isinstance(code, int) else None
            if to is not None:
                tensors[node.outputs[0]] = tensors[node.inputs[0]].astype(to)
        if node.op_type == "DequantizeLinear" and node.outputs and all(i in tensors for i in node.inputs[:2]):
            tensors[node.outputs[0]] = _dequantize(node, tensors)


def _dequantize(node: OnnxNode, tensors: dict[str, np.ndarray]) -> np.ndarray:
    """``(x - zero_point) * scale``, per tensor or per channel along ``axis`` (ONNX's DequantizeLinear)."""
    values = tensors[node.inputs[0]].astype(np.float32)
    scale = tensors[node.inputs[1]].astype(np.float32)
    zero = tensors[node.inputs[2]].astype(np.float32) if len(node.inputs) > 2 and node.inputs[2] in tensors \
        else np.zeros_like(scale)
    if scale.ndim == 1 and values.ndim > 1 and scale.size > 1:
        axis = node.attributes.get("axis", 1)
        axis = int(axis) % values.ndim if isinstance(axis, int) else 1
        shape = [1] * values.ndim
        shape[axis] = scale.size
        scale, zero = scale.reshape(shape), zero.reshape(shape)
    return (values - zero) * scale
