# Gemm and MatMul ops, plus a raw hook onto the GEMM kernel for the kernel tests.
# Included by _core.pyx.
cimport ops_gemm as gm


def gemm_forward(a, b, c=None, float alpha=1.0, float beta=1.0, bint trans_a=False,
                 bint trans_b=False):
    """ONNX Gemm: Y = alpha * A' B' + beta * C (C optional, broadcast to [M, N])."""
    cdef gm.GemmAttrs attrs
    attrs.alpha = alpha
    attrs.beta = beta
    attrs.trans_a = trans_a
    attrs.trans_b = trans_b
    cdef Tensor ta = as_tensor(a, "Gemm: A")
    cdef Tensor tb = as_tensor(b, "Gemm: B")
    cdef Tensor tc = as_optional_tensor(c, "Gemm: C")
    cdef Tensor ty
    with nogil:
        ty = gm.gemm_forward(ta, tb, tc, attrs)
    return to_numpy(ty)


def gemm_backward(dy, a, b, c=None, float alpha=1.0, float beta=1.0, bint trans_a=False,
                  bint trans_b=False, bint need_da=True, bint need_db=True, bint need_dc=True):
    """(dA, dB, dC): gradients of Gemm's inputs; dC is None without C or when not needed."""
    cdef gm.GemmAttrs attrs
    attrs.alpha = alpha
    attrs.beta = beta
    attrs.trans_a = trans_a
    attrs.trans_b = trans_b
    cdef Tensor tdy = as_tensor(dy, "Gemm_backward: dy")
    cdef Tensor ta = as_tensor(a, "Gemm_backward: A")
    cdef Tensor tb = as_tensor(b, "Gemm_backward: B")
    cdef Tensor tc = as_optional_tensor(c, "Gemm_backward: C")
    cdef Tensor tda, tdb, tdc
    cdef Tensor* pda = NULL
    cdef Tensor* pdb = NULL
    cdef Tensor* pdc = NULL
    # dA is overwritten; dB and dC accumulate, so they start from zero.
    if need_da and ta.ndim() == 2:
        tda = core.tensor_empty(ta.shape(), DType.Float32)
        pda = &tda
    if need_db and tb.ndim() == 2:
        tdb = core.tensor_zeros(tb.shape(), DType.Float32)
        pdb = &tdb
    if need_dc and tc.defined() and tc.ndim() <= 2:
        tdc = core.tensor_zeros(tc.shape(), DType.Float32)
        pdc = &tdc
    with nogil:
        gm.gemm_backward(tdy, ta, tb, tc, attrs, pda, pdb, pdc)
    return (to_numpy(tda) if pda != NULL else None, to_numpy(tdb) if pdb != NULL else None,
            to_numpy(tdc) if pdc != NULL else None)


def matmul_forward(a, b):
    """ONNX MatMul (numpy matmul semantics, batch dims broadcast)."""
    cdef Tensor ta = as_tensor(a, "MatMul: A")
    cdef Tensor tb = as_tensor(b, "MatMul: B")
    cdef Tensor ty
    with nogil:
        ty = gm.matmul_forward(ta, tb)
    return to_numpy(ty)


def matmul_backward(dy, a, b, bint need_da=True, bint need_db=True):
    """(dA, dB), each summed over the batch dims its operand was broadcast along."""
    cdef Tensor tdy = as_tensor(dy, "MatMul_backward: dy")
    cdef Tensor ta = as_tensor(a, "MatMul_backward: A")
    cdef Tensor tb = as_tensor(b, "MatMul_backward: B")
    cdef Tensor tda, tdb
    cdef Tensor* pda = NULL
    cdef Tensor* pdb = NULL
    if need_da:
        tda = core.tensor_empty(ta.shape(), DType.Float32)
        pda = &tda
    if need_db:
        tdb = core.tensor_zeros(tb.shape(), DType.Float32)
        pdb = &tdb
    with nogil:
        gm.matmul_backward(tdy, ta, tb, pda, pdb)
    return (to_numpy(tda) if pda != NULL else None, to_numpy(tdb) if pdb != NULL else None)


cdef int64_t _raw_ld(np_array, str what) except -1:
    """Leading dimension (row stride in elements) of a 2-D float32 view with unit columns."""
    if not isinstance(np_array, np.ndarray) or np_array.dtype != np.float32 or np_array.ndim != 2:
        raise TypeError(f"_gemm_raw: {what} must be a 2-D float32 array")
    rows, cols = np_array.shape
    rs, cs = np_array.strides[0] // 4, np_array.strides[1] // 4
    if rows > 0 and cols > 1 and cs != 1:
        raise ValueError(f"_gemm_raw: {what} must have unit column stride")
    if rows > 1 and rs < cols:
        raise ValueError(f"_gemm_raw: {what} row stride {rs} is shorter than its {cols} columns")
    return max(rs, cols, 1) if rows > 1 else max(cols, 1)


def _gemm_raw(a, b, c, bint trans_a=False, bint trans_b=False, float alpha=1.0,
              float beta=0.0, row_bias=None, col_bias=None, bint relu=False):
    """C = alpha op(A) op(B) + beta C (+ epilogue), in place, straight on the GEMM kernel.

    a, b, c are 2-D float32 views with unit column stride: their row strides become the
    leading dimensions, so slices of larger arrays test padded rows and offsets. For tests.
    """
    cdef gm.GemmArgs g
    g.lda = _raw_ld(a, "a")
    g.ldb = _raw_ld(b, "b")
    g.ldc = _raw_ld(c, "c")
    if not c.flags.writeable:
        raise ValueError("_gemm_raw: c must be writeable")
    M, K = (a.shape[1], a.shape[0]) if trans_a else a.shape
    K2, N = (b.shape[1], b.shape[0]) if trans_b else b.shape
    if K != K2 or c.shape != (M, N):
        raise ValueError(f"_gemm_raw: shapes a{a.shape} b{b.shape} c{c.shape} do not agree")
    cdef Tensor ta = as_tensor(a, "_gemm_raw: a")
    cdef Tensor tb = as_tensor(b, "_gemm_raw: b")
    cdef Tensor tc = as_tensor(c, "_gemm_raw: c")
    cdef Tensor trb, tcb
    if row_bias is not None:
        if np.shape(row_bias) != (M,):
            raise ValueError("_gemm_raw: row_bias must have M entries")
        trb = as_tensor(np.ascontiguousarray(row_bias, dtype=np.float32), "_gemm_raw: row_bias")
        g.epilogue.row_bias = <const float*>trb.raw_data()
    if col_bias is not None:
        if np.shape(col_bias) != (N,):
            raise ValueError("_gemm_raw: col_bias must have N entries")
        tcb = as_tensor(np.ascontiguousarray(col_bias, dtype=np.float32), "_gemm_raw: col_bias")
        g.epilogue.col_bias = <const float*>tcb.raw_data()
    g.epilogue.relu = relu
    g.trans_a = trans_a
    g.trans_b = trans_b
    g.M = M
    g.N = N
    g.K = K
    g.alpha = alpha
    g.beta = beta
    g.A = <const float*>ta.raw_data()
    g.B = <const float*>tb.raw_data()
    g.C = <float*>tc.raw_data()
    with nogil:
        gm.gemm(g)
