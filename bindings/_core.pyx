# cython: language_level=3, boundscheck=False, wraparound=False, embedsignature=True
"""engine._core: the Cython bridge to libengine.

Arrays cross without copies: numpy -> core through the buffer protocol (the core keeps
the array alive while it uses it), core -> numpy through a small exporter object that
holds the tensor. Every kernel runs with the GIL released.
"""
from cpython.buffer cimport Py_buffer
from libc.stdint cimport int64_t
from libcpp cimport bool
from libcpp.string cimport string
from libcpp.vector cimport vector
from libc.string cimport memcpy

import numpy as np

from libengine cimport Tensor, DType, Shape, KernelImpl, Device
cimport libengine as core
cimport graph as g

_PY_BOOL = type(True)  # `bool` names the C++ type in this module


cdef class CoreTensor:
    """A core tensor exported to Python through the buffer protocol (np.asarray views it)."""
    cdef Tensor t
    cdef vector[Py_ssize_t] _shape
    cdef vector[Py_ssize_t] _strides

    def __getbuffer__(self, Py_buffer* buf, int flags):
        cdef int i
        cdef Py_ssize_t item = core.dtype_size(self.t.dtype())
        self._shape.resize(self.t.ndim())
        self._strides.resize(self.t.ndim())
        for i in range(self.t.ndim()):
            self._shape[i] = self.t.shape()[i]
            self._strides[i] = self.t.strides()[i] * item
        buf.buf = self.t.raw_data()
        buf.obj = self
        buf.len = self.t.numel() * item
        buf.readonly = 0
        buf.itemsize = item
        buf.format = (b"f" if self.t.dtype() == DType.Float32 else
                      b"q" if self.t.dtype() == DType.Int64 else b"?")
        buf.ndim = self.t.ndim()
        buf.shape = self._shape.data()
        buf.strides = self._strides.data()
        buf.suboffsets = NULL
        buf.internal = NULL

    def __releasebuffer__(self, Py_buffer* buf):
        pass


cdef object to_numpy(const Tensor& t):
    """A numpy array viewing the tensor's memory (no copy); it keeps the tensor alive.
    A tensor on another device is copied to the host first."""
    cdef CoreTensor holder = CoreTensor.__new__(CoreTensor)
    if t.device().is_cpu():
        holder.t = t
    else:
        with nogil:
            holder.t = t.to(core.device_cpu())
    return np.asarray(holder)


_INT_KINDS = ("i", "u")

cdef Tensor as_tensor(object x, str what) except *:
    """A core tensor viewing `x` (no copy for numpy float32/int64/bool arrays).

    numpy arrays must already be float32, int64 or bool: anything else is a TypeError naming
    the argument. Python scalars and lists are converted (floats to float32, ints to int64).
    """
    if isinstance(x, np.ndarray):
        arr = x
    else:
        arr = np.asarray(x)
        if arr.dtype.kind == "f":
            arr = arr.astype(np.float32)
        elif arr.dtype.kind in _INT_KINDS:
            arr = arr.astype(np.int64)
    cdef DType dtype
    if arr.dtype == np.float32:
        dtype = DType.Float32
    elif arr.dtype == np.int64:
        dtype = DType.Int64
    elif arr.dtype == np.bool_:
        dtype = DType.Bool
    else:
        raise TypeError(f"{what} must be a float32 or int64 array, got dtype {arr.dtype}")
    return core.engine_tensor_from_object(arr, dtype)


cdef Tensor as_optional_tensor(object x, str what) except *:
    cdef Tensor empty
    if x is None:
        return empty
    return as_tensor(x, what)


cdef vector[int64_t] as_int_list(object values, str what) except *:
    cdef vector[int64_t] out
    if values is None:
        return out
    if isinstance(values, (int, np.integer)):
        out.push_back(int(values))
        return out
    for v in values:
        if not isinstance(v, (int, np.integer)):
            raise TypeError(f"{what} must hold integers, got {values!r}")
        out.push_back(int(v))
    return out


cdef g.Attribute _attribute(str key, object value) except *:
    """An ONNX attribute from a Python value: int (bool), float, str, numpy array (tensor),
    or a list of ints, floats or strings."""
    if isinstance(value, _PY_BOOL):
        return g.attr_of_int(int(value))
    if isinstance(value, (int, np.integer)):
        return g.attr_of_int(int(value))
    if isinstance(value, (float, np.floating)):
        return g.attr_of_float(float(value))
    if isinstance(value, str):
        return g.attr_of_string(value.encode())
    if isinstance(value, np.ndarray):
        return g.attr_of_tensor(as_tensor(np.require(value, requirements="C"), f"attribute {key}").contiguous())
    if isinstance(value, (list, tuple)):
        if all(isinstance(v, (int, np.integer)) and not isinstance(v, _PY_BOOL) for v in value):
            return g.attr_of_ints(as_int_list(value, key))
        if all(isinstance(v, (int, float, np.integer, np.floating)) for v in value):
            return g.attr_of_floats([float(v) for v in value])
        if all(isinstance(v, str) for v in value):
            return g.attr_of_strings([v.encode() for v in value])
    raise TypeError(f"attribute {key!r}: unsupported value {value!r}")


