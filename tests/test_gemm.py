"""The Gemm and MatMul ops forward and backward, vs numpy float64."""
import itertools

import numpy as np
import pytest

import engine
from engine import _core, ops
from helpers import REDUCTION_RTOL, assert_close, numeric_grads, randn


# The GEMM kernel itself (every transpose, edge sizes, padded leading dimensions,
# alpha/beta, the epilogue, every ISA's kernels, the CUDA SGEMM's emulation, guard cells
# around C) is swept against its naive oracle by the C++ test cpp/tests/test_gemm.cpp.


@pytest.fixture(params=_core.CPU_ISAS)
def cpu_isa(request):
    """Runs a test on each instruction-set level of the CPU kernels this machine has."""
    if not _core.cpu_isa_supported(request.param):
        pytest.skip(f"this CPU lacks {request.param}")
    _core.set_cpu_isa(request.param)
    yield request.param
    _core.set_cpu_isa("best")

# ---- Gemm op -------------------------------------------------------------------------------

def c_shapes(M, N):
    return {"none": None, "scalar": (), "one": (1,), "row": (N,), "row2d": (1, N),
            "col": (M, 1), "full": (M, N)}


def np_gemm(a, b, c, alpha, beta, ta, tb):
    a = a.T if ta else a
    b = b.T if tb else b
    out = alpha * (a @ b)
    return out if c is None else out + beta * c


@pytest.mark.parametrize("ta,tb", list(itertools.product([False, True], repeat=2)),
                         ids=lambda v: "T" if v else "N")
@pytest.mark.parametrize("c_kind", list(c_shapes(1, 1)))
def test_gemm_forward_matches_numpy(ta, tb, c_kind, rng, kernel_impl):
    M, K, N = 13, 33, 7
    a = randn(rng, *((K, M) if ta else (M, K)))
    b = randn(rng, *((N, K) if tb else (K, N)))
    shape = c_shapes(M, N)[c_kind]
    c = None if shape is None else randn(rng, *shape)
    out = ops.gemm(a, b, c, alpha=0.75, beta=-1.5, trans_a=ta, trans_b=tb)
    ref = np_gemm(a.astype(np.float64), b.astype(np.float64),
                  None if c is None else c.astype(np.float64), 0.75, -1.5, ta, tb)
    assert_close(out, ref, REDUCTION_RTOL)


@pytest.mark.parametrize("ta,tb", list(itertools.product([False, True], repeat=2)),
                         ids=lambda v: "T" if v else "N")
@pytest.mark.parametrize("c_kind", ["none", "scalar", "row", "col", "full"])
def test_gemm_backward_matches_finite_differences(ta, tb, c_kind, rng, kernel_impl):
    M, K, N = 3, 4, 2
    alpha, beta = 0.75, -1.25
    a = randn(rng, *((K, M) if ta else (M, K)))
    b = randn(rng, *((N, K) if tb else (K, N)))
    shape = c_shapes(M, N)[c_kind]
    c = None if shape is None else randn(rng, *shape)
    dy = randn(rng, M, N)
    inputs = [a, b] + ([] if c is None else [c])
    numeric = numeric_grads(
        lambda a_, b_, *c_: np_gemm(a_, b_, c_[0] if c_ else None, alpha, beta, ta, tb),
        inputs, dy)
    da, db, dc = ops.gemm_backward(dy, a, b, c, alpha, beta, ta, tb)
    assert_close(da, numeric[0], REDUCTION_RTOL, "da")
    assert_close(db, numeric[1], REDUCTION_RTOL, "db")
    if c is None:
        assert dc is None
    else:
        assert_close(dc, numeric[2], REDUCTION_RTOL, "dc")


@pytest.mark.parametrize("ta,tb", list(itertools.product([False, True], repeat=2)),
                         ids=lambda v: "T" if v else "N")
