from libc.stdint cimport int64_t
from libcpp.vector cimport vector
from libengine cimport Tensor, Shape, engine_raise_py_error

cdef extern from "ops/unsqueeze/unsqueeze.h" namespace "engine" nogil:
    Shape unsqueeze_output_shape(const Shape& shape,
                                 const vector[int64_t]& axes) except +engine_raise_py_error
    Tensor unsqueeze_forward(const Tensor& x,
                             const vector[int64_t]& axes) except +engine_raise_py_error

cdef extern from "ops/squeeze/squeeze.h" namespace "engine" nogil:
    Shape squeeze_output_shape(const Shape& shape,
                               const vector[int64_t]& axes) except +engine_raise_py_error
    Tensor squeeze_forward(const Tensor& x,
                           const vector[int64_t]& axes) except +engine_raise_py_error
