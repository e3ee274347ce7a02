from libc.stdint cimport int64_t, uint64_t
from libcpp cimport bool
from libcpp.map cimport map
from libcpp.memory cimport shared_ptr
from libcpp.set cimport set as cset
from libcpp.string cimport string
from libcpp.vector cimport vector
from libengine cimport Tensor, DType, Shape, engine_raise_py_error
from optim cimport Optimizer

cdef extern from "engine/ir.h" namespace "engine" nogil:
    cdef enum class AttributeKind "engine::Attribute::Kind":
        Int
        Float
        String
        Ints
        Floats
        Strings
        # Tensor: the remaining kind (its name would shadow the Tensor class here)

    cdef cppclass Attribute "engine::Attribute":
        AttributeKind kind
        int64_t i
        float f
        string s
        vector[int64_t] ints
        vector[float] floats
        Tensor t
        vector[string] strings
    Attribute attr_of_int "engine::Attribute::of_int"(int64_t v)
    Attribute attr_of_float "engine::Attribute::of_float"(float v)
    Attribute attr_of_string "engine::Attribute::of_string"(string v)
    Attribute attr_of_ints "engine::Attribute::of_ints"(vector[int64_t] v)
    Attribute attr_of_floats "engine::Attribute::of_floats"(vector[float] v)
    Attribute attr_of_tensor "engine::Attribute::of_tensor"(Tensor v)
    Attribute attr_of_strings "engine::Attribute::of_strings"(vector[string] v)

    cdef cppclass Node "engine::Node":
        string name
        string op_type
        string domain
        vector[string] inputs
        vector[string] outputs
        map[string, Attribute] attrs

    cdef cppclass ValueInfo "engine::ValueInfo":
        string name
        DType dtype
        Shape shape
        int onnx_type

    cdef cppclass Graph "engine::Graph":
        vector[ValueInfo] inputs
        vector[ValueInfo] outputs
        vector[Node] nodes
        map[string, Tensor] initializers
        cset[string] trainable

    cdef enum class Mode "engine::Mode":
        Inference
        Training

cdef extern from "engine/communicator.h" namespace "engine" nogil:
    cdef cppclass Communicator "engine::Communicator":
        pass

cdef extern from "py_bridge.h":
    shared_ptr[Communicator] engine_py_communicator(object target) except +engine_raise_py_error

cdef extern from "engine/graph.h" namespace "engine" nogil:
    cdef cppclass ExecutorStats "engine::ExecutorStats":
        int64_t plans
        int64_t planned_bytes
        int64_t buffer_allocations
        int64_t fused_activations
        int64_t folded_batch_norms
        int64_t fused_gelus
        int64_t fused_layer_norms
        int64_t fused_swishes
        int64_t fused_hard_swishes

    cdef cppclass ParameterLock "engine::ParameterLock":
        pass

    cdef cppclass Executor "engine::Executor":
        Executor(shared_ptr[Graph] graph,
                 shared_ptr[ParameterLock] lock) except +engine_raise_py_error
        vector[Tensor] run(const vector[Tensor]& inputs, Mode mode) except +engine_raise_py_error
        float train_step(const vector[Tensor]& inputs, const string& loss_output,
                         const vector[string]& fetch, vector[Tensor]* fetched,
                         float samples) except +engine_raise_py_error
        Tensor gradient(const string& name) except +engine_raise_py_error
        map[string, Tensor] gradients(const vector[Tensor]& inputs, const string& output,
                                      const Tensor& seed, Mode mode,
                                      Tensor* output_value) except +engine_raise_py_error
        void set_optimizer(shared_ptr[Optimizer] optimizer,
                           vector[string] parameters) except +engine_raise_py_error
        void set_step(uint64_t step)
        void set_communicator(shared_ptr[Communicator] communicator) except +engine_raise_py_error
        Tensor value(const string& name) except +engine_raise_py_error
        map[string, Shape] infer_shapes(const vector[Shape]& input_shapes,
                                        Mode mode) except +engine_raise_py_error
        ExecutorStats stats()