def test_gemm_backward_matches_numpy_on_odd_shapes(ta, tb, rng, kernel_impl):
    M, K, N = 33, 257, 13
    a = randn(rng, *((K, M) if ta else (M, K)))
    b = randn(rng, *((N, K) if tb else (K, N)))
    c = randn(rng, N)
    dy = randn(rng, M, N)
    a64, b64, dy64 = (x.astype(np.float64) for x in (a, b, dy))
    A, B = (a64.T if ta else a64), (b64.T if tb else b64)
    dA, dB = 0.5 * dy64 @ B.T, 0.5 * A.T @ dy64
    da, db, dc = ops.gemm_backward(dy, a, b, c, alpha=0.5, beta=2.0, trans_a=ta, trans_b=tb)
    assert_close(da, dA.T if ta else dA, REDUCTION_RTOL, "da")
    assert_close(db, dB.T if tb else dB, REDUCTION_RTOL, "db")
    assert_close(dc, 2.0 * dy64.sum(axis=0), REDUCTION_RTOL, "dc")


@pytest.mark.parametrize("ta,tb", list(itertools.product([False, True], repeat=2)),
                         ids=lambda v: "T" if v else "N")
@pytest.mark.parametrize("c_kind", ["row", "col", "full"])
def test_gemm_crosses_tiles_with_every_transpose(ta, tb, c_kind, rng, kernel_impl):
    # Sizes past the CUDA kernel's 64x64 tiles and 16-deep K steps with odd remainders; C as
    # a bias of the epilogue (beta 1) or as beta * C.
    M, K, N = 67, 37, 131
    a = randn(rng, *((K, M) if ta else (M, K)))
    b = randn(rng, *((N, K) if tb else (K, N)))
    c = randn(rng, *c_shapes(M, N)[c_kind])
    for alpha, beta in ((1.0, 1.0), (-0.5, 0.25)):
        out = ops.gemm(a, b, c, alpha=alpha, beta=beta, trans_a=ta, trans_b=tb)
        ref = np_gemm(a.astype(np.float64), b.astype(np.float64), c.astype(np.float64), alpha,
                      beta, ta, tb)
        assert_close(out, ref, REDUCTION_RTOL, f"alpha={alpha} beta={beta}")


@pytest.mark.parametrize("c_shape", [(), (1, 131), (20011, 1)], ids=["scalar", "row", "col"])
def test_gemm_dc_sums_long_axes(c_shape, rng, kernel_impl):
    # dC sums dY over more terms than one block of the CUDA reduction takes (16384).
    M, K, N = (20011, 3, 2) if c_shape == (20011, 1) else (257, 3, 131)
    a, b, c = randn(rng, M, K), randn(rng, K, N), randn(rng, *c_shape)
    dy = randn(rng, M, N)
    _, _, dc = ops.gemm_backward(dy, a, b, c, alpha=1.0, beta=-0.75)
    ref = -0.75 * dy.astype(np.float64).sum(
        axis=tuple(i for i, d in enumerate(c_shape) if d == 1) if c_shape else None,
        keepdims=bool(c_shape))
    assert_close(dc, ref, REDUCTION_RTOL)


def test_gemm_dense_layer_shapes(rng, kernel_impl):
    # Dense(784 -> 300) at batch 32: X[32,784] W[784,300] + b[300].
    x, w, bias = randn(rng, 32, 784), randn(rng, 784, 300, scale=0.05), randn(rng, 300)
    ref = x.astype(np.float64) @ w.astype(np.float64) + bias
    assert_close(ops.gemm(x, w, bias), ref, REDUCTION_RTOL)


@pytest.mark.parametrize("ta,tb", list(itertools.product([False, True], repeat=2)),
                         ids=lambda v: "T" if v else "N")
@pytest.mark.parametrize("M,N,K", [(7, 13, 5), (3, 67, 129), (151, 5, 601), (33, 17, 263),
                                   (61, 1, 37), (37, 19, 1453), (157, 301, 613)])
