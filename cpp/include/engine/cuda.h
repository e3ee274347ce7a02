// The CUDA backend, seen from the host. It is a plugin (libengine_cuda.so next to
// libengine), loaded the first time a CUDA device is used or any function here is called;
// libengine itself needs no GPU, driver or CUDA runtime.
#pragma once

#include <cstdint>
#include <string>

#include "engine/export.h"

namespace engine {
namespace cuda {

// Whether CUDA tensors can be made: the plugin loaded, a driver and a usable device.
ENGINE_API bool is_available();
// Why not ("" when available): the plugin is not built, no driver, no device, ...
ENGINE_API std::string unavailable_reason();
ENGINE_API int device_count();

struct MemoryStats {
  int64_t allocated_bytes = 0;       // held by tensors now
  int64_t reserved_bytes = 0;        // taken from the driver (allocated + cached)
  int64_t peak_allocated_bytes = 0;
  int64_t allocations = 0;           // requests served
  int64_t cache_hits = 0;            // of them, from the cache
  int64_t device_mallocs = 0;        // cudaMalloc calls
};
ENGINE_API MemoryStats memory_stats(int device = 0);
// Returns cached, unused blocks to the driver.
ENGINE_API void empty_cache();
// Waits for the device's queued work.
ENGINE_API void synchronize(int device = 0);

// The GEMM behind Gemm, MatMul and Conv: "auto" (cuBLAS when it can be loaded, else our
// own), "own" or "cublas" (an error when cuBLAS cannot be loaded).
ENGINE_API void set_gemm(const std::string& which);
ENGINE_API std::string gemm();  // the one in use: "own" or "cublas"
// TF32 tensor-core math in cuBLAS GEMMs (off by default, as in PyTorch).
ENGINE_API void allow_tf32(bool allow);
ENGINE_API bool tf32_allowed();

}  // namespace cuda
}  // namespace engine
