// Threads used by the CPU kernels.
#pragma once

#include <cstdint>
#include <functional>

#include "engine/export.h"

namespace engine {

// Number of threads the CPU kernels may use (default: the hardware's cores).
ENGINE_API void set_num_threads(int n);
ENGINE_API int get_num_threads();

// Runs fn(begin, end) over [0, n) split into contiguous chunks of at least `grain`
// items, on up to get_num_threads() threads. Serial when the work is small.
ENGINE_API void parallel_for(int64_t n, int64_t grain,
                             const std::function<void(int64_t, int64_t)>& fn);

}  // namespace engine
