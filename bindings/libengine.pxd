# Declarations of the core's public C++ API: tensors, devices, threads and settings (no
# behaviour here). Every call that may throw is declared `except +engine_raise_py_error`,
# which maps engine::Error kinds to Python exception classes; calls are `nogil` so wrappers
# can release the GIL around them.
from libc.stdint cimport int64_t
from libcpp cimport bool
from libcpp.string cimport string
from libcpp.vector cimport vector

cdef extern from "py_bridge.h":
    void engine_raise_py_error()

cdef extern from "engine/device.h" namespace "engine" nogil:
    cdef enum class DeviceKind "engine::DeviceKind":
        CPU
        CUDA
    cdef cppclass Device "engine::Device":
        DeviceKind kind
        int index
        string str()
    Device device_parse "engine::Device::parse"(const string& text) except +engine_raise_py_error

cdef extern from "engine/tensor.h" namespace "engine" nogil:
    cdef enum class DType "engine::DType":
        Float32
        Int64

    ctypedef vector[int64_t] Shape

    cdef cppclass Tensor "engine::Tensor":
        Tensor()
        bool defined()
        DType dtype()
        Device device()
        const Shape& shape()
        const Shape& strides()
        int ndim()
        int64_t numel()
        size_t nbytes()
        bool is_contiguous()
        void* raw_data() except +engine_raise_py_error
        Tensor contiguous() except +engine_raise_py_error
        Tensor to(Device device) except +engine_raise_py_error
        string describe()

    void check_contiguous(const Tensor& t, const char* what) except +engine_raise_py_error
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

cdef extern from "engine/runtime.h" namespace "engine" nogil:
    cdef enum class KernelImpl "engine::KernelImpl":
        Optimized
        Reference
    const char* version()
    const char* cpu_features()
    void set_kernel_impl(KernelImpl impl)
    KernelImpl get_kernel_impl()
    void set_portable_kernels(bool on)
    int cuda_device_count()
    bool cuda_built()
