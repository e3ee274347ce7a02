from libc.stdint cimport int64_t
from libcpp cimport bool
from libcpp.string cimport string
from libcpp.vector cimport vector
from libengine cimport Tensor, engine_raise_py_error

cdef extern from "ops/window2d.h" namespace "engine" nogil:
    cdef enum class AutoPad "engine::AutoPad":
        pass
    AutoPad auto_pad_from_string(const string& s) except +engine_raise_py_error
    cdef cppclass Window2dAttrs "engine::Window2dAttrs":
        vector[int64_t] kernel_shape
        vector[int64_t] strides
        vector[int64_t] pads
        vector[int64_t] dilations
        AutoPad auto_pad
        bool ceil_mode

cdef extern from "ops/pool/pool.h" namespace "engine" nogil:
    cdef enum class PoolKind "engine::PoolKind":
        Max
        Average
    cdef cppclass PoolAttrs "engine::PoolAttrs":
        Window2dAttrs window
        bool count_include_pad
    Tensor pool2d_forward(PoolKind kind, const Tensor& x,
                          const PoolAttrs& attrs) except +engine_raise_py_error
    Tensor pool2d_backward(PoolKind kind, const Tensor& dy, const Tensor& x,
                           const PoolAttrs& attrs) except +engine_raise_py_error
    Tensor global_avg_pool2d_forward(const Tensor& x) except +engine_raise_py_error
    Tensor global_avg_pool2d_backward(const Tensor& dy,
                                      const Tensor& x) except +engine_raise_py_error
