# Sum: n-ary elementwise addition with broadcasting. Included by _core.pyx.
cimport ops_sum as sum_ops


cdef vector[Tensor] _sum_inputs(xs, str what) except *:
    cdef vector[Tensor] txs
    for i, x in enumerate(xs):
        txs.push_back(as_tensor(x, f"{what}: input {i}"))
    return txs


def sum_forward(xs):
    cdef vector[Tensor] txs = _sum_inputs(xs, "Sum")
    cdef Tensor ty
    with nogil:
        ty = sum_ops.sum_forward(txs)
    return to_numpy(ty)


def sum_backward(dy, xs):
    cdef Tensor tdy = as_tensor(dy, "Sum_backward: dy")
    cdef vector[Tensor] txs = _sum_inputs(xs, "Sum_backward")
    cdef vector[Tensor] tdxs
    with nogil:
        tdxs = sum_ops.sum_backward(tdy, txs)
    return tuple(to_numpy(t) for t in tdxs)
