from libc.stdint cimport int64_t
from libengine cimport Tensor, engine_raise_py_error

cdef extern from "ops/lrn/lrn.h" namespace "engine" nogil:
    cdef cppclass LrnAttrs "engine::LrnAttrs":
        int64_t size
        float alpha
        float beta
        float bias
    Tensor lrn_forward(const Tensor& x, const LrnAttrs& attrs) except +engine_raise_py_error
    Tensor lrn_backward(const Tensor& dy, const Tensor& x,
                        const LrnAttrs& attrs) except +engine_raise_py_error
