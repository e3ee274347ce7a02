from libcpp.vector cimport vector
from libengine cimport Tensor, engine_raise_py_error

cdef extern from "ops/sum/sum.h" namespace "engine" nogil:
    Tensor sum_forward(const vector[Tensor]& xs) except +engine_raise_py_error
    vector[Tensor] sum_backward(const Tensor& dy,
                                const vector[Tensor]& xs) except +engine_raise_py_error
