"""GEMM kernel sweep, and the Gemm / MatMul ops forward and backward, vs numpy float64."""
import itertools

import numpy as np
import pytest

import engine
from engine import _core, ops
from helpers import REDUCTION_RTOL, assert_close, numeric_grads, randn

GUARD = np.float32(1234.5)


# ---- the raw kernel: every transpose, alpha/beta, edge size, padded leading dims ----------

@pytest.fixture(params=["avx2", "portable"])
def micro_kernel(request):
    _core.set_portable_kernels(request.param == "portable")
    yield request.param
    _core.set_portable_kernels(False)


@pytest.fixture(params=[1, 2], ids=["t1", "t2"])
def threads(request):
    before = engine.get_num_threads()
    engine.set_num_threads(request.param)
    yield request.param
    engine.set_num_threads(before)


def embedded(rng, rows, cols, pad, fill=None):
    """A [rows, cols] view at a row/column offset inside a larger [rows+2, cols+pad+3]
    buffer, so the kernel sees leading dimensions longer than the row. Returns (view, buf)."""
    buf = np.full((rows + 2, cols + pad + 3), GUARD, dtype=np.float32)
    view = buf[1:1 + rows, 2:2 + cols]
    view[...] = randn(rng, rows, cols) if fill is None else fill
    return view, buf


def reference(a, b, c, ta, tb, alpha, beta, row_bias, col_bias, relu):
    a64 = a.astype(np.float64).T if ta else a.astype(np.float64)
    b64 = b.astype(np.float64).T if tb else b.astype(np.float64)
    out = alpha * (a64 @ b64)
    if beta != 0:
        out += beta * c.astype(np.float64)
    if row_bias is not None:
        out += row_bias.astype(np.float64)[:, None]
    if col_bias is not None:
        out += col_bias.astype(np.float64)[None, :]
    return np.maximum(out, 0) if relu else out


def check_raw(rng, M, N, K, ta, tb, alpha, beta, pad=0, row_bias=False, col_bias=False,
              relu=False):
    a, _ = embedded(rng, K if ta else M, M if ta else K, pad)
    b, _ = embedded(rng, N if tb else K, K if tb else N, pad + 1)
    # With beta == 0 the kernel must not read C: poison it with NaN.
    c, cbuf = embedded(rng, M, N, pad, fill=np.nan if beta == 0 else None)
    c_before = c.copy()
    rb = randn(rng, M) if row_bias else None
    cb = randn(rng, N) if col_bias else None
    want = reference(a, b, c_before, ta, tb, alpha, beta, rb, cb, relu)
    _core._gemm_raw(a, b, c, ta, tb, alpha, beta, rb, cb, relu)

    outside = np.ones(cbuf.shape, bool)
    outside[1:1 + M, 2:2 + N] = False
    assert np.all(cbuf[outside] == GUARD), f"M{M} N{N} K{K}: wrote outside C"
    assert np.all(np.isfinite(c)), f"M{M} N{N} K{K} ta{ta} tb{tb} b{beta}: non-finite output"
    tol = 1e-5 * np.sqrt(max(K, 1)) + 1e-4 * np.abs(want)
    bad = np.abs(c - want) > tol
    assert not bad.any(), (f"M{M} N{N} K{K} ta{ta} tb{tb} alpha{alpha} beta{beta}: "
                           f"max error {np.abs(c - want).max():.3g}")


# Every remainder of the 6x16 tile and sizes on both sides of it, primes, 1.
EDGE_SIZES = [1, 2, 3, 5, 6, 7, 11, 12, 13, 16, 17, 19, 23, 29, 31, 32, 33, 37, 47, 53, 67, 70]
ALPHAS = [1.0, -1.0, 0.25, -0.5, 0.0]
BETAS = [0.0, -0.0, 0.25, -0.5, 1.0, -1.0]


def test_kernel_sweep_edges(micro_kernel, threads, rng):
    n = len(EDGE_SIZES)
    for ta, tb in itertools.product([False, True], repeat=2):
        for i, M in enumerate(EDGE_SIZES):
            for j, N in enumerate(EDGE_SIZES):
                K = EDGE_SIZES[(i + 5 * j + 3 * ta + tb) % n]
                s = i + j
                check_raw(rng, M, N, K, ta, tb, ALPHAS[s % 5], BETAS[(s + 2 * ta) % 6],
                          pad=s % 4, row_bias=s % 3 == 0, col_bias=s % 2 == 1, relu=s % 4 == 1)


def test_kernel_all_alpha_beta(micro_kernel, rng):
    for (ta, tb), alpha, beta in itertools.product(
            itertools.product([False, True], repeat=2), ALPHAS, BETAS):
        check_raw(rng, 13, 17, 7, ta, tb, alpha, beta, pad=1)


@pytest.mark.parametrize("M,N,K", [(257, 129, 513), (151, 67, 601), (7, 4133, 3), (1, 1, 1000),
                                   (300, 1, 7)], ids=lambda v: str(v))
def test_kernel_large_odd(micro_kernel, threads, M, N, K, rng):
    # Crosses the K, M and N cache blocks with odd remainders.
    for k, (ta, tb) in enumerate(itertools.product([False, True], repeat=2)):
        check_raw(rng, M, N, K, ta, tb, [1.0, -0.5][k % 2], [0.0, 0.25, 1.0, -1.0][k], pad=k,
                  row_bias=k == 1, col_bias=k >= 2, relu=k == 3)


def test_kernel_k_zero_scales_c_only(micro_kernel, rng):
    for beta in (0.0, 0.5):
        c = np.full((5, 9), np.nan if beta == 0 else 2.0, np.float32)
        cb = randn(rng, 9)
        _core._gemm_raw(np.zeros((5, 0), np.float32), np.zeros((0, 9), np.float32), c,
                        beta=beta, col_bias=cb)
        assert_close(c, beta * (2.0 if beta else 0.0) + np.tile(cb.astype(np.float64), (5, 1)))


def test_kernel_relu_keeps_nan_visible():
    a = np.array([[np.nan, 1.0]], np.float32)
    c = np.zeros((1, 1), np.float32)
    _core._gemm_raw(a, np.ones((2, 1), np.float32), c, relu=True)
    assert np.isnan(c[0, 0])


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
def test_gemm_backward_matches_numpy_on_odd_shapes(ta, tb, rng):
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


def test_gemm_dense_layer_shapes(rng):
    # Dense(784 -> 300) at batch 32: X[32,784] W[784,300] + b[300].
    x, w, bias = randn(rng, 32, 784), randn(rng, 784, 300, scale=0.05), randn(rng, 300)
    ref = x.astype(np.float64) @ w.astype(np.float64) + bias
    assert_close(ops.gemm(x, w, bias), ref, REDUCTION_RTOL)


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
def test_matmul_backward_matches_numpy_on_odd_shapes(sa, sb, rng):
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
