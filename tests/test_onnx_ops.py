"""The ops ONNX import needs: LRN, Sum, Unsqueeze, Squeeze. Forward vs float64 numpy,
backward vs finite differences (tiny shapes) and an independent numpy backward (odd shapes),
optimized vs reference kernels, and bad input."""
import numpy as np
import pytest

from engine import _core, ops
from helpers import ELEMENTWISE_RTOL, REDUCTION_RTOL, assert_close, numeric_grads, randn


# ---- LRN ---------------------------------------------------------------------------------

def lrn_ref(x, size, alpha, beta, bias):
    """ONNX's LRN formula in float64: window [c - floor((size-1)/2), c + ceil((size-1)/2)]."""
    x = np.asarray(x, np.float64)
    c = x.shape[1]
    lo, hi = (size - 1) // 2, (size - 1) - (size - 1) // 2
    sq = np.zeros_like(x)
    for k in range(c):
        sq[:, k] = np.sum(x[:, max(0, k - lo):min(c, k + hi + 1)] ** 2, axis=1)
    return x / (bias + alpha / size * sq) ** beta


def lrn_backward_ref(dy, x, size, alpha, beta, bias):
    """The chain rule written out per channel pair (independent of the kernels' form)."""
    x = np.asarray(x, np.float64)
    dy = np.asarray(dy, np.float64)
    c = x.shape[1]
    lo, hi = (size - 1) // 2, (size - 1) - (size - 1) // 2
    s = bias + alpha / size * np.stack(
        [np.sum(x[:, max(0, k - lo):min(c, k + hi + 1)] ** 2, axis=1) for k in range(c)], axis=1)
    dx = dy * s ** -beta
    for k in range(c):  # output channel k depends on x[j] for j in its window
        for j in range(max(0, k - lo), min(c, k + hi + 1)):
            dx[:, j] += dy[:, k] * x[:, k] * (-beta) * s[:, k] ** (-beta - 1) * alpha / size * 2 * x[:, j]
    return dx


LRN_CASES = [((2, 7, 5, 3), 5, 1e-4, 0.75, 1.0), ((3, 13, 9), 3, 0.02, 0.5, 2.0),
             ((1, 33, 7, 13), 4, 0.1, 0.75, 1.5), ((2, 5), 1, 0.3, 1.0, 1.0),
             ((2, 3, 257), 7, 0.5, 0.6, 0.8)]


def _lrn_id(case):
    return "x".join(map(str, case[0])) + f"-size{case[1]}"


@pytest.mark.parametrize("case", LRN_CASES, ids=_lrn_id)
def test_lrn_forward_matches_numpy(case, rng, kernel_impl):
    shape, size, alpha, beta, bias = case
    x = randn(rng, *shape, scale=2.0)
    assert_close(ops.lrn(x, size, alpha, beta, bias), lrn_ref(x, size, alpha, beta, bias), ELEMENTWISE_RTOL)


@pytest.mark.parametrize("case", LRN_CASES, ids=_lrn_id)
def test_lrn_backward_matches_numpy(case, rng, kernel_impl):
    shape, size, alpha, beta, bias = case
    x = randn(rng, *shape, scale=2.0)
    dy = randn(rng, *shape)
    assert_close(ops.lrn_backward(dy, x, size, alpha, beta, bias),
                 lrn_backward_ref(dy, x, size, alpha, beta, bias), REDUCTION_RTOL, "dx")


@pytest.mark.parametrize("size", [1, 2, 3, 5])
def test_lrn_backward_matches_finite_differences(size, rng, kernel_impl):
    x = randn(rng, 2, 5, 3, scale=2.0)
    dy = randn(rng, 2, 5, 3)
    (numeric,) = numeric_grads(lambda v: lrn_ref(v, size, 0.2, 0.75, 1.0), [x], dy)
    assert_close(ops.lrn_backward(dy, x, size, 0.2, 0.75, 1.0), numeric, REDUCTION_RTOL, "dx")


def test_lrn_optimized_matches_reference_across_threads(rng):
    x = randn(rng, 3, 11, 13, 29, scale=3.0)  # 377 positions: blocks end mid-row
    dy = randn(rng, *x.shape)
    results = {}
    for impl in ("reference", "optimized"):
        _core.set_reference_kernels(impl == "reference")
        try:
            results[impl] = (ops.lrn(x, 5, 1e-2, 0.75, 1.0), ops.lrn_backward(dy, x, 5, 1e-2, 0.75, 1.0))
        finally:
            _core.set_reference_kernels(False)
    for a, b in zip(results["optimized"], results["reference"]):
        assert_close(a, b, REDUCTION_RTOL)


@pytest.mark.parametrize("args, match", [
    (((7,), 3), "channel axis"), (((2, 3), 0), "size must be >= 1"),
    (((2, 3), 3, 1e-4, 0.75, 0.0), "bias must be > 0"),
    (((2, 3), 3, float("nan")), "finite"),
])
def test_lrn_rejects_bad_arguments(args, match):
    shape, *attrs = args
    with pytest.raises(ValueError, match="LRN.*" + match):
        ops.lrn(np.ones(shape, np.float32), *attrs)


