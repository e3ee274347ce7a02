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
    cdef enum class LossKind "engine::LossKind":
        MeanSquaredError
        MeanAbsoluteError
        Huber
        BinaryCrossEntropy
        BinaryCrossEntropyFromLogits
        CategoricalCrossEntropy
    cdef cppclass LossAttrs "engine::LossAttrs":
        LossKind kind
        Reduction reduction
        float delta
        int64_t axis
    Tensor loss_forward(const Tensor& pred, const Tensor& target,
                        const LossAttrs& attrs) except +engine_raise_py_error
    void loss_backward(const Tensor& dloss, const Tensor& pred, const Tensor& target,
                       const LossAttrs& attrs, Tensor& dpred,
                       Tensor& dtarget) except +engine_raise_py_error
