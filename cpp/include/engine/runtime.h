// Process-wide facts and settings of the engine: its version, the CPU features its kernels
// use, which kernel variant runs, and the devices this build can reach.
#pragma once

#include <cstdint>

#include "engine/export.h"

namespace engine {

ENGINE_API const char* version();
// CPU features the kernels use ("avx512 avx2 fma", "avx2 fma" or "portable").
ENGINE_API const char* cpu_features();

// Which kernels run on the CPU: the optimized ones (default), the naive reference kernels
// kept as oracles, or the CUDA kernels' bodies run over their grid on the host. Tests
// switch this to diff one against another.
enum class KernelImpl { Optimized, Reference, CudaEmulation };
ENGINE_API void set_kernel_impl(KernelImpl impl);
ENGINE_API KernelImpl get_kernel_impl();

// The instruction-set level of the CPU kernels, for tests that run each one: "portable",
// "avx2" (with FMA), "avx512" (F, DQ, BW, VL; the GEMM), or "best" (the default: the
// highest this CPU supports). Levels the CPU lacks raise an error; cpu_isa_supported says
// which it has.
ENGINE_API void set_cpu_isa(const char* name);
ENGINE_API bool cpu_isa_supported(const char* name);
// set_cpu_isa("portable") when on, else set_cpu_isa("best").
ENGINE_API void set_portable_kernels(bool on);

// A count of the writes to parameters: optimizer steps, committed statistics and states,
// assignments through the bindings. What a run computes from parameters and keeps for later
// runs (a convolution's transformed weights) stays valid while the count is unchanged. Code
// that writes a parameter's memory itself calls parameters_changed() afterwards.
ENGINE_API uint64_t parameters_version();
ENGINE_API void parameters_changed();
// How many times kernels have prepared such values (tests: unchanged parameters are
// prepared once, changed ones again).
ENGINE_API uint64_t prepared_weights_count();

// CUDA devices the CUDA plugin can use (0 without the plugin, a driver or a GPU), and
// whether the plugin library could be loaded at all (engine/cuda.h says more).
ENGINE_API int cuda_device_count();
ENGINE_API bool cuda_built();

}  // namespace engine
