from libcpp.string cimport string
from libengine cimport Tensor, engine_raise_py_error

cdef extern from "ops/activation/activation.h" namespace "engine" nogil:
    cdef enum class Activation "engine::Activation":
        pass
    cdef cppclass ActivationAttrs "engine::ActivationAttrs":
        float alpha
        float gamma
    Activation activation_from_name(const string& name) except +engine_raise_py_error
    ActivationAttrs activation_default_attrs(Activation op)
    Tensor activation_forward(Activation op, const Tensor& x,
                              const ActivationAttrs& attrs) except +engine_raise_py_error
    Tensor activation_backward(Activation op, const Tensor& dy, const Tensor& x, const Tensor& y,
                               const ActivationAttrs& attrs) except +engine_raise_py_error
