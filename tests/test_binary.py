"""Add, Sub, Mul, Div with broadcasting: forward vs numpy float64, backward vs finite
differences and numpy reductions."""
import numpy as np
import pytest

from engine import _core, ops
from helpers import ELEMENTWISE_RTOL, REDUCTION_RTOL, assert_close, numeric_grads

# name -> (forward, backward, float64 reference, d/da, d/db)
OPS = {
    "add": (ops.add, ops.add_backward, np.add, lambda a, b: np.ones_like(a * b),
            lambda a, b: np.ones_like(a * b)),
    "sub": (ops.sub, ops.sub_backward, np.subtract, lambda a, b: np.ones_like(a * b),
            lambda a, b: -np.ones_like(a * b)),
    "mul": (ops.mul, ops.mul_backward, np.multiply, lambda a, b: b + 0 * a,
            lambda a, b: a + 0 * b),
    "div": (ops.div, ops.div_backward, np.divide, lambda a, b: 1 / b + 0 * a,
            lambda a, b: -a / b**2),
}

PAIRS = [
    ((7, 13), (13,)),
    ((13,), (7, 13)),
    ((2, 3, 7, 5), (3, 1, 1)),
    ((3, 1, 1), (2, 3, 7, 5)),
    ((1,), (4, 5)),
    ((5, 1, 3), (1, 4, 1)),
    ((2, 1, 7, 1), (1, 3, 1, 5)),
    ((257, 33), (257, 1)),
    ((6, 1), (1, 7)),
    ((), ()),
    ((), (3, 4)),
    ((33, 257), ()),
    ((4, 5), (4, 5)),
    ((2, 3, 1, 1), (2, 3, 7, 5)),
    ((1, 1, 13), (7, 1, 1)),
    ((65, 257), (65, 257)),
    ((3, 129, 65), (129, 1)),
]


def pair_id(pair):
    return "&".join("x".join(map(str, s)) or "scalar" for s in pair)


def operands(rng, name, sa, sb):
    a = rng.standard_normal(sa)
    b = rng.standard_normal(sb)
    if name == "div":  # keep the divisor away from zero
        b = np.sign(b + 1e-9) * (0.5 + np.abs(b))
    return a.astype(np.float32), b.astype(np.float32)


def sum_to(g, shape):
    """Sums g over the axes that broadcasting added or stretched, giving `shape`."""
    g = g.sum(axis=tuple(range(g.ndim - len(shape))))
    return g.sum(axis=tuple(i for i, n in enumerate(shape) if n == 1), keepdims=True)


@pytest.mark.parametrize("name", sorted(OPS))
@pytest.mark.parametrize("pair", PAIRS, ids=[pair_id(p) for p in PAIRS])
def test_forward_matches_numpy(name, pair, rng, kernel_impl):
    fwd, _, ref, _, _ = OPS[name]
    a, b = operands(rng, name, *pair)
    assert_close(fwd(a, b), ref(a.astype(np.float64), b.astype(np.float64)), ELEMENTWISE_RTOL)


@pytest.mark.parametrize("name", sorted(OPS))
@pytest.mark.parametrize("pair", PAIRS, ids=[pair_id(p) for p in PAIRS])
def test_backward_matches_numpy(name, pair, rng, kernel_impl):
    _, bwd, ref, da_ref, db_ref = OPS[name]
    a, b = operands(rng, name, *pair)
    dy = rng.standard_normal(np.broadcast_shapes(*pair)).astype(np.float32)
    a64, b64, dy64 = (v.astype(np.float64) for v in (a, b, dy))
    da, db = bwd(dy, a, b)
    assert_close(da, sum_to(dy64 * da_ref(a64, b64), a.shape), REDUCTION_RTOL, "da")
    assert_close(db, sum_to(dy64 * db_ref(a64, b64), b.shape), REDUCTION_RTOL, "db")


TINY = [((3, 4), (4,)), ((2, 3, 2), (3, 1)), ((1, 3), (2, 1)), ((), (2, 3)), ((2, 2), (2, 2))]


@pytest.mark.parametrize("name", sorted(OPS))
@pytest.mark.parametrize("pair", TINY, ids=[pair_id(p) for p in TINY])
def test_backward_matches_finite_differences(name, pair, rng, kernel_impl):
    _, bwd, ref, _, _ = OPS[name]
    a, b = operands(rng, name, *pair)
    dy = rng.standard_normal(np.broadcast_shapes(*pair)).astype(np.float32)
    num_a, num_b = numeric_grads(ref, [a, b], dy)
    da, db = bwd(dy, a, b)
    assert_close(da, num_a, REDUCTION_RTOL, "da")
    assert_close(db, num_b, REDUCTION_RTOL, "db")