def test_lrn_rejects_bad_dtypes_and_layouts():
    with pytest.raises(TypeError, match="LRN"):
        ops.lrn(np.ones((2, 3), np.float64), 3)
    with pytest.raises(TypeError, match="size"):
        ops.lrn(np.ones((2, 3), np.float32), 2.5)
    with pytest.raises(ValueError, match="LRN"):
        ops.lrn(np.ones((4, 6), np.float32)[:, ::2], 3)
    with pytest.raises(ValueError, match="LRN_backward: dy"):
        ops.lrn_backward(np.ones((2, 4), np.float32), np.ones((2, 3), np.float32), 3)


# ---- Sum ---------------------------------------------------------------------------------

SUM_SHAPES = [[(7,)], [(13, 33), (13, 33)], [(7, 1, 5), (3, 1), (1, 5), (5,)],
              [(2, 3, 4), (3, 4), (2, 3, 4), (1,)], [(1, 257), (33, 1)]]


def _sum_id(shapes):
    return "+".join("x".join(map(str, s)) for s in shapes)


@pytest.mark.parametrize("shapes", SUM_SHAPES, ids=_sum_id)
def test_sum_forward_matches_numpy(shapes, rng, kernel_impl):
    xs = [randn(rng, *s) for s in shapes]
    ref = np.zeros(())
    for x in xs:
        ref = ref + x.astype(np.float64)
    assert_close(ops.sum(xs), ref, ELEMENTWISE_RTOL)


@pytest.mark.parametrize("shapes", SUM_SHAPES, ids=_sum_id)
def test_sum_backward_reduces_over_broadcast_axes(shapes, rng, kernel_impl):
    xs = [randn(rng, *s) for s in shapes]
    y = ops.sum(xs)
    dy = randn(rng, *y.shape)
    grads = ops.sum_backward(dy, xs)
    assert len(grads) == len(xs)
    for x, g in zip(xs, grads):
        d = dy.astype(np.float64)
        lead = d.ndim - x.ndim
        d = d.sum(axis=tuple(range(lead)))
        d = d.sum(axis=tuple(k for k, n in enumerate(x.shape) if n == 1 and d.shape[k] != 1), keepdims=True)
        assert_close(g, d.reshape(x.shape), REDUCTION_RTOL, "dx")


def test_sum_backward_matches_finite_differences(rng, kernel_impl):
    xs = [randn(rng, 2, 3), randn(rng, 3), randn(rng, 2, 1)]
    dy = randn(rng, 2, 3)
    numeric = numeric_grads(lambda a, b, c: a + b + c, xs, dy)
    for g, n in zip(ops.sum_backward(dy, xs), numeric):
        assert_close(g, n, REDUCTION_RTOL)


def test_sum_rejects_bad_input():
    with pytest.raises(ValueError, match="Sum: needs at least one input"):
        ops.sum([])
    with pytest.raises(ValueError, match=r"Sum.*\[2, 3\].*\[4\]"):
        ops.sum([np.ones((2, 3), np.float32), np.ones((4,), np.float32)])
    with pytest.raises(TypeError, match="Sum: input 1"):
        ops.sum([np.ones(3, np.float32), np.ones(3, np.int64)])
    with pytest.raises(ValueError, match="Sum_backward: dy"):
        ops.sum_backward(np.ones(4, np.float32), [np.ones(3, np.float32)])


# ---- Unsqueeze / Squeeze --------------------------------------------------------------------

@pytest.mark.parametrize("shape, axes, expected", [
    ((3, 5), [0], (1, 3, 5)), ((3, 5), [-1], (3, 5, 1)), ((3, 5), [1, 3], (3, 1, 5, 1)),
    ((7,), [2, 0], (1, 7, 1)), ((), [0], (1,)), ((2, 0), [1], (2, 1, 0))])
def test_unsqueeze(shape, axes, expected, rng):
    x = randn(rng, *shape)
    y = ops.unsqueeze(x, axes)
    assert y.shape == expected and ops.unsqueeze_output_shape(shape, axes) == expected
    np.testing.assert_array_equal(y.reshape(-1), x.reshape(-1))
    dy = randn(rng, *expected)
    np.testing.assert_array_equal(ops.unsqueeze_backward(dy, x, axes), dy.reshape(shape))


@pytest.mark.parametrize("shape, axes, expected", [
    ((1, 3, 1, 5), [0], (3, 1, 5)), ((1, 3, 1, 5), [-2, 0], (3, 5)), ((1, 3, 1, 5), None, (3, 5)),
    ((1,), [0], ()), ((7, 1), [], (7,))])
