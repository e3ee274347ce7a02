# Declarations of the core's public C++ API: tensors, devices, threads and settings (no
# behaviour here). Every call that may throw is declared `except +engine_raise_py_error`,
# which maps engine::Error kinds to Python exception classes; calls are `nogil` so wrappers
# can release the GIL around them.
from libc.stdint cimport int64_t, uint64_t
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
        bool is_cpu()
    Device device_parse "engine::Device::parse"(const string& text) except +engine_raise_py_error
    Device device_cpu "engine::Device::cpu"()

cdef extern from "engine/tensor.h" namespace "engine" nogil:
    cdef enum class DType "engine::DType":
        Float32
        Int64
        Bool
    size_t dtype_size(DType) except +engine_raise_py_error

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
        void copy_from(const Tensor& src) except +engine_raise_py_error
        string describe()

    void check_contiguous(const Tensor& t, const char* what) except +engine_raise_py_error
    Tensor tensor_empty "engine::Tensor::empty"(const Shape&, DType) except +engine_raise_py_error
    Tensor tensor_empty_on "engine::Tensor::empty"(const Shape&, DType, Device) except +engine_raise_py_error
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
        CudaEmulation
    const char* version()
    const char* cpu_features()
    void set_kernel_impl(KernelImpl impl)
    KernelImpl get_kernel_impl()
    uint64_t parameters_version()
    void parameters_changed()
    uint64_t prepared_weights_count()
    void set_portable_kernels(bool on)
    void set_cpu_isa(const char* name) except +engine_raise_py_error
    bool cpu_isa_supported(const char* name)
    int cuda_device_count()
    bool cuda_built()

cdef extern from "engine/cuda.h" namespace "engine::cuda" nogil:
    cdef cppclass CudaMemoryStats "engine::cuda::MemoryStats":
        int64_t allocated_bytes
        int64_t reserved_bytes
        int64_t peak_allocated_bytes
        int64_t allocations
        int64_t cache_hits
        int64_t device_mallocs
    bool cuda_is_available "engine::cuda::is_available"()
    string cuda_unavailable_reason "engine::cuda::unavailable_reason"()
    CudaMemoryStats cuda_memory_stats "engine::cuda::memory_stats"(int device) except +engine_raise_py_error
    void cuda_empty_cache "engine::cuda::empty_cache"()
    void cuda_synchronize "engine::cuda::synchronize"(int device) except +engine_raise_py_error
    void cuda_set_gemm "engine::cuda::set_gemm"(const string& which) except +engine_raise_py_error
    string cuda_gemm "engine::cuda::gemm"() except +engine_raise_py_error
    void cuda_allow_tf32 "engine::cuda::allow_tf32"(bool allow) except +engine_raise_py_error
    bool cuda_tf32_allowed "engine::cuda::tf32_allowed"() except +engine_raise_py_error
