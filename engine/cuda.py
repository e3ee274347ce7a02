"""The CUDA backend, seen from Python.

The GPU kernels live in a plugin library (libengine_cuda.so, beside the core) that the
engine loads the first time a CUDA device is used; the package imports and runs the same
without it, without a driver and without a GPU. Place a model on a GPU with
`model.compile(..., device="cuda")` (or "cuda:1").
"""
from engine import _core

__all__ = ["is_available", "unavailable_reason", "device_count", "memory_stats", "empty_cache",
           "synchronize", "set_gemm", "gemm", "allow_tf32", "tf32_allowed", "resolve_device"]


def is_available():
    """Whether models can run on a GPU here: plugin built, driver and device present."""
    return _core.cuda_is_available()


def unavailable_reason():
    """Why not ("" when available)."""
    return _core.cuda_unavailable_reason()


def device_count():
    return _core.cuda_devices()


def memory_stats(device=0):
    """The caching allocator's counters for one device: bytes allocated now, reserved from
    the driver, peak allocated, requests served, of them from the cache, cudaMalloc calls."""
    return _core.cuda_memory_stats(int(device))


def empty_cache():
    """Returns cached, unused device memory to the driver."""
    _core.cuda_empty_cache()


def synchronize(device=0):
    """Waits until the device has finished its queued work."""
    _core.cuda_synchronize(int(device))


def set_gemm(which):
    """The GEMM behind Dense, Conv2D and MatMul on the GPU: "auto" (cuBLAS when it can be
    loaded, else the engine's own), "own" or "cublas"."""
    _core.cuda_set_gemm(str(which))


def gemm():
    """The GEMM in use: "own" or "cublas"."""
    return _core.cuda_gemm()


def allow_tf32(allow=True):
    """TF32 tensor-core math in the GEMMs (off by default: results then differ from float32
    by about 1e-3 relative, as in PyTorch)."""
    _core.cuda_allow_tf32(bool(allow))


def tf32_allowed():
    return _core.cuda_tf32_allowed()


def resolve_device(device):
    """"cpu", "cuda" or "cuda:N" -> the canonical name ("cpu", "cuda:N"); a ValueError for
    anything else, a RuntimeError naming the reason when CUDA cannot be used here."""
    if not isinstance(device, str):
        raise TypeError(f"device must be a string such as 'cpu' or 'cuda', got {type(device).__name__}")
    name = _core.canonical_device(device)
    if name == "cpu":
        return name
    if not is_available():
        raise RuntimeError(f"device {device!r} is not available: {unavailable_reason()}")
    if int(name.split(":")[1]) >= device_count():
        raise ValueError(f"device {device!r} does not exist: {device_count()} CUDA device(s)")
    return name