# ---- library-wide settings ----------------------------------------------------------

def set_num_threads(int n):
    """Threads the CPU kernels may use."""
    core.set_num_threads(n)


def get_num_threads():
    return core.get_num_threads()


def version_string():
    return core.version().decode()


def cpu_features_string():
    return core.cpu_features().decode()


def set_reference_kernels(bint on):
    """Run the naive reference kernels instead of the optimized ones (for tests)."""
    core.set_kernel_impl(KernelImpl.Reference if on else KernelImpl.Optimized)


def reference_kernels():
    return core.get_kernel_impl() == KernelImpl.Reference


_KERNEL_VARIANTS = {"cpu": KernelImpl.Optimized, "ref": KernelImpl.Reference,
                    "cuda-emulated": KernelImpl.CudaEmulation}


def parameters_changed():
    """Says that parameters' memory was written outside the core's own updates (values kept
    between calls from parameters, such as transformed convolution weights, are recomputed)."""
    core.parameters_changed()


def parameters_version():
    return core.parameters_version()


def prepared_weights_count():
    """How many times kernels prepared values kept from parameters (transformed weights)."""
    return core.prepared_weights_count()


def set_kernel_variant(str name):
    """Which kernels CPU tensors run on: "cpu" (optimized, the default), "ref" (the naive
    oracles) or "cuda-emulated" (the CUDA kernels' bodies looped over their grid)."""
    if name not in _KERNEL_VARIANTS:
        raise ValueError(f"unknown kernel variant {name!r} (expected one of {sorted(_KERNEL_VARIANTS)})")
    core.set_kernel_impl(_KERNEL_VARIANTS[name])


def set_portable_kernels(bint on):
    """Use the portable (non-AVX2) micro-kernels even on an AVX2 machine (for tests)."""
    core.set_portable_kernels(on)


CPU_ISAS = ("portable", "avx2", "avx512")


def set_cpu_isa(str name):
    """The instruction-set level of the CPU kernels (for tests): "portable", "avx2",
    "avx512" or "best" (the default). A level this CPU lacks raises ValueError."""
    core.set_cpu_isa(name.encode())


def cpu_isa_supported(str name):
    """Whether this CPU has the kernel level `name` (one of CPU_ISAS)."""
    return core.cpu_isa_supported(name.encode())


def cuda_devices():
    return core.cuda_device_count()


def has_cuda_build():
    return core.cuda_built()


def canonical_device(str name):
    """"cpu", "cuda", "cuda:N" -> "cpu" or "cuda:N" (the core's parser; ValueError otherwise)."""
    return core.device_parse(name.encode()).str().decode()


def cuda_is_available():
    return core.cuda_is_available()


def cuda_unavailable_reason():
    return core.cuda_unavailable_reason().decode()


def cuda_memory_stats(int device=0):
    cdef core.CudaMemoryStats s = core.cuda_memory_stats(device)
    return {"allocated_bytes": s.allocated_bytes, "reserved_bytes": s.reserved_bytes,
            "peak_allocated_bytes": s.peak_allocated_bytes, "allocations": s.allocations,
            "cache_hits": s.cache_hits, "device_mallocs": s.device_mallocs}


def cuda_empty_cache():
    core.cuda_empty_cache()


def cuda_synchronize(int device=0):
    with nogil:
        core.cuda_synchronize(device)


def cuda_set_gemm(str which):
    core.cuda_set_gemm(which.encode())


def cuda_gemm():
    return core.cuda_gemm().decode()


def cuda_allow_tf32(bint allow):
    core.cuda_allow_tf32(allow)


def cuda_tf32_allowed():
    return core.cuda_tf32_allowed()


def set_poison(bint on):
    """Fill new core allocations with NaN so unwritten outputs show up (for tests)."""
    core.storage_set_poison(on)


def memory_stats():
    """Bytes the core currently holds and how many allocations it has made so far."""
    return {"live_bytes": core.storage_live_bytes(),
            "allocations": core.storage_allocation_count()}


def _empty(shape):
    """An uninitialised core float32 tensor (NaN-filled while poisoning is on)."""
    cdef Shape dims = as_int_list(shape, "shape")
    return to_numpy(core.tensor_empty(dims, DType.Float32))


def op_input(x, str what):
    """x as an op sees it: a C-contiguous float32 or int64 array viewing x's memory (no copy
    for numpy arrays); TypeError or ValueError naming `what` otherwise."""
    cdef Tensor t = as_tensor(x, what)
    core.check_contiguous(t, what.encode())
    return to_numpy(t)


def _roundtrip(x):
    """numpy -> core -> numpy without copies (tests check the memory is shared)."""
    return to_numpy(as_tensor(x, "x"))


# ---- by subject: every op through one runner, graphs, optimizers, the ONNX codec -----
include "graph.pxi"
include "ops.pxi"
include "optim.pxi"
include "onnx_codec.pxi"
