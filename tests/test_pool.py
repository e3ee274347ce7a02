"""Pooling: forward vs numpy float64, backward vs finite differences, numpy and onnxruntime."""
import math

import numpy as np
import pytest

from engine import ops
from helpers import ELEMENTWISE_RTOL, REDUCTION_RTOL, assert_close, numeric_grads

LOWEST = float(np.finfo(np.float32).min)


# ---- an independent float64 implementation of the ONNX semantics -------------------------

def axis_geometry(n, k, s, d, pad_begin, pad_end, auto_pad, ceil_mode):
    """(output size, pad_begin, pad_end) along one axis, from the ONNX operator spec."""
    span = (k - 1) * d + 1
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        out = -(-n // s)
        total = max(0, (out - 1) * s + span - n)
        pad_begin = total // 2 if auto_pad == "SAME_UPPER" else total - total // 2
        return out, pad_begin, total - pad_begin
    if auto_pad == "VALID":
        pad_begin = pad_end = 0
    room = n + pad_begin + pad_end - span
    out = (math.ceil(room / s) if ceil_mode else room // s) + 1
    if ceil_mode and (out - 1) * s >= n + pad_begin:  # no window starts in the end padding
        out -= 1
    return out, pad_begin, pad_end


def window_taps(x, cfg):
    """x [N, C, H, W] -> (taps [N, C, OH, OW, KH*KW] with NaN outside the input,
    in_padded [OH, OW, KH*KW] marking taps inside the padded input)."""
    kh, kw = cfg["k"]
    sh, sw = cfg["s"]
    dh, dw = cfg["d"]
    pt, pl, pb, pr = cfg["pads"]
    N, C, H, W = x.shape
    oh, pt, pb = axis_geometry(H, kh, sh, dh, pt, pb, cfg["auto_pad"], cfg["ceil"])
    ow, pl, pr = axis_geometry(W, kw, sw, dw, pl, pr, cfg["auto_pad"], cfg["ceil"])
    # Room for every window, ceil_mode overhang included.
    hp = max(pt + H + pb, (oh - 1) * sh + (kh - 1) * dh + 1)
    wp = max(pl + W + pr, (ow - 1) * sw + (kw - 1) * dw + 1)
    xp = np.full((N, C, hp, wp), np.nan)
    xp[:, :, pt:pt + H, pl:pl + W] = x
    region = np.zeros((hp, wp))
    region[:pt + H + pb, :pl + W + pr] = 1
    taps, counted = [], []
    for i in range(kh):
        for j in range(kw):
            rows = slice(i * dh, i * dh + (oh - 1) * sh + 1, sh)
            cols = slice(j * dw, j * dw + (ow - 1) * sw + 1, sw)
            taps.append(xp[:, :, rows, cols])
            counted.append(region[rows, cols])
    geometry = (oh, ow, pt, pl, hp, wp)
    return np.stack(taps, axis=-1), np.stack(counted, axis=-1), geometry


def np_max_pool(x, cfg):
    taps, _, _ = window_taps(np.asarray(x, np.float64), cfg)
    empty = np.all(np.isnan(taps), axis=-1)
    return np.where(empty, LOWEST, np.nanmax(np.where(empty[..., None], 0.0, taps), axis=-1))


def avg_counts(taps, in_padded, include_pad):
    return np.broadcast_to(in_padded.sum(-1), taps.shape[:-1]) if include_pad else \
        (~np.isnan(taps)).sum(-1)


def np_avg_pool(x, cfg, include_pad):
    taps, in_padded, _ = window_taps(np.asarray(x, np.float64), cfg)
    count = avg_counts(taps, in_padded, include_pad)
    return np.where(count > 0, np.nansum(taps, axis=-1) / np.maximum(count, 1), 0.0)


def np_pool_backward(dy, x, cfg, kind, include_pad=False):
    """dx in float64: dy routed to the first maximum of each window, or spread as dy/count."""
    x = np.asarray(x, np.float64)
    dy = np.asarray(dy, np.float64)
    taps, in_padded, (oh, ow, pt, pl, hp, wp) = window_taps(x, cfg)
    inside = ~np.isnan(taps)
    if kind == "max":
        first = np.argmax(np.where(inside, taps, -np.inf), axis=-1)  # first max in scan order
        share = (np.arange(taps.shape[-1]) == first[..., None]) & inside
        share = share * dy[..., None]
    else:
        count = avg_counts(taps, in_padded, include_pad)
        share = inside * (dy / np.maximum(count, 1))[..., None]
    kh, kw = cfg["k"]
    sh, sw = cfg["s"]
    dh, dw = cfg["d"]
    gp = np.zeros(x.shape[:2] + (hp, wp))
    for i in range(kh):
        for j in range(kw):
            rows = slice(i * dh, i * dh + (oh - 1) * sh + 1, sh)
            cols = slice(j * dw, j * dw + (ow - 1) * sw + 1, sw)
            gp[:, :, rows, cols] += share[..., i * kw + j]
    H, W = x.shape[2:]
    return gp[:, :, pt:pt + H, pl:pl + W]


# ---- the case table -----------------------------------------------------------------------

def case(shape, k, s=1, pads=0, d=1, auto_pad="NOTSET", ceil=False):
    pair = lambda v: tuple(v) if isinstance(v, (tuple, list)) else (v, v)
    pads = tuple(pads) if isinstance(pads, (tuple, list)) else (pads,) * 4
    return {"shape": shape, "k": pair(k), "s": pair(s), "pads": pads, "d": pair(d),
            "auto_pad": auto_pad, "ceil": ceil}


def case_id(c):
    short = lambda v: str(v[0]) if len(set(v)) == 1 else "x".join(map(str, v))
    n, ch, h, w = c["shape"]
    parts = [f"N{n}C{ch}H{h}W{w}", f"k{short(c['k'])}s{short(c['s'])}p{short(c['pads'])}"]
    if c["d"] != (1, 1):
        parts[-1] += f"d{short(c['d'])}"
    if c["auto_pad"] != "NOTSET":
        parts.append(c["auto_pad"].lower())
    if c["ceil"]:
        parts.append("ceil")
    return "-".join(parts)


CASES = [
    case((2, 3, 7, 5), 3, 2, 1, ceil=True),
    case((2, 3, 7, 5), 3, 2, 1),
    case((1, 2, 9, 7), 2, 2),
    case((1, 2, 9, 7), 2, 2, ceil=True),
    case((2, 2, 8, 11), (3, 2), (1, 3), (0, 1, 2, 1)),
    case((1, 3, 13, 7), 3, 3, (1, 0, 1, 2), ceil=True),
    case((1, 2, 6, 5), 3, 1, 2),
    case((1, 2, 11, 9), 3, 1, 1, d=2),
    case((1, 2, 12, 10), (2, 3), (2, 1), (1, 1, 0, 1), d=(2, 3), ceil=True),
    case((2, 2, 7, 7), 3, 2, auto_pad="SAME_UPPER"),
    case((2, 2, 7, 8), (4, 3), (3, 2), auto_pad="SAME_LOWER"),
    case((1, 2, 9, 10), 3, 2, d=2, auto_pad="SAME_UPPER"),
    case((1, 2, 6, 9), 2, 2, auto_pad="VALID"),
    case((1, 3, 5, 5), 5),
    case((1, 1, 1, 1), 1),
    case((2, 3, 33, 13), 3, 2, 1, ceil=True),
    case((1, 4, 17, 19), 2, 3, (0, 1, 1, 0), ceil=True),
    case((4, 16, 33, 13), 3, 2, (1, 2, 1, 0)),  # enough planes to split across threads
]
CASE_IDS = [case_id(c) for c in CASES]


def attrs(c):
    return dict(kernel_shape=c["k"], strides=c["s"], pads=c["pads"], auto_pad=c["auto_pad"],
                ceil_mode=c["ceil"], dilations=c["d"])


def distinct(rng, shape):
    """float32 values with no ties (gaps of 0.01 or more), so every window has one maximum."""
    n = int(np.prod(shape))
    return ((rng.permutation(n) - n / 2) * 0.01).reshape(shape).astype(np.float32)


# ---- forward ------------------------------------------------------------------------------

@pytest.mark.parametrize("c", CASES, ids=CASE_IDS)
def test_max_pool_forward_matches_numpy(c, rng, kernel_impl):
    x = rng.standard_normal(c["shape"]).astype(np.float32)
    assert_close(ops.max_pool2d(x, **attrs(c)), np_max_pool(x, c), ELEMENTWISE_RTOL)


@pytest.mark.parametrize("include_pad", [False, True], ids=["exclude_pad", "include_pad"])
@pytest.mark.parametrize("c", CASES, ids=CASE_IDS)
def test_avg_pool_forward_matches_numpy(c, include_pad, rng, kernel_impl):
    x = rng.standard_normal(c["shape"]).astype(np.float32)
    y = ops.avg_pool2d(x, count_include_pad=include_pad, **attrs(c))
    assert_close(y, np_avg_pool(x, c, include_pad), REDUCTION_RTOL)


def test_strides_default_to_one(rng):
    x = rng.standard_normal((1, 2, 7, 6)).astype(np.float32)
    assert ops.max_pool2d(x, (3, 2)).shape == (1, 2, 5, 5)
    assert_close(ops.avg_pool2d(x, (3, 2)), np_avg_pool(x, case(x.shape, (3, 2)), False))


def test_ceil_mode_overhang_is_never_counted(kernel_impl):
    # H = W = 6, k3 s2, pads top/left 1: the last window reaches one row past the input,
    # where there is no padding; that row does not count even with count_include_pad.
    x = np.ones((1, 1, 6, 6), np.float32)
    y = ops.avg_pool2d(x, (3, 3), (2, 2), (1, 1, 0, 0), ceil_mode=True, count_include_pad=True)
    expected = np.array([[4 / 9, 6 / 9, 6 / 9], [6 / 9, 1, 1], [6 / 9, 1, 1]])
    assert_close(y[0, 0], expected, ELEMENTWISE_RTOL)


def test_window_without_input_taps(kernel_impl):
    # Dilation 3 with pads 1: the first window's taps land at -1 and 2, both outside H = 2.
    x = np.arange(1, 5, dtype=np.float32).reshape(1, 1, 2, 2)
    kw = dict(kernel_shape=(2, 2), pads=(1, 1, 1, 1), dilations=(3, 3))
    assert ops.max_pool2d(x, **kw).item() == LOWEST
    assert ops.avg_pool2d(x, **kw).item() == 0.0
    assert np.all(ops.max_pool2d_backward(np.ones((1, 1, 1, 1), np.float32), x, **kw) == 0)
    assert np.all(ops.avg_pool2d_backward(np.ones((1, 1, 1, 1), np.float32), x, **kw) == 0)


@pytest.mark.parametrize("shape", [(2, 3, 7, 5), (1, 13, 33, 1), (3, 2, 1, 1)], ids=str)
def test_global_avg_pool_matches_numpy(shape, rng, kernel_impl):
    x = rng.standard_normal(shape).astype(np.float32)
    y = ops.global_avg_pool2d(x)
    assert_close(y, x.astype(np.float64).mean(axis=(2, 3), keepdims=True), REDUCTION_RTOL)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    expected = np.broadcast_to(dy.astype(np.float64) / (shape[2] * shape[3]), shape)
    assert_close(ops.global_avg_pool2d_backward(dy, x), expected, ELEMENTWISE_RTOL)


# ---- backward -----------------------------------------------------------------------------

TINY = [
    case((1, 2, 5, 4), 2, 1),
    case((1, 1, 5, 6), 3, 2, 1, ceil=True),
    case((2, 1, 6, 5), (2, 3), (2, 1), (1, 0, 0, 2), d=(2, 1)),
    case((1, 2, 4, 5), 3, 2, auto_pad="SAME_LOWER"),
    case((1, 1, 7, 6), 2, 3, (1, 1, 0, 0), ceil=True),
]


@pytest.mark.parametrize("c", TINY, ids=[case_id(c) for c in TINY])
def test_max_pool_backward_matches_finite_differences(c, rng, kernel_impl):
    x = distinct(rng, c["shape"])
    dy = rng.standard_normal(np_max_pool(x, c).shape).astype(np.float32)
    (numeric,) = numeric_grads(lambda v: np_max_pool(v, c), [x], dy)
    assert_close(ops.max_pool2d_backward(dy, x, **attrs(c)), numeric, REDUCTION_RTOL, "dx")


@pytest.mark.parametrize("include_pad", [False, True], ids=["exclude_pad", "include_pad"])
@pytest.mark.parametrize("c", TINY, ids=[case_id(c) for c in TINY])
def test_avg_pool_backward_matches_finite_differences(c, include_pad, rng, kernel_impl):
    x = rng.standard_normal(c["shape"]).astype(np.float32)
    dy = rng.standard_normal(np_avg_pool(x, c, include_pad).shape).astype(np.float32)
    (numeric,) = numeric_grads(lambda v: np_avg_pool(v, c, include_pad), [x], dy)
    dx = ops.avg_pool2d_backward(dy, x, count_include_pad=include_pad, **attrs(c))
    assert_close(dx, numeric, REDUCTION_RTOL, "dx")


def test_global_avg_pool_backward_matches_finite_differences(rng, kernel_impl):
    x = rng.standard_normal((2, 3, 3, 5)).astype(np.float32)
    dy = rng.standard_normal((2, 3, 1, 1)).astype(np.float32)
    (numeric,) = numeric_grads(lambda v: v.mean(axis=(2, 3), keepdims=True), [x], dy)
    assert_close(ops.global_avg_pool2d_backward(dy, x), numeric, REDUCTION_RTOL, "dx")


@pytest.mark.parametrize("c", CASES, ids=CASE_IDS)
def test_max_pool_backward_matches_numpy(c, rng, kernel_impl):
    x = distinct(rng, c["shape"])
    dy = rng.standard_normal(np_max_pool(x, c).shape).astype(np.float32)
    expected = np_pool_backward(dy, x, c, "max")
    assert_close(ops.max_pool2d_backward(dy, x, **attrs(c)), expected, ELEMENTWISE_RTOL, "dx")


@pytest.mark.parametrize("include_pad", [False, True], ids=["exclude_pad", "include_pad"])
@pytest.mark.parametrize("c", CASES, ids=CASE_IDS)
def test_avg_pool_backward_matches_numpy(c, include_pad, rng, kernel_impl):
    x = rng.standard_normal(c["shape"]).astype(np.float32)
    dy = rng.standard_normal(np_avg_pool(x, c, include_pad).shape).astype(np.float32)
    expected = np_pool_backward(dy, x, c, "average", include_pad)
    dx = ops.avg_pool2d_backward(dy, x, count_include_pad=include_pad, **attrs(c))
    assert_close(dx, expected, REDUCTION_RTOL, "dx")


def test_max_pool_ties_go_to_the_first_maximum(kernel_impl):
    x = np.zeros((1, 1, 3, 4), np.float32)
    x[0, 0, 1, 1:3] = 1.0  # two equal maxima in the same 2x3 window
    dx = ops.max_pool2d_backward(np.ones((1, 1, 1, 1), np.float32), x, (2, 3), (2, 2),
                                 (0, 0, 0, 0))
    expected = np.zeros_like(x)
    expected[0, 0, 1, 1] = 1.0
    np.testing.assert_array_equal(dx, expected)


# ---- onnxruntime ----------------------------------------------------------------------------

def one_node_model(op, x, opset, outputs=("y",), **attributes):
    pytest.importorskip("onnx", reason="onnx is needed to build reference models")
    from onnx import TensorProto, helper

    node = helper.make_node(op, ["x"], list(outputs), **attributes)
    out_types = {"y": TensorProto.FLOAT, "indices": TensorProto.INT64}
    graph = helper.make_graph(
        [node], op, [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x.shape))],
        [helper.make_tensor_value_info(o, out_types[o], None) for o in outputs])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                             ir_version=10)


