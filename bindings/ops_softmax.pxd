from libc.stdint cimport int64_t
from libcpp cimport bool
from libengine cimport Tensor, engine_raise_py_error

cdef extern from "ops/softmax/softmax.h" namespace "engine" nogil:
    cdef enum class SoftmaxKind "engine::SoftmaxKind":
        Softmax "engine::SoftmaxKind::Softmax"
        LogSoftmax "engine::SoftmaxKind::LogSoftmax"
    cdef cppclass SoftmaxAttrs "engine::SoftmaxAttrs":
        int64_t axis
        bool coerce_2d
    Tensor softmax_forward(SoftmaxKind kind, const Tensor& x,
                           const SoftmaxAttrs& attrs) except +engine_raise_py_error
    Tensor softmax_backward(SoftmaxKind kind, const Tensor& dy, const Tensor& y,
                            const SoftmaxAttrs& attrs) except +engine_raise_py_error