def test_squeeze(shape, axes, expected, rng):
    x = randn(rng, *shape)
    y = ops.squeeze(x, axes)
    assert y.shape == expected and ops.squeeze_output_shape(shape, axes) == expected
    np.testing.assert_array_equal(y.reshape(-1), x.reshape(-1))
    np.testing.assert_array_equal(ops.squeeze_backward(y, x, axes), x)


def test_squeeze_and_unsqueeze_take_int64():
    x = np.arange(6, dtype=np.int64).reshape(2, 3)
    np.testing.assert_array_equal(ops.squeeze(ops.unsqueeze(x, [1]), [1]), x)


@pytest.mark.parametrize("fn, shape, axes, match", [
    (ops.unsqueeze, (3, 5), [3], r"Unsqueeze: axis 3 out of range \[-3, 2\]"),
    (ops.unsqueeze, (3, 5), [1, 1], "repeat"),
    (ops.unsqueeze, (3, 5), [-1, 3], "repeat"),
    (ops.squeeze, (1, 3), [1], "axis 1 of input \\[1, 3\\] has size 3"),
    (ops.squeeze, (1, 3), [2], "out of range"),
    (ops.squeeze, (1, 1), [0, -2], "repeat"),
])
def test_squeeze_and_unsqueeze_reject_bad_axes(fn, shape, axes, match):
    with pytest.raises(ValueError, match=match):
        fn(np.ones(shape, np.float32), axes)


def test_squeeze_rejects_non_contiguous():
    with pytest.raises(ValueError, match="Squeeze"):
        ops.squeeze(np.ones((4, 1, 6), np.float32)[:, :, ::2], [1])


# ---- the graph adapters --------------------------------------------------------------------

def _run(nodes, inputs, outputs, inits=None, training=False, grads_of=None, seed=None):
    g = _core.Graph()
    for name, arr in inputs.items():
        g.add_input(name, arr.shape, str(arr.dtype))
    for name, arr in (inits or {}).items():
        g.set_initializer(name, arr, False)
    for n in nodes:
        g.add_node(*n)
    for o in outputs:
        g.add_output(o)
    ex = _core.Executor(g)
    out = ex.run(list(inputs.values()), training)
    if grads_of is None:
        return out
    return out, ex.gradients(list(inputs.values()), grads_of, seed, training)


def test_graph_nodes_run_forward_and_backward(rng):
    x = randn(rng, 2, 6, 3, 4)
    b = randn(rng, 6, 1, 1)
    nodes = [("LRN", ["x"], ["l"], {"size": 3, "alpha": 0.1, "beta": 0.75, "bias": 1.0}),
             ("Unsqueeze", ["l", "ax"], ["u"], {}),
             ("Squeeze", ["u", "ax"], ["s"], {}),
             ("Sum", ["s", "x", "b"], ["y"], {})]
    inits = {"ax": np.array([0, 3], np.int64)}
    dy = randn(rng, 2, 6, 3, 4)
    (y,), grads = _run(nodes, {"x": x, "b": b}, ["y"], inits, grads_of="y", seed=dy)
    assert_close(y, lrn_ref(x, 3, 0.1, 0.75, 1.0) + x + b, ELEMENTWISE_RTOL)
    assert_close(grads["x"], lrn_backward_ref(dy, x, 3, 0.1, 0.75, 1.0) + dy, REDUCTION_RTOL)
    assert_close(grads["b"], dy.astype(np.float64).sum(axis=(0, 2, 3)).reshape(6, 1, 1), REDUCTION_RTOL)


def test_graph_nodes_reject_bad_attributes(rng):
    x = randn(rng, 2, 3)
    with pytest.raises(ValueError, match="LRN.*size attribute is required"):
        _run([("LRN", ["x"], ["y"], {})], {"x": x}, ["y"])
    with pytest.raises(ValueError, match="Squeeze.*axes input must be a constant"):
        _run([("Squeeze", ["x", "x"], ["y"], {})], {"x": x}, ["y"])
    with pytest.raises(TypeError, match="Unsqueeze.*axes input must be int64"):
        _run([("Unsqueeze", ["x", "a"], ["y"], {})], {"x": x}, ["y"], {"a": np.ones(1, np.float32)})


def test_softmax_node_coerces_to_2d_for_old_opsets(rng):
    x = randn(rng, 2, 3, 4)
    (y,) = _run([("Softmax", ["x"], ["y"], {"engine_coerce_2d": 1, "axis": 1})], {"x": x}, ["y"])
    flat = x.reshape(2, 12).astype(np.float64)
    ref = np.exp(flat - flat.max(1, keepdims=True))
    assert_close(y, (ref / ref.sum(1, keepdims=True)).reshape(x.shape), ELEMENTWISE_RTOL)
    (y,) = _run([("LogSoftmax", ["x"], ["y"], {"engine_coerce_2d": 1, "axis": 2})], {"x": x}, ["y"])
    ref = x.astype(np.float64) - np.log(np.exp(x.astype(np.float64)).sum(2, keepdims=True))
    assert_close(y, ref, ELEMENTWISE_RTOL)