def test_gemm_every_cpu_isa_matches_numpy(M, N, K, ta, tb, rng, cpu_isa):
    # Partial register tiles of every width, the few-rows and few-columns paths, K and M
    # blocks crossed; beta * C, and C as a row or column bias.
    a = randn(rng, *((K, M) if ta else (M, K)))
    b = randn(rng, *((N, K) if tb else (K, N)))
    for alpha, beta, c_kind in ((1.0, 1.0, "row"), (-0.5, 0.25, "full"), (0.75, -1.0, "col")):
        c = randn(rng, *c_shapes(M, N)[c_kind])
        out = ops.gemm(a, b, c, alpha=alpha, beta=beta, trans_a=ta, trans_b=tb)
        ref = np_gemm(a.astype(np.float64), b.astype(np.float64), c.astype(np.float64), alpha,
                      beta, ta, tb)
        assert_close(out, ref, REDUCTION_RTOL, f"alpha={alpha} beta={beta} c={c_kind}")


def test_set_cpu_isa_rejects_unknown_levels():
    with pytest.raises(ValueError, match="unknown level"):
        _core.set_cpu_isa("sse9")
    assert _core.cpu_isa_supported("portable")


def test_gemm_bad_inputs_raise_clear_errors():
    a, b = np.ones((3, 4), np.float32), np.ones((4, 5), np.float32)
    with pytest.raises(ValueError, match="Gemm: A must have rank 2"):
        ops.gemm(np.ones((2, 3, 4), np.float32), b)
    with pytest.raises(ValueError, match="Gemm: B must have rank 2"):
        ops.gemm(a, np.ones(4, np.float32))
    with pytest.raises(ValueError, match=r"Gemm: inner dimensions differ.*\[3, 4\].*\[5, 5\]"):
        ops.gemm(a, np.ones((5, 5), np.float32))
    with pytest.raises(ValueError, match="inner dimensions differ"):
        ops.gemm(a, b, trans_a=True)
    with pytest.raises(ValueError, match=r"Gemm: C float32\[4\] cannot be broadcast to \[3, 5\]"):
        ops.gemm(a, b, np.ones(4, np.float32))
    with pytest.raises(ValueError, match="cannot be broadcast"):
        ops.gemm(a, b, np.ones((3, 5, 1), np.float32))
    with pytest.raises(TypeError, match="Gemm: A must be a float32"):
        ops.gemm(a.astype(np.float64), b)
    with pytest.raises(TypeError, match="Gemm: B must be float32"):
        ops.gemm(a, b.astype(np.int64))
    with pytest.raises(ValueError, match="Gemm: A must be C-contiguous"):
        ops.gemm(np.ones((4, 3), np.float32).T, b)
    with pytest.raises(ValueError, match=r"Gemm_backward: dy float32\[5, 3\] must be \[3, 5\]"):
        ops.gemm_backward(np.ones((5, 3), np.float32), a, b)


# ---- MatMul op -----------------------------------------------------------------------------

MATMUL_SHAPES = [
    ((5,), (5,)), ((5,), (5, 3)), ((2, 5), (5,)), ((3, 5), (5, 4)), ((2, 3, 5), (5, 4)),
    ((3, 5), (2, 5, 4)), ((2, 1, 3, 5), (3, 5, 2)), ((1, 3, 5), (2, 5, 4)), ((4,), (2, 4, 3)),
    ((2, 3, 4), (4,)), ((2, 3, 4), (1, 4, 3)),
]


def shape_id(shapes):
    return "x".join("-".join(map(str, s)) or "s" for s in shapes)


@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES, ids=[shape_id(s) for s in MATMUL_SHAPES])
def test_matmul_forward_matches_numpy(sa, sb, rng, kernel_impl):
    # Scale the small parametrized shapes up to odd realistic ones (K=33, M=13, N=7).
    grow = {5: 33, 3: 13, 4: 7}
    sa = tuple(grow.get(d, d) if i >= len(sa) - 2 else d for i, d in enumerate(sa))
    sb = tuple(grow.get(d, d) if i >= len(sb) - 2 else d for i, d in enumerate(sb))
    a, b = randn(rng, *sa), randn(rng, *sb)
    ref = np.matmul(a.astype(np.float64), b.astype(np.float64))
    out = ops.matmul(a, b)
    assert out.shape == ref.shape
    assert_close(out, ref, REDUCTION_RTOL)


