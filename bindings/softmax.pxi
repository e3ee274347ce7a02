# Softmax and LogSoftmax. Included by _core.pyx.
from ops_softmax cimport SoftmaxKind, SoftmaxAttrs
cimport ops_softmax as smx


cdef SoftmaxKind _softmax_kind(bint log):
    return SoftmaxKind.LogSoftmax if log else SoftmaxKind.Softmax


cdef SoftmaxAttrs _softmax_attrs(axis, bint coerce_2d, str what) except *:
    if not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{what}: axis must be an integer, got {axis!r}")
    cdef SoftmaxAttrs attrs
    attrs.axis = int(axis)
    attrs.coerce_2d = coerce_2d
    return attrs


def softmax_forward(x, axis=-1, bint log=False, bint coerce_2d=False):
    """Softmax (or LogSoftmax when `log`) of x along `axis`.

    `coerce_2d` selects the opset < 13 semantics: normalise over all dims from `axis` on.
    """
    cdef SoftmaxKind kind = _softmax_kind(log)
    name = "LogSoftmax" if log else "Softmax"
    cdef SoftmaxAttrs attrs = _softmax_attrs(axis, coerce_2d, name)
    cdef Tensor tx = as_tensor(x, name + ": x")
    cdef Tensor ty
    with nogil:
        ty = smx.softmax_forward(kind, tx, attrs)
    return to_numpy(ty)


def softmax_backward(dy, y, axis=-1, bint log=False, bint coerce_2d=False):
    """dx from dy and the forward OUTPUT y (not the input x)."""
    cdef SoftmaxKind kind = _softmax_kind(log)
    name = ("LogSoftmax" if log else "Softmax") + "_backward"
    cdef SoftmaxAttrs attrs = _softmax_attrs(axis, coerce_2d, name)
    cdef Tensor tdy = as_tensor(dy, name + ": dy")
    cdef Tensor ty = as_tensor(y, name + ": y")
    cdef Tensor tdx
    with nogil:
        tdx = smx.softmax_backward(kind, tdy, ty, attrs)
    return to_numpy(tdx)
