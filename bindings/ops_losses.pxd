from libc.stdint cimport int64_t
from libcpp.string cimport string
from libengine cimport Tensor, engine_raise_py_error

cdef extern from "ops/losses/losses.h" namespace "engine" nogil:
    cdef enum class Reduction "engine::Reduction":
        pass
    Reduction reduction_from_name(const string& name,
                                  const char* op) except +engine_raise_py_error
    const int64_t kNoIgnoreIndex "engine::kNoIgnoreIndex"
    cdef cppclass CrossEntropyAttrs "engine::CrossEntropyAttrs":
        Reduction reduction
        int64_t ignore_index
    Tensor softmax_cross_entropy_forward(const Tensor& logits, const Tensor& target,
                                         const Tensor& weight,
                                         const CrossEntropyAttrs& attrs
                                         ) except +engine_raise_py_error
    Tensor softmax_cross_entropy_backward(const Tensor& dloss, const Tensor& logits,
                                          const Tensor& target, const Tensor& weight,
                                          const CrossEntropyAttrs& attrs
                                         ) except +engine_raise_py_error
    Tensor mean_squared_error_forward(const Tensor& pred, const Tensor& target,
                                      Reduction reduction) except +engine_raise_py_error
    void mean_squared_error_backward(const Tensor& dloss, const Tensor& pred, const Tensor& target,
                                     Reduction reduction, Tensor& dpred,
                                     Tensor& dtarget) except +engine_raise_py_error
