"""Concat, Transpose, Reshape, Flatten, Identity and Dropout: forward vs numpy, backward vs
float64 finite differences and numpy, Transpose vs onnxruntime, errors."""
import numpy as np
import pytest

import engine
from engine import ops
from helpers import ELEMENTWISE_RTOL, assert_close, numeric_grads, randn


def exact(out, ref):
    """Data-movement ops copy bits: no tolerance."""
    out, ref = np.asarray(out), np.asarray(ref)
    assert out.shape == ref.shape and out.dtype == ref.dtype, (out.shape, ref.shape)
    assert np.array_equal(out, ref)


# ---- Concat ------------------------------------------------------------------------------

CONCAT_CASES = [  # (shapes, axis)
    ([(7,), (13,), (1,)], 0),
    ([(3, 7), (3, 13)], 1),
    ([(3, 7), (5, 7), (2, 7)], 0),
    ([(2, 3, 7, 5), (2, 13, 7, 5), (2, 1, 7, 5)], 1),
    ([(2, 3, 7, 5), (2, 3, 7, 33)], -1),
    ([(2, 3, 7, 5), (2, 3, 2, 5)], -2),
    ([(33, 9)], 1),
]
CONCAT_IDS = ["-".join("x".join(map(str, s)) for s in shapes) + f"-axis{axis}"
              for shapes, axis in CONCAT_CASES]


@pytest.mark.parametrize("shapes,axis", CONCAT_CASES, ids=CONCAT_IDS)
def test_concat_forward_and_backward_match_numpy(shapes, axis, rng, kernel_impl):
    xs = [randn(rng, *s) for s in shapes]
    exact(ops.concat(xs, axis), np.concatenate(xs, axis))
    assert ops.concat_output_shape(shapes, axis) == np.concatenate(xs, axis).shape
    dy = randn(rng, *np.concatenate(xs, axis).shape)
    splits = np.cumsum([s[axis] for s in shapes])[:-1]
    for got, ref in zip(ops.concat_backward(dy, shapes, axis), np.split(dy, splits, axis)):
        exact(got, ref)
    # The inputs themselves may stand for their shapes.
    for got, ref in zip(ops.concat_backward(dy, xs, axis), np.split(dy, splits, axis)):
        exact(got, ref)


def test_concat_int64(kernel_impl):
    a = np.arange(6, dtype=np.int64).reshape(2, 3)
    b = np.arange(4, dtype=np.int64).reshape(2, 2) - 9
    exact(ops.concat([a, b], 1), np.concatenate([a, b], 1))


def test_concat_backward_matches_finite_differences(rng, kernel_impl):
    xs = [randn(rng, 2, 3), randn(rng, 2, 1), randn(rng, 2, 2)]
    dy = randn(rng, 2, 6)
    numeric = numeric_grads(lambda *a: np.concatenate(a, 1), xs, dy)
    for got, ref in zip(ops.concat_backward(dy, xs, 1), numeric):
        assert_close(got, ref, ELEMENTWISE_RTOL)


def test_concat_errors():
    a = np.ones((2, 3), np.float32)
    with pytest.raises(ValueError, match=r"Concat: input 1 has shape \[3, 3\] .* only axis 1"):
        ops.concat([a, np.ones((3, 3), np.float32)], 1)
    with pytest.raises(ValueError, match="Concat: input 1 has shape"):
        ops.concat([a, np.ones((2, 3, 1), np.float32)], 0)
    with pytest.raises(ValueError, match="Concat: axis 2 out of range for rank 2"):
        ops.concat([a, a], 2)
    with pytest.raises(ValueError, match="Concat: axis -3 out of range"):
        ops.concat([a, a], -3)
    with pytest.raises(ValueError, match="at least one input"):
        ops.concat([], 0)
    with pytest.raises(ValueError, match="rank >= 1"):
        ops.concat([np.float32(1.0), np.float32(2.0)], 0)
    with pytest.raises(TypeError, match="Concat: input 1 is int64 but input 0 is float32"):
        ops.concat([a, a.astype(np.int64)], 0)
    with pytest.raises(TypeError, match="Concat: input 0 must be a float32 or int64"):
        ops.concat([a.astype(np.float64), a], 0)
    with pytest.raises(ValueError, match="C-contiguous"):
        ops.concat([a, np.ones((3, 2), np.float32).T], 0)
    with pytest.raises(ValueError, match="Concat_backward: dy .* does not match"):
        ops.concat_backward(np.ones((2, 5), np.float32), [(2, 3), (2, 3)], 1)


# ---- Transpose ---------------------------------------------------------------------------