def test_one_gradient_can_be_skipped(rng, kernel_impl):
    a, b = operands(rng, "div", (7, 13), (13,))
    dy = rng.standard_normal((7, 13)).astype(np.float32)
    da, db = ops.div_backward(dy, a, b)
    only_a = _core.run_op_backward("Div", [a, b], [dy], need=[True, False])
    only_b = _core.run_op_backward("Div", [a, b], [dy], need=[False, True])
    assert only_a[1] is None and only_b[0] is None
    np.testing.assert_array_equal(only_a[0], da)
    np.testing.assert_array_equal(only_b[1], db)


def test_python_scalars_and_empty_arrays(kernel_impl):
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    assert_close(ops.mul(x, 2.0), x.astype(np.float64) * 2, ELEMENTWISE_RTOL)
    assert_close(ops.sub(1.5, x), 1.5 - x.astype(np.float64), ELEMENTWISE_RTOL)
    empty = np.ones((0, 3), np.float32)
    row = np.ones((3,), np.float32)
    assert ops.add(empty, row).shape == (0, 3)
    da, db = ops.mul_backward(empty, empty, row)
    assert da.shape == (0, 3)
    np.testing.assert_array_equal(db, np.zeros(3, np.float32))  # a sum of nothing


def test_bad_inputs_raise_clear_errors():
    a = np.ones((7, 13), np.float32)
    with pytest.raises(ValueError, match=r"Add: shapes \[7, 13\] and \[12\] cannot be broadcast"):
        ops.add(a, np.ones(12, np.float32))
    with pytest.raises(ValueError, match=r"Mul: shapes \[2, 3, 5\] and \[4, 1\] cannot"):
        ops.mul(np.ones((2, 3, 5), np.float32), np.ones((4, 1), np.float32))
    with pytest.raises(TypeError, match="Sub: b must be a float32"):
        ops.sub(a, np.ones(13, np.float64))
    with pytest.raises(TypeError, match="Div: a must be float32, got int64"):
        ops.div(a.astype(np.int64), a)
    with pytest.raises(ValueError, match="Add: a must be C-contiguous"):
        ops.add(np.ones((13, 7), np.float32).T, a)
    with pytest.raises(ValueError, match=r"Mul_backward: dy float32\[7, 12\] does not match"):
        ops.mul_backward(np.ones((7, 12), np.float32), a, a)
    with pytest.raises(ValueError, match=r"Div_backward: shapes \[7, 13\] and \[7\] cannot"):
        ops.div_backward(a, a, np.ones(7, np.float32))
    with pytest.raises(ValueError, match="unknown op Det"):
        _core.run_op("Det", [a])


@pytest.mark.parametrize("op", ["Max", "Min"])
def test_max_min_ties_and_nan_route_the_gradient_to_one_input(op, kernel_impl):
    """At a tie the whole gradient goes to a; a NaN input wins the forward and the gradient."""
    a = np.array([1.0, 2.0, np.nan, 0.5, 3.0], np.float32)
    b = np.array([1.0, 2.5, 0.0, np.nan, -3.0], np.float32)
    dy = np.array([1.0, 2.0, 3.0, 4.0, 5.0], np.float32)
    (y,), _ = _core.run_op(op, [a, b])
    want = np.maximum(a, b) if op == "Max" else np.minimum(a, b)
    np.testing.assert_array_equal(y, want)
    da, db = _core.run_op_backward(op, [a, b], [dy])
    a_wins = np.array([True, op == "Min", True, False, op == "Max"])
    np.testing.assert_array_equal(da, np.where(a_wins, dy, 0))
    np.testing.assert_array_equal(db, np.where(a_wins, 0, dy))


def test_pow_gradients_at_the_edges(kernel_impl):
    """0^0: da = 0 (not 0 * inf); db = 0 at a = 0 for b >= 0; db is NaN for a < 0, where the
    real power has no derivative in b (as PyTorch)."""
    a = np.array([0.0, 0.0, -2.0, 2.0], np.float32)
    b = np.array([0.0, 2.0, 2.0, 3.0], np.float32)
    (y,), _ = _core.run_op("Pow", [a, b])
    np.testing.assert_array_equal(y, [1.0, 0.0, 4.0, 8.0])
    da, db = _core.run_op_backward("Pow", [a, b], [np.ones(4, np.float32)])
    np.testing.assert_allclose(da, [0.0, 0.0, -4.0, 12.0], rtol=1e-6)
    np.testing.assert_allclose(db[[0, 1, 3]], [0.0, 0.0, 8.0 * np.log(2.0)], rtol=1e-6)
    assert np.isnan(db[2])
