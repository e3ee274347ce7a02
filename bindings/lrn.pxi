# LRN (local response normalization across channels). Included by _core.pyx.
from ops_lrn cimport LrnAttrs
cimport ops_lrn as lrn_ops


cdef LrnAttrs _lrn_attrs(size, float alpha, float beta, float bias, str what) except *:
    if not isinstance(size, (int, np.integer)) or isinstance(size, _PY_BOOL):
        raise TypeError(f"{what}: size must be an integer, got {size!r}")
    cdef LrnAttrs attrs
    attrs.size = int(size)
    attrs.alpha = alpha
    attrs.beta = beta
    attrs.bias = bias
    return attrs


def lrn_forward(x, size, float alpha=1e-4, float beta=0.75, float bias=1.0):
    cdef LrnAttrs attrs = _lrn_attrs(size, alpha, beta, bias, "LRN")
    cdef Tensor tx = as_tensor(x, "LRN: x")
    cdef Tensor ty
    with nogil:
        ty = lrn_ops.lrn_forward(tx, attrs)
    return to_numpy(ty)


def lrn_backward(dy, x, size, float alpha=1e-4, float beta=0.75, float bias=1.0):
    cdef LrnAttrs attrs = _lrn_attrs(size, alpha, beta, bias, "LRN_backward")
    cdef Tensor tdy = as_tensor(dy, "LRN_backward: dy")
    cdef Tensor tx = as_tensor(x, "LRN_backward: x")
    cdef Tensor tdx
    with nogil:
        tdx = lrn_ops.lrn_backward(tdy, tx, attrs)
    return to_numpy(tdx)
