from libc.stdint cimport int64_t, uint64_t
from libcpp cimport bool
from libcpp.vector cimport vector
from libengine cimport Tensor, Shape, engine_raise_py_error

cdef extern from "ops/batch_norm/batch_norm.h" namespace "engine" nogil:
    cdef cppclass BatchNormAttrs "engine::BatchNormAttrs":
        float epsilon
        float momentum
    cdef cppclass BatchNormSaved "engine::BatchNormSaved":
        Tensor mean
        Tensor inv_std
    cdef cppclass BatchNormGrads "engine::BatchNormGrads":
        Tensor dx
        Tensor dscale
        Tensor dbias
    Tensor batch_norm_forward_inference(const Tensor& x, const Tensor& scale, const Tensor& bias,
                                        const Tensor& mean, const Tensor& var,
                                        const BatchNormAttrs& attrs) except +engine_raise_py_error
    Tensor batch_norm_forward_training(const Tensor& x, const Tensor& scale, const Tensor& bias,
                                       const Tensor& running_mean, const Tensor& running_var,
                                       const BatchNormAttrs& attrs,
                                       BatchNormSaved& saved) except +engine_raise_py_error
    BatchNormGrads batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& scale,
                                       const BatchNormSaved& saved,
                                       bool training) except +engine_raise_py_error

cdef extern from "ops/dropout/dropout.h" namespace "engine" nogil:
    Tensor dropout_forward(const Tensor& x, float rate, uint64_t seed, bool training,
                           Tensor& mask) except +engine_raise_py_error
    Tensor dropout_backward(const Tensor& dy, const Tensor& mask,
                            float rate) except +engine_raise_py_error

cdef extern from "ops/concat/concat.h" namespace "engine" nogil:
    Shape concat_output_shape(const vector[Shape]& shapes,
                              int64_t axis) except +engine_raise_py_error
    Tensor concat_forward(const vector[Tensor]& xs, int64_t axis) except +engine_raise_py_error
    vector[Tensor] concat_backward(const Tensor& dy, const vector[Shape]& shapes,
                                   int64_t axis) except +engine_raise_py_error

cdef extern from "ops/transpose/transpose.h" namespace "engine" nogil:
    Shape transpose_output_shape(const Shape& shape,
                                 const vector[int64_t]& perm) except +engine_raise_py_error
    Tensor transpose_forward(const Tensor& x,
                             const vector[int64_t]& perm) except +engine_raise_py_error
    Tensor transpose_backward(const Tensor& dy,
                              const vector[int64_t]& perm) except +engine_raise_py_error

cdef extern from "ops/reshape/reshape.h" namespace "engine" nogil:
    Shape reshape_output_shape(const Shape& shape, const vector[int64_t]& spec,
                               bool allowzero) except +engine_raise_py_error
    Shape flatten_output_shape(const Shape& shape, int64_t axis) except +engine_raise_py_error
    void identity_forward(const Tensor& x, Tensor& y) except +engine_raise_py_error
    Tensor reshape_forward(const Tensor& x, const vector[int64_t]& spec,
                           bool allowzero) except +engine_raise_py_error
    Tensor flatten_forward(const Tensor& x, int64_t axis) except +engine_raise_py_error
    Tensor reshape_backward(const Tensor& dy, const Shape& x_shape) except +engine_raise_py_error
