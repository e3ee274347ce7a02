"""Conv: forward vs numpy float64, backward vs finite differences and numpy, onnxruntime."""
import math
from typing import NamedTuple

import numpy as np
import pytest

from engine import _core, ops
from helpers import REDUCTION_RTOL, assert_close, numeric_grads, randn


class Case(NamedTuple):
    N: int
    C: int
    H: int
    W: int
    OC: int
    KH: int
    KW: int
    strides: tuple = (1, 1)
    pads: tuple = (0, 0, 0, 0)
    dilations: tuple = (1, 1)
    group: int = 1
    auto_pad: str = "NOTSET"
    bias: bool = True

    @property
    def id(self):
        def pair(v):
            return f"{v[0]}" if v[0] == v[1] else f"{v[0]}x{v[1]}"

        pads = f"{self.pads[0]}" if len(set(self.pads)) == 1 else "_".join(map(str, self.pads))
        pads = f"p{pads}" if self.auto_pad == "NOTSET" else ""
        s = (f"N{self.N}C{self.C}H{self.H}W{self.W}-OC{self.OC}k{pair((self.KH, self.KW))}"
             f"s{pair(self.strides)}{pads}d{pair(self.dilations)}g{self.group}")
        if self.auto_pad != "NOTSET":
            s += "-" + self.auto_pad
        return s + ("" if self.bias else "-nobias")

    def attrs(self):
        return dict(strides=self.strides, pads=self.pads, dilations=self.dilations,
                    group=self.group, auto_pad=self.auto_pad)

    def inputs(self, rng):
        x = randn(rng, self.N, self.C, self.H, self.W)
        w = randn(rng, self.OC, self.C // self.group, self.KH, self.KW)
        b = randn(rng, self.OC) if self.bias else None
        return x, w, b


# ---- independent numpy float64 implementation ---------------------------------------------

def onnx_pads(case):
    """Explicit [top, left, bottom, right] pads for the case, auto_pad resolved per the ONNX spec."""
    if case.auto_pad == "NOTSET":
        return tuple(case.pads)
    if case.auto_pad == "VALID":
        return (0, 0, 0, 0)
    begin, end = [], []
    for size, k, s, d in ((case.H, case.KH, case.strides[0], case.dilations[0]),
                          (case.W, case.KW, case.strides[1], case.dilations[1])):
        out = math.ceil(size / s)
        total = max(0, (out - 1) * s + (k - 1) * d + 1 - size)
        lower = total // 2 if case.auto_pad == "SAME_UPPER" else total - total // 2
        begin.append(lower)
        end.append(total - lower)
    return (begin[0], begin[1], end[0], end[1])


def windows(xp, KH, KW, OH, OW, strides, dilations):
    """[N, C, KH, KW, OH, OW]: the input element under each tap of each output position."""
    (sh, sw), (dh, dw) = strides, dilations
    return np.stack([np.stack([xp[:, :, kh * dh:kh * dh + (OH - 1) * sh + 1:sh,
                                  kw * dw:kw * dw + (OW - 1) * sw + 1:sw]
                               for kw in range(KW)], axis=2) for kh in range(KH)], axis=2)


def geometry(case):
    pt, pl, pb, pr = onnx_pads(case)
    OH = (case.H + pt + pb - (case.KH - 1) * case.dilations[0] - 1) // case.strides[0] + 1
    OW = (case.W + pl + pr - (case.KW - 1) * case.dilations[1] - 1) // case.strides[1] + 1
    return (pt, pl, pb, pr), OH, OW


def np_conv(case, x, w, b):
    (pt, pl, pb, pr), OH, OW = geometry(case)
    x, w = np.asarray(x, np.float64), np.asarray(w, np.float64)
    G, N = case.group, x.shape[0]
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    cols = windows(xp, case.KH, case.KW, OH, OW, case.strides, case.dilations)
    cols = cols.reshape(N, G, case.C // G, case.KH, case.KW, OH, OW)
    wg = w.reshape(G, case.OC // G, case.C // G, case.KH, case.KW)
    y = np.einsum("ngcabij,gocab->ngoij", cols, wg).reshape(N, case.OC, OH, OW)
    return y if b is None else y + np.asarray(b, np.float64)[None, :, None, None]


def np_conv_backward(case, dy, x, w):
    """(dx, dw, db) in float64 by scattering each tap's contribution back."""
    (pt, pl, pb, pr), OH, OW = geometry(case)
    dy, x, w = (np.asarray(a, np.float64) for a in (dy, x, w))
    G, N, (sh, sw), (dh, dw_) = case.group, x.shape[0], case.strides, case.dilations
    Cg, OCg = case.C // G, case.OC // G
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    cols = windows(xp, case.KH, case.KW, OH, OW, case.strides, case.dilations)
    cols = cols.reshape(N, G, Cg, case.KH, case.KW, OH, OW)
    dyg = dy.reshape(N, G, OCg, OH, OW)
    wg = w.reshape(G, OCg, Cg, case.KH, case.KW)
    dw = np.einsum("ngoij,ngcabij->gocab", dyg, cols).reshape(w.shape)
    dxp = np.zeros_like(xp).reshape(N, G, Cg, *xp.shape[2:])
    for kh in range(case.KH):
        for kw in range(case.KW):
            dxp[:, :, :, kh * dh:kh * dh + (OH - 1) * sh + 1:sh,
                kw * dw_:kw * dw_ + (OW - 1) * sw + 1:sw] += np.einsum(
                    "ngoij,goc->ngcij", dyg, wg[:, :, :, kh, kw])
    dx = dxp.reshape(xp.shape)[:, :, pt:pt + case.H, pl:pl + case.W]
    return dx, dw, dy.sum(axis=(0, 2, 3))


# ---- forward ---------------------------------------------------------------------------------

FORWARD_CASES = [
    Case(2, 3, 7, 5, 4, 3, 3, strides=(2, 2), pads=(1, 1, 1, 1)),
    Case(1, 3, 9, 9, 5, 3, 3, pads=(1, 1, 1, 1)),
    Case(2, 4, 13, 11, 6, 3, 3, strides=(3, 3), pads=(0, 1, 2, 0)),
    Case(1, 3, 11, 13, 4, 3, 3, pads=(2, 2, 2, 2), dilations=(2, 2)),
    Case(1, 2, 12, 10, 3, 3, 2, strides=(2, 1), pads=(1, 0, 0, 1), dilations=(1, 2), bias=False),
    Case(2, 4, 9, 7, 6, 3, 3, pads=(1, 1, 1, 1), group=2),
    Case(1, 6, 11, 9, 4, 5, 3, strides=(2, 3), pads=(2, 1, 1, 2), group=2, bias=False),
    Case(2, 6, 9, 11, 6, 3, 3, pads=(1, 1, 1, 1), group=6),
    Case(1, 6, 10, 9, 12, 3, 3, strides=(2, 2), pads=(1, 0, 1, 1), group=6),
    Case(1, 6, 13, 13, 6, 5, 5, pads=(4, 4, 4, 4), dilations=(2, 2), group=6, bias=False),
    Case(2, 6, 7, 8, 12, 2, 4, strides=(3, 2), pads=(0, 2, 1, 0), group=6),
    Case(2, 8, 7, 9, 5, 1, 1),
    Case(1, 8, 7, 9, 6, 1, 1, group=2, bias=False),
    Case(1, 4, 9, 9, 3, 1, 1, strides=(2, 2)),
    Case(1, 4, 5, 7, 3, 1, 1, pads=(1, 0, 0, 2), dilations=(3, 3)),
    Case(1, 3, 8, 8, 4, 2, 2, strides=(2, 2)),
    Case(1, 3, 15, 15, 4, 5, 5, pads=(2, 2, 2, 2)),
    Case(1, 2, 5, 5, 3, 5, 5, bias=False),
    Case(1, 2, 3, 4, 3, 5, 4, pads=(1, 0, 1, 0)),
    Case(1, 3, 33, 31, 8, 3, 3, pads=(1, 1, 1, 1)),
    Case(3, 5, 13, 13, 7, 4, 4, strides=(3, 3), pads=(1, 2, 3, 0)),
    Case(2, 3, 7, 9, 4, 4, 3, strides=(2, 2), auto_pad="SAME_UPPER"),
    Case(2, 3, 7, 9, 4, 4, 3, strides=(2, 2), auto_pad="SAME_LOWER"),
    Case(1, 3, 8, 6, 4, 3, 3, strides=(3, 1), dilations=(2, 1), auto_pad="SAME_UPPER"),
    Case(1, 3, 8, 6, 4, 3, 2, strides=(1, 1), auto_pad="SAME_LOWER", bias=False),
    Case(1, 6, 9, 9, 6, 4, 4, strides=(2, 2), group=6, auto_pad="SAME_LOWER"),
    Case(2, 3, 9, 8, 4, 3, 3, strides=(2, 2), auto_pad="VALID"),
    Case(2, 3, 9, 8, 4, 3, 3, strides=(2, 2), pads=(1, 0, 2, 1), auto_pad="NOTSET"),
    # Several chunks of 3 images (the last one short) share each group's packed weights.
    Case(5, 6, 9, 11, 14, 3, 3, pads=(1, 1, 1, 1), group=2),
] + [  # 3x3 stride-1 layers with the channels and tiles for the Winograd route on the CPU
    Case(5, 16, 7, 7, 16, 3, 3, pads=(1, 1, 1, 1)),
    Case(2, 17, 13, 11, 19, 3, 3, pads=(0, 1, 2, 0), bias=False),
    Case(17, 16, 1, 1, 17, 3, 3, pads=(2, 2, 2, 2)),
    Case(17, 16, 2, 2, 18, 3, 3, pads=(1, 1, 1, 1)),
    Case(4, 20, 9, 7, 16, 3, 3),
    Case(4, 16, 6, 5, 16, 3, 3, pads=(3, 0, 1, 2)),
    Case(2, 15, 9, 9, 16, 3, 3, pads=(1, 1, 1, 1)),
    Case(3, 16, 8, 9, 24, 3, 3, auto_pad="SAME_UPPER", bias=False),
]


@pytest.mark.parametrize("case", FORWARD_CASES, ids=lambda c: c.id)
def test_forward_matches_numpy(case, rng, kernel_impl):
    x, w, b = case.inputs(rng)
    y = ops.conv2d(x, w, b, **case.attrs())
    assert_close(y, np_conv(case, x, w, b), REDUCTION_RTOL)


def test_same_upper_and_same_lower_put_the_odd_pad_at_opposite_ends(rng):
    # H=7, k=4, s=2: total pad 3 per axis; SAME_UPPER pads 1 before, SAME_LOWER 2.
    x, w, b = Case(1, 2, 7, 7, 3, 4, 4).inputs(rng)
    upper = ops.conv2d(x, w, b, strides=2, auto_pad="SAME_UPPER")
    lower = ops.conv2d(x, w, b, strides=2, auto_pad="SAME_LOWER")
    assert upper.shape == lower.shape == (1, 3, 4, 4)
    assert_close(upper, ops.conv2d(x, w, b, strides=2, pads=(1, 1, 2, 2)), 1e-6)
    assert_close(lower, ops.conv2d(x, w, b, strides=2, pads=(2, 2, 1, 1)), 1e-6)
    assert np.abs(upper - lower).max() > 1e-3


def test_pads_shorthands(rng):
    x, w, b = Case(1, 2, 7, 6, 3, 3, 3).inputs(rng)
    full = ops.conv2d(x, w, b, pads=(1, 2, 1, 2), strides=(2, 2), dilations=(1, 1))
    np.testing.assert_array_equal(ops.conv2d(x, w, b, pads=(1, 2), strides=2, dilations=1), full)
    np.testing.assert_array_equal(ops.conv2d(x, w, b, pads=np.int64(1)),
                                  ops.conv2d(x, w, b, pads=(1, 1, 1, 1)))
    np.testing.assert_array_equal(ops.conv2d(x, w, b, pads=None), ops.conv2d(x, w, b, pads=0))


@pytest.mark.parametrize("threads", [1, 3])
def test_thread_count_does_not_change_results(threads, rng):
    cases = [Case(5, 4, 9, 7, 6, 3, 3, strides=(2, 1), pads=(1, 1, 1, 1), group=2),
             Case(1, 6, 11, 9, 6, 3, 3, pads=(1, 1, 1, 1)), Case(3, 6, 9, 8, 12, 3, 3, group=6),
             Case(4, 6, 7, 5, 3, 1, 1), Case(2, 3, 7, 6, 5, 3, 3, pads=(1, 1, 1, 1)),
             Case(4, 3, 5, 5, 30, 3, 3),  # more weights than outputs: images in one chunk
             Case(3, 16, 13, 11, 24, 3, 3, pads=(1, 0, 2, 1)),  # Winograd
             # Winograd over several chunks of tiles, its transformed weights packed once
             Case(20, 32, 28, 27, 32, 3, 3, pads=(1, 1, 1, 1)),
             Case(5, 6, 9, 11, 14, 3, 3, pads=(1, 1, 1, 1), group=2)]  # shared packed weights
    saved = _core.get_num_threads()
    _core.set_num_threads(threads)
    try:
        for case in cases:
            x, w, b = case.inputs(rng)
            assert_close(ops.conv2d(x, w, b, **case.attrs()), np_conv(case, x, w, b),
                         what=case.id)
            dy = randn(rng, *np_conv(case, x, w, b).shape)
            for got, ref, name in zip(ops.conv2d_backward(dy, x, w, b, **case.attrs()),
                                      np_conv_backward(case, dy, x, w), ("dx", "dw", "db")):
                assert_close(got, ref, what=f"{case.id} {name}")
    finally:
        _core.set_num_threads(saved)


# ---- backward --------------------------------------------------------------------------------

GRAD_CASES = [
    Case(1, 2, 5, 4, 3, 3, 3, pads=(1, 1, 1, 1)),
    Case(2, 2, 6, 5, 2, 2, 3, strides=(2, 2), pads=(0, 1, 1, 0)),
    Case(1, 4, 5, 5, 4, 3, 3, pads=(2, 2, 2, 2), dilations=(2, 2), group=2),
    Case(1, 3, 5, 6, 6, 3, 3, strides=(2, 2), pads=(1, 1, 1, 1), group=3),
    Case(2, 3, 3, 4, 2, 1, 1),
    Case(1, 2, 7, 5, 2, 4, 3, strides=(2, 2), auto_pad="SAME_LOWER"),
]


@pytest.mark.parametrize("case", GRAD_CASES, ids=lambda c: c.id)
def test_backward_matches_finite_differences(case, rng, kernel_impl):
    x, w, b = case.inputs(rng)
    y = np_conv(case, x, w, b)
    dy = randn(rng, *y.shape)
    num_dx, num_dw, num_db = numeric_grads(lambda x, w, b: np_conv(case, x, w, b), [x, w, b], dy)
    dx, dw, db = ops.conv2d_backward(dy, x, w, b, **case.attrs())
    assert_close(dx, num_dx, REDUCTION_RTOL, "dx")
    assert_close(dw, num_dw, REDUCTION_RTOL, "dw")
    assert_close(db, num_db, REDUCTION_RTOL, "db")


BACKWARD_CASES = [
    Case(4, 16, 13, 13, 32, 3, 3, pads=(1, 1, 1, 1)),
    Case(3, 8, 17, 15, 12, 3, 3, strides=(2, 2), pads=(1, 2, 0, 1), dilations=(2, 2)),
    Case(2, 8, 13, 11, 10, 3, 5, strides=(1, 2), pads=(1, 2, 1, 2), group=2),
    Case(4, 16, 13, 13, 32, 3, 3, pads=(1, 1, 1, 1), group=16),
    Case(2, 12, 11, 13, 12, 5, 5, strides=(2, 2), pads=(2, 2, 2, 2), group=12),
    Case(3, 16, 13, 9, 24, 1, 1),
    Case(2, 7, 33, 33, 5, 3, 3, strides=(2, 2), auto_pad="SAME_UPPER"),
    # Long sums: N*OH*OW above the CUDA reductions' one-block span (16384 terms).
    Case(4, 3, 70, 69, 2, 3, 3, pads=(1, 1, 1, 1)),
    Case(4, 2, 70, 69, 4, 3, 3, pads=(1, 1, 1, 1), group=2),
    Case(5, 6, 9, 11, 14, 3, 3, pads=(1, 1, 1, 1), group=2),
    # Winograd data gradients: pads 0 and 2 (dy padded by 2 and 0), asymmetric, 2x2 tiles.
    Case(4, 16, 9, 7, 17, 3, 3),
    Case(4, 19, 7, 6, 16, 3, 3, pads=(2, 2, 2, 2)),
    Case(3, 24, 13, 11, 16, 3, 3, pads=(0, 1, 2, 1)),
    Case(16, 16, 2, 2, 16, 3, 3, pads=(1, 1, 1, 1)),
]


@pytest.mark.parametrize("case", BACKWARD_CASES, ids=lambda c: c.id)
def test_backward_matches_numpy(case, rng, kernel_impl):
    x, w, b = case.inputs(rng)
    dy = randn(rng, *np_conv(case, x, w, b).shape)
    ref_dx, ref_dw, ref_db = np_conv_backward(case, dy, x, w)
    dx, dw, db = ops.conv2d_backward(dy, x, w, b, **case.attrs())
    assert_close(dx, ref_dx, REDUCTION_RTOL, "dx")
    assert_close(dw, ref_dw, REDUCTION_RTOL, "dw")
    assert_close(db, ref_db, REDUCTION_RTOL, "db")


@pytest.mark.parametrize("need", [("dw",), ("dx",), ("db",), ("dx", "db"), ()], ids=str)
def test_backward_computes_only_what_is_needed(need, rng, kernel_impl):
    case = Case(2, 4, 9, 7, 6, 3, 3, strides=(2, 2), pads=(1, 1, 1, 1), group=2)
    x, w, b = case.inputs(rng)
    dy = randn(rng, 2, 6, 5, 4)
    full = np_conv_backward(case, dy, x, w)
    got = ops.conv2d_backward(dy, x, w, b, **case.attrs(), need=need)
    for name, g, ref in zip(("dx", "dw", "db"), got, full):
        if name in need:
            assert_close(g, ref, REDUCTION_RTOL, name)
        else:
            assert g is None, name


def test_backward_without_bias_returns_no_db(rng):
    case = Case(1, 2, 5, 5, 3, 3, 3, bias=False)
    x, w, _ = case.inputs(rng)
    dx, dw, db = ops.conv2d_backward(randn(rng, 1, 3, 3, 3), x, w)
    assert db is None and dx.shape == x.shape and dw.shape == w.shape


# ---- onnxruntime -----------------------------------------------------------------------------

ORT_CASES = [
    Case(2, 3, 7, 5, 4, 3, 3, strides=(2, 2), pads=(1, 1, 1, 1)),
    Case(1, 4, 11, 13, 6, 3, 3, strides=(1, 2), pads=(0, 1, 2, 0), dilations=(2, 2), group=2),
    Case(1, 6, 9, 11, 12, 3, 3, pads=(1, 1, 1, 1), group=6, bias=False),
    Case(2, 3, 7, 9, 4, 4, 3, strides=(2, 2), auto_pad="SAME_UPPER"),
    Case(2, 3, 7, 9, 4, 4, 3, strides=(2, 2), auto_pad="SAME_LOWER"),
    Case(1, 3, 9, 8, 4, 3, 3, strides=(2, 2), auto_pad="VALID"),
]


@pytest.mark.parametrize("case", ORT_CASES, ids=lambda c: c.id)
def test_forward_matches_onnxruntime(case, rng):
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime not installed")
    onnx = pytest.importorskip("onnx", reason="onnx not installed")
    from onnx import TensorProto, helper

    x, w, b = case.inputs(rng)
    attrs = dict(strides=list(case.strides), dilations=list(case.dilations), group=case.group,
                 kernel_shape=[case.KH, case.KW])
    if case.auto_pad == "NOTSET":
        attrs["pads"] = list(case.pads)
    else:
        attrs["auto_pad"] = case.auto_pad
    names = ["x", "w"] + (["b"] if b is not None else [])
    node = helper.make_node("Conv", names, ["y"], **attrs)
    feeds = dict(zip(names, (x, w, b)))
    graph = helper.make_graph(
        [node], "conv",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, list(feeds[n].shape)) for n in names],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 10  # onnx writes its newest IR by default, which onnxruntime may reject
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (expected,) = session.run(None, feeds)
    np.testing.assert_allclose(ops.conv2d(x, w, b, **case.attrs()), expected, rtol=1e-3,
                               atol=1e-5)


# ---- errors ----------------------------------------------------------------------------------

def test_bad_inputs_raise_clear_errors():
    x = np.ones((2, 4, 7, 7), np.float32)
    w = np.ones((6, 2, 3, 3), np.float32)
    b = np.ones(6, np.float32)
    conv = ops.conv2d
    with pytest.raises(ValueError, match=r"Conv: x must be 4-D .*\[4, 7, 7\]"):
        conv(x[0], w)
    with pytest.raises(ValueError, match=r"Conv: w must be 4-D .*\[6, 2, 9\]"):
        conv(x, w.reshape(6, 2, 9))
    with pytest.raises(ValueError, match=r"Conv: w .* expects 2 input channels per group.* has 4"):
        conv(x, w)
    with pytest.raises(ValueError, match="Conv: group 3 does not divide the 4 input channels"):
        conv(x, np.ones((6, 1, 3, 3), np.float32), group=3)
    with pytest.raises(ValueError, match="Conv: group 4 does not divide the 6 output channels"):
        conv(x, np.ones((6, 1, 3, 3), np.float32), group=4)
    with pytest.raises(ValueError, match="Conv: group must be positive, got 0"):
        conv(x, w, group=0)
    with pytest.raises(ValueError, match=r"Conv: b has shape \[5\], expected \[6\]"):
        conv(x, w, b[:5], group=2)
    with pytest.raises(ValueError, match=r"Conv: strides must be positive, got \[0, 1\]"):
        conv(x, w, group=2, strides=(0, 1))
    with pytest.raises(ValueError, match=r"Conv: strides must be positive, got \[-1, -1\]"):
        conv(x, w, group=2, strides=-1)
    with pytest.raises(ValueError, match=r"Conv: dilations must be positive, got \[1, 0\]"):
        conv(x, w, group=2, dilations=(1, 0))
    with pytest.raises(ValueError, match=r"Conv: pads must be non-negative, got \[0, -1, 0, 0\]"):
        conv(x, w, group=2, pads=(0, -1, 0, 0))
    with pytest.raises(ValueError, match=r"Conv: strides must have 2 values .* \[1, 1, 1\]"):
        conv(x, w, group=2, strides=(1, 1, 1))
    with pytest.raises(ValueError, match=r"Conv: pads must have 4 values .* \[1, 1, 1\]"):
        conv(x, w, group=2, pads=(1, 1, 1))
    with pytest.raises(ValueError, match=r"Conv: the height window .* larger than the padded"):
        conv(x, np.ones((6, 2, 9, 3), np.float32), group=2)
    with pytest.raises(ValueError, match=r"Conv: the width window \(kernel 3, dilation 4"):
        conv(x, w, group=2, dilations=(1, 4))
    with pytest.raises(ValueError, match="Conv: explicit pads .* conflict with auto_pad"):
        conv(x, w, group=2, pads=1, auto_pad="SAME_UPPER")
    with pytest.raises(ValueError, match="Conv: unknown auto_pad 'SAME'"):
        conv(x, w, group=2, auto_pad="SAME")
    with pytest.raises(TypeError, match="Conv: x must be a float32"):
        conv(x.astype(np.float64), w, group=2)
    with pytest.raises(TypeError, match="Conv: w must be float32, got int64"):
        conv(x, w.astype(np.int64), group=2)
    with pytest.raises(TypeError, match="Conv: b must be a float32"):
        conv(x, w, b.astype(np.float16), group=2)
    with pytest.raises(ValueError, match="Conv: x must be C-contiguous"):
        conv(np.ones((2, 7, 7, 4), np.float32).transpose(0, 3, 1, 2), w, group=2)
    with pytest.raises(ValueError, match="Conv: w must be C-contiguous"):
        conv(x, np.ones((6, 2, 3, 3), np.float32)[:, :, :, ::-1], group=2)


def test_bad_backward_inputs_raise_clear_errors():
    x = np.ones((2, 4, 7, 7), np.float32)
    w = np.ones((6, 2, 3, 3), np.float32)
    dy = np.ones((2, 6, 5, 5), np.float32)
    bwd = ops.conv2d_backward
    with pytest.raises(ValueError, match=r"Conv_backward: dy has shape \[2, 6, 5, 4\], expected "
                                         r"\[2, 6, 5, 5\]"):
        bwd(dy[..., :4].copy(), x, w, group=2)
    with pytest.raises(ValueError, match="Conv_backward: dy must be C-contiguous"):
        bwd(np.ones((2, 6, 5, 10), np.float32)[..., ::2], x, w, group=2)
    with pytest.raises(TypeError, match="Conv_backward: dy must be a float32"):
        bwd(dy.astype(np.float64), x, w, group=2)
    with pytest.raises(ValueError, match="Conv_backward: group 3 does not divide"):
        bwd(dy, x, w, group=3)
    with pytest.raises(ValueError, match=r"Conv_backward: b must have shape \(OC,\) = \(6,\)"):
        bwd(dy, x, w, np.ones(5, np.float32), group=2)
    with pytest.raises(ValueError, match="Conv_backward: unknown gradients \\['dy'\\]"):
        bwd(dy, x, w, group=2, need=("dy",))


def test_scratch_sizes_that_overflow_are_value_errors():
    # A 2^15 x 2^15 kernel over a 2^30 x 2^30 image: each tensor's size fits in 64 bits, the
    # im2col matrix the kernels would need does not. Planned without allocating anything.
    with pytest.raises(ValueError, match=r"Conv: the im2col matrix \[1073741824, 1073709057 x "
                                         r"1073709057\] for kernel \[32768, 32768\].* is more than "
                                         r"memory can hold"):
        _core.infer_op("Conv", [((1, 1, 2**30, 2**30), "float32"), ((1, 1, 2**15, 2**15), "float32")])


@pytest.mark.parametrize("stride", [1, 2])
def test_depthwise_loops_agree_on_every_isa(rng, stride):
    """The depthwise loops run as an AVX2/FMA copy where the CPU has it and as the portable
    one elsewhere: both give the same forward pass and gradients."""
    x = randn(rng, 3, 8, 13, 11)
    w = randn(rng, 16, 1, 3, 3)
    b = randn(rng, 16)
    dy = None
    results = []
    for portable in (False, True):
        _core.set_portable_kernels(portable)
        try:
            attrs = {"group": 8, "strides": [stride, stride], "pads": [1, 1, 1, 1]}
            (y,), _ = _core.run_op("Conv", [x, w, b], attrs)
            dy = randn(rng, *y.shape) if dy is None else dy
            grads = _core.run_op_backward("Conv", [x, w, b], [dy], attrs)
        finally:
            _core.set_portable_kernels(False)
        results.append([y] + grads)
    for got, want in zip(*results):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_winograd_route_agrees_on_every_isa(rng):
    """3x3 stride-1 layers run as Winograd transforms compiled twice (AVX2/FMA and portable):
    both give the forward pass and the data gradient of numpy float64."""
    case = Case(3, 17, 13, 11, 19, 3, 3, pads=(1, 0, 2, 1))
    x, w, b = case.inputs(rng)
    dy = randn(rng, *np_conv(case, x, w, b).shape)
    want_dx = np_conv_backward(case, dy, x, w)[0]
    for portable in (False, True):
        _core.set_portable_kernels(portable)
        try:
            y = ops.conv2d(x, w, b, **case.attrs())
            dx = ops.conv2d_backward(dy, x, w, b, **case.attrs())[0]
        finally:
            _core.set_portable_kernels(False)
        assert_close(y, np_conv(case, x, w, b), REDUCTION_RTOL, f"y portable={portable}")
        assert_close(dx, want_dx, REDUCTION_RTOL, f"dx portable={portable}")


@pytest.mark.parametrize("batch_norm", [False, True])
def test_winograd_with_a_fused_relu_and_batch_norm(batch_norm, rng):
    """Conv (+ BatchNormalization) + Relu fused into one op by the planner, on a layer that
    takes the Winograd route: values at inference, and gradients through the fused Relu."""
    case = Case(3, 16, 9, 11, 18, 3, 3, pads=(1, 2, 0, 1))
    x, w, b = case.inputs(rng)
    scale, shift, mean = randn(rng, 18), randn(rng, 18), randn(rng, 18)
    var = rng.uniform(0.5, 2.0, 18).astype(np.float32)
    g = _core.Graph()
    g.add_input("x", [-1, 16, 9, 11])
    for name, value in (("w", w), ("b", b), ("s", scale), ("t", shift), ("m", mean), ("v", var)):
        g.set_initializer(name, value, name in ("w", "b"))
    g.add_node("Conv", ["x", "w", "b"], ["c"], {"pads": list(case.pads)})
    conv = "c"
    if batch_norm:
        g.add_node("BatchNormalization", ["c", "s", "t", "m", "v"], ["n"], {"epsilon": 1e-5})
        conv = "n"
    g.add_node("Relu", [conv], ["y"])
    g.add_output("y")
    ex = _core.Executor(g)
    pre = np_conv(case, x, w, b)
    if batch_norm:
        pre = ((pre - mean[None, :, None, None]) / np.sqrt(var[None, :, None, None] + 1e-5)
               * scale[None, :, None, None] + shift[None, :, None, None])
    assert_close(ex.run([x])[0], np.maximum(pre, 0.0), REDUCTION_RTOL)
    assert ex.stats()["folded_batch_norms" if batch_norm else "fused_activations"] == 1
    if batch_norm:
        return  # training normalizes with the batch's statistics
    seed = randn(rng, *pre.shape)
    grads = ex.gradients([x], "y", seed)
    dx, dw, db = np_conv_backward(case, seed * (pre > 0), x, w)
    assert_close(grads["x"], dx, REDUCTION_RTOL, "dx")
    assert_close(grads["w"], dw, REDUCTION_RTOL, "dw")
    assert_close(grads["b"], db, REDUCTION_RTOL, "db")
