"""Writes the seed corpus of the graph fuzzer (cpp/fuzz/graph_corpus/): for each op a
plausible call, and the hostile attribute values that once broke size arithmetic (huge
pads, dilations, strides, kernel shapes and axes).

    PYTHONPATH=<engine build> python cpp/fuzz/make_graph_corpus.py

The bytes follow graph_fuzzer.cpp's reading order: "<op>\\0", then per schema attribute
(in schema order) a choice byte and the value, the input count, per input a kind byte and
its shape, the output count and the mode. Files named crash-* are findings; they are kept.
"""
import math
import os
import struct

from engine import _core

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "graph_corpus")
DEFAULT, OMIT, FUZZED = 0, 2, 3
KIND_PREVIOUS, KIND_SHAPE, KIND_WEIGHT, KIND_CHANNELS, KIND_INT64 = 0, 4, 5, 6, 7
FLOATS = [0.0, 1.0, -1.0, 0.5, 2.0, 1e-7, 1e38, -1e38, math.inf, -math.inf, math.nan, 0.01]
TEXTS = ["", "NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID", "mean", "sum", "none", "Relu", "bogus"]


def integer(v):
    if 1 <= v <= 8:
        return bytes([v - 1])
    if -3 <= v <= 0:
        return bytes([0x20 + (-v)])
    return b"\xff" + struct.pack("<q", v)


def ints(values):
    n = len(values)
    choice = {2: 0, 4: 1}.get(n)
    if choice is None:
        choice = next(b for b in range(256) if b % 4 > 1 and b % 7 == n)
    return bytes([choice]) + b"".join(integer(v) for v in values)


def shape(dims):
    rank = {4: 0}.get(len(dims), next(b for b in range(3, 256) if b % 8 >= 3 and b % 5 == len(dims)))
    return bytes([rank]) + bytes(d - 1 if d > 0 else 15 for d in dims)


def attribute(kind, value):
    if kind == "int":
        return integer(value)
    if kind == "float":
        return bytes([next(i for i, f in enumerate(FLOATS) if f == value or f != f and value != value)])
    if kind == "string":
        return bytes([TEXTS.index(value)])
    if kind == "ints":
        return ints(value)
    raise ValueError(f"no encoding for {kind} attributes")


def seed(op, attrs=None, inputs=(), outputs=0, training=False):
    """attrs: name -> value (others take their default, or are left out); inputs: a list of
    ("shape", dims) graph inputs, ("previous",), ("weight", out, kh, kw),
    ("channels", "first" or "previous"), ("int64", values)."""
    domain, _, op_type = op.rpartition(".")
    schema = _core.op_schema(op_type, domain) if domain else _core.op_schema(op_type)
    out = op.encode() + b"\0"
    attrs = dict(attrs or {})
    for name, spec in schema["attributes"].items():
        if name in attrs:
            out += bytes([FUZZED]) + attribute(spec["kind"], attrs.pop(name))
        else:
            out += bytes([DEFAULT if spec["default"] is not None else OMIT])
    assert not attrs, f"{op} has no attributes {sorted(attrs)}"
    low, high = schema["inputs"]
    count = len(inputs) - low
    span = (low + 3 if high is None else high) - low + 1
    assert 0 <= count < span, (op, len(inputs))
    out += bytes([count])
    for i, spec in enumerate(inputs):
        if spec[0] == "shape":
            out += bytes([KIND_SHAPE]) + shape(spec[1]) + b"\1"
        elif spec[0] == "previous":
            out += bytes([KIND_PREVIOUS]) + b"\1"
        elif spec[0] == "weight":
            out += bytes([KIND_WEIGHT, spec[1] - 1, spec[2] - 1, spec[3] - 1]) + b"\1"
        elif spec[0] == "channels":  # the first input's dim 1, or the previous input's dim 0
            out += bytes([KIND_CHANNELS, spec[1] == "first"]) + b"\1"
        elif spec[0] == "int64":
            assert i > 0, "the first input is never an int64 constant"
            out += bytes([KIND_INT64, len(spec[1])]) + b"".join(integer(v) for v in spec[1])
        else:
            raise ValueError(spec)
    return out + bytes([outputs, 1 if training else 0])


