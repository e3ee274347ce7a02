from libc.stdint cimport int64_t
from libcpp cimport bool
from libcpp.string cimport string
from libcpp.vector cimport vector
from libengine cimport Tensor, engine_raise_py_error

cdef extern from "engine/optimizer.h" namespace "engine" nogil:
    cdef enum class OptimizerKind "engine::OptimizerKind":
        pass

    cdef cppclass OptimizerConfig "engine::OptimizerConfig":
        OptimizerKind kind
        float learning_rate
        double momentum
        bool nesterov
        double beta_1
        double beta_2
        double epsilon
        double rho
        bool centered
        double initial_accumulator_value
        bool amsgrad
        double weight_decay
        double clipnorm
        double clipvalue
        double global_clipnorm

    OptimizerKind optimizer_kind_from_name(const string& name) except +engine_raise_py_error
    const char* optimizer_kind_name(OptimizerKind kind)
    OptimizerConfig optimizer_default_config(OptimizerKind kind)

    cdef cppclass Optimizer "engine::Optimizer":
        Optimizer(OptimizerConfig config) except +engine_raise_py_error
        const OptimizerConfig& config()
        void set_learning_rate(float lr) except +engine_raise_py_error
        float learning_rate()
        int64_t iterations()
        void apply(const vector[Tensor]& params,
                   const vector[Tensor]& grads) except +engine_raise_py_error
        vector[string] slot_names()
        size_t num_params()
        vector[Tensor] state()
        void load_state(int64_t iterations,
                        const vector[Tensor]& slots) except +engine_raise_py_error
