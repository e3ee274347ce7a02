# Declarations of engine/ops.h: every op as a function on tensors (no behaviour here).
from libc.stdint cimport int64_t, uint64_t
from libcpp cimport bool
from libcpp.map cimport map
from libcpp.string cimport string
from libcpp.vector cimport vector
from libengine cimport Tensor, DType, Shape, engine_raise_py_error
cimport graph as g

cdef extern from "engine/ops.h" namespace "engine" nogil:
    cdef cppclass ValueDesc "engine::ValueDesc":
        DType dtype
        Shape shape
        const Tensor* constant
        bool present

    cdef cppclass OpCall "engine::OpCall":
        string op_type
        string domain
        map[string, g.Attribute] attrs
        g.Mode mode
        int num_outputs
        uint64_t step

    cdef cppclass OpResult "engine::OpResult":
        vector[Tensor] outputs
        vector[Tensor] state

    OpResult run_op(const OpCall& call, const vector[Tensor]& inputs) except +engine_raise_py_error
    vector[Tensor] run_op_backward(const OpCall& call, const vector[Tensor]& inputs,
                                   const vector[Tensor]& outputs, const vector[Tensor]& state,
                                   const vector[Tensor]& douts,
                                   const vector[bool]& need) except +engine_raise_py_error
    vector[ValueDesc] infer_op(const OpCall& call,
                               const vector[ValueDesc]& inputs) except +engine_raise_py_error
    vector[string] supported_ops()

    cdef cppclass AttributeSchema "engine::AttributeSchema":
        string name
        g.AttributeKind kind
        bool required
        bool has_default
        g.Attribute default_value

    cdef cppclass OpSchemaInfo "engine::OpSchemaInfo":
        string domain
        string op_type
        int min_inputs
        int max_inputs
        int min_outputs
        int max_outputs
        vector[AttributeSchema] attributes
        int64_t onnx_since_opset

    OpSchemaInfo op_schema(const string& domain,
                           const string& op_type) except +engine_raise_py_error