TRANSPOSE_CASES = [  # (shape, perm)
    ((13, 33), None),
    ((257, 129), (1, 0)),
    ((7,), None),
    ((2, 3, 7, 5), (0, 2, 3, 1)),   # NCHW -> NHWC
    ((2, 7, 5, 3), (0, 3, 1, 2)),   # NHWC -> NCHW
    ((3, 7, 13), (1, 0, 2)),        # innermost axis stays innermost
    ((3, 7, 13), (2, 1, 0)),
    ((3, 1, 7, 1, 5), (4, 1, 0, 3, 2)),  # size-1 axes
    ((2, 3, 4, 5, 7), (3, 0, 4, 2, 1)),
    ((2, 3, 5, 7), (0, 1, 2, 3)),   # identity permutation
    ((33, 65, 3), (2, 0, 1)),
]
TRANSPOSE_IDS = ["x".join(map(str, s)) + "-" + ("rev" if p is None else "".join(map(str, p)))
                 for s, p in TRANSPOSE_CASES]


@pytest.mark.parametrize("shape,perm", TRANSPOSE_CASES, ids=TRANSPOSE_IDS)
def test_transpose_forward_and_backward_match_numpy(shape, perm, rng, kernel_impl):
    x = randn(rng, *shape)
    y = ops.transpose(x, perm)
    exact(y, np.ascontiguousarray(np.transpose(x, perm)))
    assert ops.transpose_output_shape(shape, perm) == y.shape
    dy = randn(rng, *y.shape)
    inverse = None if perm is None else np.argsort(perm)
    exact(ops.transpose_backward(dy, perm), np.ascontiguousarray(np.transpose(dy, inverse)))


def test_transpose_random_permutations(rng, kernel_impl):
    # Random ranks, size-1 axes and permutations: exercises the merging of neighbour axes.
    for _ in range(40):
        rank = int(rng.integers(1, 7))
        shape = tuple(int(d) for d in rng.choice([1, 2, 3, 5, 7, 9, 33], size=rank))
        perm = tuple(int(p) for p in rng.permutation(rank))
        dtype = np.float32 if rng.random() < 0.7 else np.int64
        x = rng.integers(-1000, 1000, size=shape).astype(dtype)
        exact(ops.transpose(x, perm), np.ascontiguousarray(np.transpose(x, perm)))


def test_transpose_int64_and_zero_size(kernel_impl):
    x = np.arange(2 * 3 * 5, dtype=np.int64).reshape(2, 3, 5)
    exact(ops.transpose(x, [2, 0, 1]), np.ascontiguousarray(x.transpose(2, 0, 1)))
    z = np.ones((0, 3, 4), np.float32)
    assert ops.transpose(z, [2, 0, 1]).shape == (4, 0, 3)


def test_transpose_backward_matches_finite_differences(rng, kernel_impl):
    x = randn(rng, 2, 3, 2)
    dy = randn(rng, 2, 2, 3)
    (numeric,) = numeric_grads(lambda a: np.transpose(a, (2, 0, 1)), [x], dy)
    assert_close(ops.transpose_backward(dy, (2, 0, 1)), numeric, ELEMENTWISE_RTOL)


@pytest.mark.parametrize("shape,perm", [((2, 3, 7, 5), (0, 2, 3, 1)), ((13, 33), None),
                                        ((3, 7, 5, 2, 3), (4, 2, 0, 3, 1))], ids=str)
