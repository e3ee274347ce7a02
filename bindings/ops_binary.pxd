from libcpp.string cimport string
from libengine cimport Tensor, Shape, engine_raise_py_error

cdef extern from "ops/binary/binary.h" namespace "engine" nogil:
    cdef enum class BinaryOp "engine::BinaryOp":
        pass
    BinaryOp binary_op_from_name(const string& name) except +engine_raise_py_error
    Shape broadcast_shapes(const char* op, const Shape& a,
                           const Shape& b) except +engine_raise_py_error
    Tensor binary_forward(BinaryOp op, const Tensor& a,
                          const Tensor& b) except +engine_raise_py_error
    void binary_backward(BinaryOp op, const Tensor& dy, const Tensor& a, const Tensor& b,
                         Tensor* da, Tensor* db) except +engine_raise_py_error
