# Declarations of the core's C++ API (no behaviour here). Every call that may throw is
# declared `except +engine_raise_py_error`, which maps engine::Error kinds to Python
# exception classes; kernels are `nogil` so wrappers can release the GIL around them.
from libc.stdint cimport int64_t
from libcpp cimport bool
from libcpp.string cimport string
from libcpp.vector cimport vector

cdef extern from "py_bridge.h":
    void engine_raise_py_error()

cdef extern from "engine/tensor.h" namespace "engine" nogil:
    cdef enum class DType "engine::DType":
        Float32
        Int64

    ctypedef vector[int64_t] Shape

    cdef cppclass Tensor "engine::Tensor":
        Tensor()
        bool defined()
        DType dtype()
        const Shape& shape()
        const Shape& strides()
        int ndim()
        int64_t numel()
        size_t nbytes()
        bool is_contiguous()
        void* raw_data() except +engine_raise_py_error
        Tensor contiguous() except +engine_raise_py_error
        string describe()

    Tensor tensor_empty "engine::Tensor::empty"(const Shape&, DType) except +engine_raise_py_error
    Tensor tensor_zeros "engine::Tensor::zeros"(const Shape&, DType) except +engine_raise_py_error

    cdef cppclass Storage "engine::Storage":
        pass
    void storage_set_poison "engine::Storage::set_poison"(bool on)
    int64_t storage_live_bytes "engine::Storage::live_bytes"()
    int64_t storage_allocation_count "engine::Storage::allocation_count"()

cdef extern from "py_bridge.h":
    Tensor engine_tensor_from_object(object obj, DType dtype) except +engine_raise_py_error

cdef extern from "engine/threads.h" namespace "engine" nogil:
    void set_num_threads(int n) except +engine_raise_py_error
    int get_num_threads()

cdef extern from "engine/engine.h" namespace "engine" nogil:
    cdef enum class KernelImpl "engine::KernelImpl":
        Optimized
        Reference
    const char* version()
    const char* cpu_features()
    void set_kernel_impl(KernelImpl impl)
    KernelImpl get_kernel_impl()
    int cuda_device_count()
    bool cuda_built()

cdef extern from "core/cpu_features.h" namespace "engine" nogil:
    void force_portable_kernels(bool on)