def test_transpose_matches_onnxruntime(shape, perm, rng):
    onnx = pytest.importorskip("onnx", reason="onnx is needed for the onnxruntime comparison")
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is needed for this comparison")
    from onnx import TensorProto, helper
    out_shape = list(np.empty(shape).transpose(perm).shape)
    attrs = {} if perm is None else {"perm": list(perm)}
    graph = helper.make_graph(
        [helper.make_node("Transpose", ["x"], ["y"], **attrs)], "t",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 10
    onnx.checker.check_model(model)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    x = randn(rng, *shape)
    exact(ops.transpose(x, perm), sess.run(None, {"x": x})[0])


def test_transpose_errors():
    x = np.ones((2, 3, 4), np.float32)
    for bad in ([0, 1], [0, 1, 1], [0, 1, 3], [-1, 0, 1], [0, 1, 2, 3]):
        with pytest.raises(ValueError, match="Transpose: perm .* is not a permutation of 3 axes"):
            ops.transpose(x, bad)
    with pytest.raises(ValueError, match="not a permutation"):
        ops.transpose_backward(x, [2, 2, 0])
    with pytest.raises(TypeError, match="Transpose: x must be a float32 or int64"):
        ops.transpose(x.astype(np.float16))
    with pytest.raises(ValueError, match="Transpose: x must be C-contiguous"):
        ops.transpose(x.transpose(1, 0, 2))


# ---- Reshape, Flatten, Identity ----------------------------------------------------------

RESHAPE_CASES = [  # (input shape, spec, allowzero, expected)
    ((2, 3, 4), (4, 6), False, (4, 6)),
    ((2, 3, 4), (-1,), False, (24,)),
    ((2, 3, 4), (0, -1), False, (2, 12)),
    ((2, 3, 4), (0, 0, 2, 2), False, (2, 3, 2, 2)),
    ((2, 3, 4), (-1, 0, 1), False, (8, 3, 1)),  # 0 copies input dim 1
    ((7, 13), (13, 1, -1), False, (13, 1, 7)),
    ((0, 3), (0, 3), True, (0, 3)),             # allowzero: 0 is a real zero dim
    ((0, 3), (3, 0), True, (3, 0)),
    ((), (1, 1), False, (1, 1)),
    ((1, 1), (), False, ()),
]


@pytest.mark.parametrize("shape,spec,allowzero,expected", RESHAPE_CASES, ids=str)
def test_reshape_output_shape(shape, spec, allowzero, expected, rng):
    assert ops.reshape_output_shape(shape, spec, allowzero) == expected
    x = np.asarray(randn(rng, *shape))
    y = ops.reshape(x, spec, allowzero)
    exact(y, x.reshape(expected))
    assert np.shares_memory(x, y) or x.size == 0  # a view, like numpy.reshape
    exact(ops.reshape_backward(y, shape), x)


def test_reshape_int64_and_backward():
    x = np.arange(12, dtype=np.int64).reshape(3, 4)
    exact(ops.reshape(x, [2, -1]), x.reshape(2, 6))
    dy = np.arange(12, dtype=np.float32).reshape(6, 2) + 0.5
    exact(ops.reshape_backward(dy, (3, 4)), dy.reshape(3, 4))


def test_reshape_errors():
    x = np.ones((2, 3, 4), np.float32)
    with pytest.raises(ValueError, match=r"Reshape: cannot reshape \[2, 3, 4\] \(24 elements\)"):
        ops.reshape(x, [5, 5])
    with pytest.raises(ValueError, match="cannot reshape"):
        ops.reshape(x, [5, -1])
    with pytest.raises(ValueError, match="more than one -1"):
        ops.reshape(x, [-1, -1])
    with pytest.raises(ValueError, match="invalid entry -2"):
        ops.reshape(x, [-2, 12])
    with pytest.raises(ValueError, match="copies dim 3 .* rank 3"):
        ops.reshape(x, [2, 3, 4, 0])
    with pytest.raises(ValueError, match="both 0 and -1 with allowzero"):
        ops.reshape_output_shape((0, 3), [0, -1], allowzero=True)
    with pytest.raises(ValueError, match="cannot reshape"):  # -1 next to a zero product
        ops.reshape_output_shape((0, 3), [0, -1], allowzero=False)
    with pytest.raises(ValueError, match="Reshape: x must be C-contiguous"):
        ops.reshape(x.transpose(2, 1, 0), [-1])
    with pytest.raises(TypeError, match="Reshape: x must be a float32 or int64"):
        ops.reshape(x.astype(np.float64), [-1])
    with pytest.raises(ValueError, match="Reshape_backward: dy .* cannot take"):
        ops.reshape_backward(x, (5, 5))


@pytest.mark.parametrize("shape", [(2, 3, 7, 5), (13,), (7, 13)], ids=str)
def test_flatten_matches_numpy(shape, rng):
    x = randn(rng, *shape)
    r = len(shape)
    for axis in range(-r, r + 1):
        a = axis % r if axis < 0 else axis
        expected = (int(np.prod(shape[:a])), int(np.prod(shape[a:])))
        assert ops.flatten_output_shape(shape, axis) == expected
        y = ops.flatten(x, axis)
        exact(y, x.reshape(expected))
        exact(ops.flatten_backward(y, shape), x)
    assert ops.flatten(x).shape == ops.flatten_output_shape(shape, 1)


def test_flatten_errors():
    x = np.ones((2, 3, 4), np.float32)
    with pytest.raises(ValueError, match=r"Flatten: axis 4 out of range \[-3, 3\]"):
        ops.flatten(x, 4)
    with pytest.raises(ValueError, match="Flatten: axis -4 out of range"):
        ops.flatten(x, -4)


def test_identity_copies(rng):
    x = randn(rng, 7, 13)
    y = ops.identity(x)
    exact(y, x)
    assert not np.shares_memory(x, y)
    exact(ops.identity_backward(x), x)
    exact(ops.identity(np.arange(5, dtype=np.int64)), np.arange(5, dtype=np.int64))


# ---- Dropout -----------------------------------------------------------------------------

def dropout_mask_ref(shape, rate, seed):
    """The generator's definition in numpy uint64 arithmetic (wrapping multiplies)."""
    def mix(z):
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))
    n = int(np.prod(shape))
    with np.errstate(over="ignore"):
        pair = np.arange(n, dtype=np.uint64) // np.uint64(2)
        h = mix(mix(np.uint64(seed)) + (pair + np.uint64(1)) * np.uint64(0x9E3779B97F4A7C15))
    # One hash per element pair: the even element takes the high word, the odd one the low.
    word = np.where(np.arange(n) % 2 == 0, h >> np.uint64(32), h & np.uint64(0xFFFFFFFF))
    threshold = int(np.floor(float(np.float32(rate)) * 2.0**32 + 0.5))
    return (word >= np.uint64(threshold)).astype(np.float32).reshape(shape)


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.77])
def test_dropout_mask_follows_its_definition(rate, rng, kernel_impl):
    x = randn(rng, 13, 257)  # an odd count: the last pair is half used
    y, mask = ops.dropout(x, rate, seed=12345)
    exact(mask, dropout_mask_ref(x.shape, rate, 12345))
    assert_close(y, x.astype(np.float64) * mask / (1 - np.float64(np.float32(rate))),
                 ELEMENTWISE_RTOL)
    assert np.all(y[mask == 0] == 0)