@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES, ids=[shape_id(s) for s in MATMUL_SHAPES])
def test_matmul_backward_matches_finite_differences(sa, sb, rng, kernel_impl):
    a, b = randn(rng, *sa), randn(rng, *sb)
    dy = randn(rng, *np.matmul(a, b).shape)
    num_a, num_b = numeric_grads(np.matmul, [a, b], dy)
    da, db = ops.matmul_backward(dy, a, b)
    assert_close(da, num_a, REDUCTION_RTOL, "da")
    assert_close(db, num_b, REDUCTION_RTOL, "db")


def sum_to_shape(x, shape):
    """Sums x over the leading dims it has beyond `shape` and the dims where shape is 1."""
    x = x.sum(axis=tuple(range(x.ndim - len(shape))))
    return x.sum(axis=tuple(i for i, d in enumerate(shape) if d == 1), keepdims=True)


@pytest.mark.parametrize("sa,sb", [((2, 1, 33, 257), (3, 257, 13)), ((7, 33, 257), (257, 13)),
                                   ((33, 257), (7, 257, 13))], ids=["bcast-both", "foldA", "bcastA"])
def test_matmul_backward_matches_numpy_on_odd_shapes(sa, sb, rng, kernel_impl):
    a, b = randn(rng, *sa), randn(rng, *sb)
    dy = randn(rng, *np.matmul(a, b).shape)
    a64, b64, dy64 = (x.astype(np.float64) for x in (a, b, dy))
    da, db = ops.matmul_backward(dy, a, b)
    assert_close(da, sum_to_shape(dy64 @ np.swapaxes(b64, -1, -2), sa), REDUCTION_RTOL, "da")
    assert_close(db, sum_to_shape(np.swapaxes(a64, -1, -2) @ dy64, sb), REDUCTION_RTOL, "db")


def test_matmul_many_small_batches(rng, kernel_impl):
    # Small per-batch GEMMs run in parallel across batches.
    a, b = randn(rng, 37, 5, 7), randn(rng, 37, 7, 3)
    assert_close(ops.matmul(a, b), np.matmul(a.astype(np.float64), b), REDUCTION_RTOL)
    dy = randn(rng, 37, 5, 3)
    da, db = ops.matmul_backward(dy, a, b)
    assert_close(da, dy.astype(np.float64) @ np.swapaxes(b, -1, -2), REDUCTION_RTOL, "da")
    assert_close(db, np.swapaxes(a, -1, -2).astype(np.float64) @ dy, REDUCTION_RTOL, "db")


def test_matmul_empty_dims():
    a, b = np.ones((0, 3, 4), np.float32), np.ones((4, 5), np.float32)
    assert ops.matmul(a, b).shape == (0, 3, 5)
    out = ops.matmul(np.ones((3, 0), np.float32), np.ones((0, 5), np.float32))
    assert np.array_equal(out, np.zeros((3, 5)))


def test_matmul_bad_inputs_raise_clear_errors():
    a = np.ones((3, 4), np.float32)
    with pytest.raises(ValueError, match=r"MatMul: inner dimensions differ.*K = 4.*K = 5"):
        ops.matmul(a, np.ones((5, 2), np.float32))
    with pytest.raises(ValueError, match="MatMul: batch dims .* cannot be broadcast"):
        ops.matmul(np.ones((2, 3, 4), np.float32), np.ones((3, 4, 2), np.float32))
    with pytest.raises(ValueError, match="MatMul: operands need rank >= 1"):
        ops.matmul(np.float32(2.0), a)
    with pytest.raises(TypeError, match="MatMul: A must be a float32"):
        ops.matmul(a.astype(np.float64), a.T.copy())
    with pytest.raises(ValueError, match="MatMul: B must be C-contiguous"):
        ops.matmul(a, a.T)
    with pytest.raises(ValueError, match=r"MatMul_backward: dy float32\[3, 3\] must be \[3, 2\]"):
        ops.matmul_backward(np.ones((3, 3), np.float32), a, np.ones((4, 2), np.float32))