def run_onnx(op, x, opset, outputs=("y",), **attributes):
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is the reference runtime")
    model = one_node_model(op, x, opset, outputs, **attributes)
    session = ort.InferenceSession(model.SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    result = session.run(None, {"x": x})
    return result if len(outputs) > 1 else result[0]


def onnx_attrs(c):
    out = dict(kernel_shape=list(c["k"]), strides=list(c["s"]), ceil_mode=int(c["ceil"]))
    if c["auto_pad"] == "NOTSET":
        out["pads"] = list(c["pads"])
    else:
        out["auto_pad"] = c["auto_pad"]
    if c["d"] != (1, 1):
        out["dilations"] = list(c["d"])
    return out


# onnxruntime requires every pad to be smaller than the kernel, and sizes SAME padding
# from the undilated kernel (9 rows, k3 d2 s2 give it 4 outputs, not ceil(9 / 2) = 5).
ORT_CASES = [c for c in CASES if max(c["pads"][::2]) < c["k"][0] and
             max(c["pads"][1::2]) < c["k"][1] and
             not (c["auto_pad"].startswith("SAME") and c["d"] != (1, 1))]
ORT_IDS = [case_id(c) for c in ORT_CASES]


@pytest.mark.parametrize("c", ORT_CASES, ids=ORT_IDS)
def test_max_pool_matches_onnxruntime(c, rng):
    x = rng.standard_normal(c["shape"]).astype(np.float32)
    expected = run_onnx("MaxPool", x, 17, **onnx_attrs(c))
    assert_close(ops.max_pool2d(x, **attrs(c)), expected, ELEMENTWISE_RTOL)


@pytest.mark.parametrize("include_pad", [False, True], ids=["exclude_pad", "include_pad"])
@pytest.mark.parametrize("c", ORT_CASES, ids=ORT_IDS)
def test_avg_pool_matches_onnxruntime(c, include_pad, rng):
    x = rng.standard_normal(c["shape"]).astype(np.float32)
    opset = 19 if c["d"] != (1, 1) else 17
    expected = run_onnx("AveragePool", x, opset, count_include_pad=int(include_pad),
                        **onnx_attrs(c))
    y = ops.avg_pool2d(x, count_include_pad=include_pad, **attrs(c))
    assert_close(y, expected, REDUCTION_RTOL)


def test_global_avg_pool_matches_onnxruntime(rng):
    x = rng.standard_normal((2, 5, 7, 9)).astype(np.float32)
    assert_close(ops.global_avg_pool2d(x), run_onnx("GlobalAveragePool", x, 17), REDUCTION_RTOL)


@pytest.mark.parametrize("c", [CASES[0], CASES[4], CASES[8]], ids=[CASE_IDS[i] for i in (0, 4, 8)])
def test_max_pool_backward_follows_onnxruntime_indices(c, rng, kernel_impl):
    # Few distinct values: many ties, which must go where onnxruntime's Indices point.
    x = rng.integers(0, 3, c["shape"]).astype(np.float32)
    y, indices = run_onnx("MaxPool", x, 17, outputs=("y", "indices"), **onnx_attrs(c))
    dy = rng.standard_normal(y.shape).astype(np.float32)
    expected = np.zeros(x.size)
    np.add.at(expected, indices.ravel(), dy.astype(np.float64).ravel())
    dx = ops.max_pool2d_backward(dy, x, **attrs(c))
    assert_close(dx, expected.reshape(x.shape), ELEMENTWISE_RTOL, "dx")


@pytest.mark.parametrize("shape,k,order", [((2, 3, 7, 5), [3, 2], 0), ((2, 3, 7, 5), [3, 2], 1),
                                           ((2, 3, 13), [3], 0), ((2, 3, 13), [3], 1)],
                         ids=["2d", "2d-column-major", "1d", "1d-column-major"])
def test_imported_max_pool_indices_match_onnxruntime(shape, k, order, rng):
    # Ties included; a 1-D MaxPool runs as the 2-D one over [N, C, 1, L].
    import engine
    x = rng.integers(0, 4, shape).astype(np.float32)
    attrs = dict(kernel_shape=k, strides=[2] * len(k), pads=[1] * 2 * len(k), storage_order=order)
    want = run_onnx("MaxPool", x, 17, outputs=("y", "indices"), **attrs)
    model = one_node_model("MaxPool", x, 17, outputs=("y", "indices"), **attrs)
    got = engine.onnx.InferenceSession(model.SerializeToString()).run(None, {"x": x})
    for g, w in zip(got, want):
        assert g.dtype == w.dtype
        np.testing.assert_array_equal(g, w)


# ---- bad input ------------------------------------------------------------------------------

def test_bad_inputs_raise_clear_errors():
    x = np.ones((1, 2, 5, 5), np.float32)
    with pytest.raises(ValueError, match=r"MaxPool: x must be 4-D .* float32\[2, 5, 5\]"):
        ops.max_pool2d(x[0], (2, 2))
    with pytest.raises(ValueError, match="AveragePool: the kernel_shape attribute is required"):
        ops.avg_pool2d(x, None)
    with pytest.raises(ValueError, match="kernel_shape must have 2 values"):
        ops.max_pool2d(x, (2, 2, 2))
    with pytest.raises(ValueError, match=r"MaxPool: the height window .* larger than the padded"):
        ops.max_pool2d(x, (7, 2), pads=(0, 0, 1, 0))
    with pytest.raises(ValueError, match=r"AveragePool: strides must be positive, got \[0, 1\]"):
        ops.avg_pool2d(x, (2, 2), strides=(0, 1))
    with pytest.raises(ValueError, match=r"MaxPool: pads must be non-negative"):
        ops.max_pool2d(x, (2, 2), pads=(0, -1, 0, 0))
    with pytest.raises(ValueError, match="MaxPool: dilations must be positive"):
        ops.max_pool2d(x, (2, 2), dilations=(1, 0))
    with pytest.raises(ValueError, match="unknown auto_pad 'SAME'"):
        ops.max_pool2d(x, (2, 2), auto_pad="SAME")
    with pytest.raises(ValueError, match="conflict with auto_pad"):
        ops.max_pool2d(x, (2, 2), pads=(1, 1, 1, 1), auto_pad="SAME_UPPER")
    with pytest.raises(TypeError, match="MaxPool: x must be a float32"):
        ops.max_pool2d(x.astype(np.float64), (2, 2))
    with pytest.raises(TypeError, match="AveragePool: x must be float32, got int64"):
        ops.avg_pool2d(x.astype(np.int64), (2, 2))
    with pytest.raises(ValueError, match="C-contiguous"):
        ops.max_pool2d(np.ones((1, 2, 5, 6), np.float32)[..., ::2], (2, 2))
    with pytest.raises(ValueError, match=r"MaxPool_backward: dy float32\[1, 2, 3, 3\] does not"):
        ops.max_pool2d_backward(np.ones((1, 2, 3, 3), np.float32), x, (2, 2))
    with pytest.raises(ValueError, match="GlobalAveragePool: x must be 4-D"):
        ops.global_avg_pool2d(np.ones((2, 5), np.float32))
    with pytest.raises(ValueError, match="GlobalAveragePool_backward: dy"):
        ops.global_avg_pool2d_backward(np.ones((1, 2, 2, 1), np.float32), x)
    with pytest.raises(TypeError, match="kernel_shape must be a list of integers"):
        ops.max_pool2d(x, (2.0, 2))