def test_dropout_is_reproducible_and_seed_dependent(rng):
    x = randn(rng, 33, 65)
    _, m1 = ops.dropout(x, 0.3, seed=7)
    _, m2 = ops.dropout(x, 0.3, seed=7)
    _, m3 = ops.dropout(x, 0.3, seed=8)
    exact(m1, m2)
    assert np.mean(m1 != m3) > 0.2  # independent masks differ in ~42% of places


def test_dropout_mask_is_independent_of_threads(rng):
    x = randn(rng, 257, 1031)  # large enough to be split across threads
    before = engine.get_num_threads()
    try:
        engine.set_num_threads(1)
        y1, m1 = ops.dropout(x, 0.4, seed=99)
        engine.set_num_threads(2)
        y2, m2 = ops.dropout(x, 0.4, seed=99)
    finally:
        engine.set_num_threads(before)
    exact(m1, m2)
    exact(y1, y2)


def test_dropout_statistics():
    x = np.ones((1000, 1001), np.float32)
    for rate in (0.2, 0.5, 0.9):
        y, mask = ops.dropout(x, rate, seed=2024)
        # Binomial standard deviation of the mean is below 5e-4 here.
        assert abs(mask.mean() - (1 - rate)) < 3e-3, (rate, mask.mean())
        assert abs(y.mean(dtype=np.float64) - 1.0) < 3e-3 / (1 - rate), (rate, y.mean())


def test_dropout_rate_zero_and_inference_are_identity(rng):
    x = randn(rng, 7, 13)
    y, mask = ops.dropout(x, 0.0, seed=1)
    exact(y, x)
    exact(mask, np.ones_like(x))
    y, mask = ops.dropout(x, 0.5, seed=1, training=False)
    exact(y, x)
    assert mask is None
    exact(ops.dropout_backward(x, None, 0.5), x)


def test_dropout_backward(rng, kernel_impl):
    x = randn(rng, 3, 4)
    rate = 0.25
    _, mask = ops.dropout(x, rate, seed=5)
    dy = randn(rng, 3, 4)
    (numeric,) = numeric_grads(lambda a: a * mask / (1 - rate), [x], dy)
    assert_close(ops.dropout_backward(dy, mask, rate), numeric, ELEMENTWISE_RTOL)
    big = randn(rng, 65, 257)
    _, mask = ops.dropout(big, 0.6, seed=6)
    dy = randn(rng, *big.shape)
    assert_close(ops.dropout_backward(dy, mask, 0.6),
                 dy.astype(np.float64) * mask / (1 - np.float64(np.float32(0.6))),
                 ELEMENTWISE_RTOL)


def test_dropout_errors():
    x = np.ones((3, 4), np.float32)
    for rate in (-0.1, 1.0, 1.5, float("nan")):
        with pytest.raises(ValueError, match="Dropout: ratio must be in \\[0, 1\\)"):
            ops.dropout(x, rate, seed=0)
    with pytest.raises(ValueError, match="Dropout_backward: ratio must be in"):
        ops.dropout_backward(x, x, 1.0)
    with pytest.raises(TypeError, match="Dropout: x must be a float32"):
        ops.dropout(x.astype(np.float64), 0.5, seed=0)
    with pytest.raises(TypeError, match="Dropout: x must be float32"):
        ops.dropout(x.astype(np.int64), 0.5, seed=0)
    with pytest.raises(TypeError, match="seed must be an integer"):
        ops.dropout(x, 0.5, seed=1.5)
    with pytest.raises(ValueError, match="Dropout: x must be C-contiguous"):
        ops.dropout(np.ones((4, 3), np.float32).T, 0.5, seed=0)
    with pytest.raises(ValueError, match="Dropout_backward: mask .* does not match dy"):
        ops.dropout_backward(x, x[:2], 0.5)
