// Process-wide facts and settings of the engine: its version, the CPU features its kernels
// use, which kernel variant runs, and the devices this build can reach.
#pragma once

#include "engine/export.h"

namespace engine {

ENGINE_API const char* version();
// CPU features the kernels use ("avx2 fma" or "portable").
ENGINE_API const char* cpu_features();

// Which kernels run on the CPU: the optimized ones (default), the naive reference kernels
// kept as oracles, or the CUDA kernels' bodies run over their grid on the host. Tests
// switch this to diff one against another.
enum class KernelImpl { Optimized, Reference, CudaEmulation };
ENGINE_API void set_kernel_impl(KernelImpl impl);
ENGINE_API KernelImpl get_kernel_impl();

// Use the portable GEMM micro-kernels even where AVX2/FMA is available (for tests).
ENGINE_API void set_portable_kernels(bool on);

// CUDA devices the CUDA plugin can use (0 without the plugin, a driver or a GPU), and
// whether the plugin library could be loaded at all (engine/cuda.h says more).
ENGINE_API int cuda_device_count();
ENGINE_API bool cuda_built();

}  // namespace engine
