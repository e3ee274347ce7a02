# Elementwise binary ops with numpy broadcasting (ONNX Add, Sub, Mul, Div). Included by
# _core.pyx.
from ops_binary cimport BinaryOp
cimport ops_binary as binops


def binary_forward(str name, a, b):
    """y = a <op> b for the ONNX op `name` ("Add", "Sub", "Mul", "Div"), broadcasting."""
    cdef BinaryOp op = binops.binary_op_from_name(name.encode())
    cdef Tensor ta = as_tensor(a, name + ": a")
    cdef Tensor tb = as_tensor(b, name + ": b")
    cdef Tensor ty
    with nogil:
        ty = binops.binary_forward(op, ta, tb)
    return to_numpy(ty)


def binary_backward(str name, dy, a, b, bint need_da=True, bint need_db=True):
    """(da, db): dy times each partial derivative, summed back to each input's shape.
    A gradient not needed is skipped and returned as None."""
    cdef BinaryOp op = binops.binary_op_from_name(name.encode())
    what = name + "_backward"
    cdef Tensor tdy = as_tensor(dy, what + ": dy")
    cdef Tensor ta = as_tensor(a, what + ": a")
    cdef Tensor tb = as_tensor(b, what + ": b")
    cdef Tensor tda, tdb
    if need_da:
        tda = core.tensor_empty(ta.shape(), DType.Float32)
    if need_db:
        tdb = core.tensor_empty(tb.shape(), DType.Float32)
    with nogil:
        binops.binary_backward(op, tdy, ta, tb, &tda if need_da else NULL,
                               &tdb if need_db else NULL)
    return (to_numpy(tda) if need_da else None, to_numpy(tdb) if need_db else None)
