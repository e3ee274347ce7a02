# Declarations of the ONNX codec (engine/onnx.h), no behaviour here.
from libc.stdint cimport int64_t
from libcpp cimport bool
from libcpp.map cimport map
from libcpp.set cimport set as cset
from libcpp.string cimport string
from libcpp.utility cimport pair
from libcpp.vector cimport vector
from libengine cimport Tensor, Shape, engine_raise_py_error
cimport graph as g

cdef extern from "engine/onnx.h" namespace "engine" nogil:
    cdef cppclass OnnxModel "engine::OnnxModel":
        g.Graph graph
        string graph_name
        int64_t ir_version
        vector[pair[string, int64_t]] opset_imports
        string producer_name
        string producer_version
        string domain
        int64_t model_version
        string doc_string
        map[string, string] metadata

    cdef cppclass OnnxWriteOptions "engine::OnnxWriteOptions":
        int64_t external_threshold_bytes
        string external_file

    OnnxModel onnx_read(const string& path) except +engine_raise_py_error
    OnnxModel onnx_parse(const void* data, size_t size,
                         const string& base_dir) except +engine_raise_py_error
    void onnx_write(const OnnxModel& model, const string& path,
                    const OnnxWriteOptions& options) except +engine_raise_py_error
    string onnx_serialize(const OnnxModel& model) except +engine_raise_py_error

    cdef cppclass OnnxImport "engine::OnnxImport":
        g.Graph graph
        cset[string] weights
        vector[Shape] output_shapes
        bool fixed_batch
        int64_t opset

    OnnxImport onnx_import(const OnnxModel& model,
                           const string& source, bool exact_shapes) except +engine_raise_py_error
    OnnxImport onnx_load(const string& path) except +engine_raise_py_error
