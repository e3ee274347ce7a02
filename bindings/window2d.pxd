# The sliding-window attributes shared by Conv and the pooling ops.
from libc.stdint cimport int64_t
from libcpp cimport bool
from libcpp.string cimport string
from libcpp.vector cimport vector
from libengine cimport engine_raise_py_error

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
