# Unsqueeze and Squeeze (shape-only). Included by _core.pyx. Like Reshape, the forward
# results are views of x (no copy).
cimport ops_squeeze as sq_ops


def unsqueeze_output_shape(shape, axes):
    return tuple(sq_ops.unsqueeze_output_shape(as_int_list(shape, "Unsqueeze: shape"),
                                               as_int_list(axes, "Unsqueeze: axes")))


def squeeze_output_shape(shape, axes=()):
    return tuple(sq_ops.squeeze_output_shape(as_int_list(shape, "Squeeze: shape"),
                                             as_int_list(axes, "Squeeze: axes")))


def unsqueeze_forward(x, axes):
    cdef vector[int64_t] a = as_int_list(axes, "Unsqueeze: axes")
    cdef Tensor tx = as_tensor(x, "Unsqueeze: x")
    cdef Tensor ty
    with nogil:
        ty = sq_ops.unsqueeze_forward(tx, a)
    return to_numpy(ty)


def squeeze_forward(x, axes=()):
    cdef vector[int64_t] a = as_int_list(axes, "Squeeze: axes")
    cdef Tensor tx = as_tensor(x, "Squeeze: x")
    cdef Tensor ty
    with nogil:
        ty = sq_ops.squeeze_forward(tx, a)
    return to_numpy(ty)