def seeds():
    image = ("shape", (2, 3, 5, 4))  # dims up to 5
    huge = 2**61
    yield "conv_k3p1", seed("Conv", {"pads": [1, 1, 1, 1]}, [image, ("weight", 4, 3, 3)], training=True)
    yield "conv_bias_s2", seed("Conv", {"strides": [2, 2]}, [image, ("weight", 2, 3, 2),
                                                                  ("channels", "previous")])
    yield "conv_huge_pads", seed("Conv", {"pads": [huge, 0, huge, 0]}, [image, ("weight", 4, 3, 3)])
    yield "conv_overflowing_pads", seed("Conv", {"pads": [2 * huge, 1, 2 * huge, 1]},
                                        [image, ("weight", 4, 3, 3)])
    yield "conv_huge_dilation", seed("Conv", {"dilations": [2 * huge, 1]}, [image, ("weight", 4, 3, 3)])
    yield "conv_huge_stride", seed("Conv", {"strides": [2 * huge, 2**31]}, [image, ("weight", 4, 3, 3)],
                                   training=True)
    yield "conv_same_huge_stride", seed("Conv", {"auto_pad": "SAME_UPPER", "strides": [2**62, 3]},
                                        [image, ("weight", 4, 3, 3)])
    yield "conv_int64_min_group", seed("Conv", {"group": -2**63}, [image, ("weight", 4, 3, 3)])
    for op in ("MaxPool", "AveragePool"):
        name = op.lower()
        yield f"{name}_k3s2p1", seed(op, {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]},
                                     [image], training=True)
        yield f"{name}_huge_pads", seed(op, {"kernel_shape": [1, 1], "pads": [huge, 0, huge, 0]}, [image])
        yield f"{name}_huge_kernel", seed(op, {"kernel_shape": [2 * huge, 1],
                                               "pads": [2 * huge, 0, 2 * huge, 0]}, [image])
        yield f"{name}_huge_dilation", seed(op, {"kernel_shape": [2, 2], "dilations": [huge, huge]}, [image])
        yield f"{name}_huge_stride_ceil", seed(op, {"kernel_shape": [2, 2], "strides": [2**63 - 1, 1],
                                                    "ceil_mode": 1}, [image], training=True)
    yield "concat_axis_min", seed("Concat", {"axis": -2**63}, [image, ("previous",)])
    yield "concat_axis_1", seed("Concat", {"axis": 1}, [image, ("previous",)], training=True)
    yield "softmax_axis_max", seed("Softmax", {"axis": 2**63 - 1}, [image])
    yield "flatten_axis_min", seed("Flatten", {"axis": -2**63}, [image])
    yield "transpose_perm_huge", seed("Transpose", {"perm": [0, 2**62, 1, 3]}, [image])
    yield "reshape_huge", seed("Reshape", {}, [image, ("int64", [2**62, 2**62])])
    yield "reshape_minus_one", seed("Reshape", {}, [image, ("int64", [-1, 6])], training=True)
    yield "unsqueeze_axis_huge", seed("Unsqueeze", {}, [image, ("int64", [2**62])])
    yield "squeeze_axis_min", seed("Squeeze", {}, [("shape", (2, 1, 3)), ("int64", [-2**63])])
    yield "lrn_size_huge", seed("LRN", {"size": 2**62 + 1}, [image])
    yield "gemm", seed("Gemm", {"transB": 1}, [("shape", (4, 3)), ("shape", (5, 3))], training=True)
    channel = ("channels", "first")
    yield "batch_norm", seed("BatchNormalization", {}, [image, channel, channel, channel, channel],
                             training=True)
    yield "softmax_cross_entropy", seed("engine.SoftmaxCrossEntropy", {},
                                        [("shape", (4, 3)), ("previous",)], training=True)


def main():
    os.makedirs(HERE, exist_ok=True)
    for name, data in seeds():
        with open(os.path.join(HERE, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
