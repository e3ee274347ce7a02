from libc.stdint cimport int64_t
from libcpp cimport bool
from libcpp.string cimport string
from libcpp.vector cimport vector
from libengine cimport Tensor, engine_raise_py_error
from window2d cimport AutoPad, Window2dAttrs, auto_pad_from_string

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
