from libc.stdint cimport int64_t
from libcpp cimport bool
from libcpp.string cimport string
from libcpp.vector cimport vector
from libengine cimport Tensor, engine_raise_py_error
from window2d cimport AutoPad, Window2dAttrs, auto_pad_from_string

cdef extern from "ops/conv/conv.h" namespace "engine" nogil:
    cdef cppclass ConvAttrs "engine::ConvAttrs":
        Window2dAttrs window
        int64_t group
    cdef cppclass ConvGrads "engine::ConvGrads":
        Tensor dx
        Tensor dw
        Tensor db
    Tensor conv_forward(const Tensor& x, const Tensor& w, const Tensor& b,
                        const ConvAttrs& attrs) except +engine_raise_py_error
    ConvGrads conv_backward(const Tensor& dy, const Tensor& x, const Tensor& w,
                            const ConvAttrs& attrs, bool need_dx, bool need_dw,
                            bool need_db) except +engine_raise_py_error
