// Threads used by the CPU kernels.
#pragma once

#include <cstdint>
#include <functional>

#include "engine/export.h"

namespace engine {

// Number of threads the CPU kernels may use (default: the hardware's cores). The pool
// follows a change at its next parallel_for.
ENGINE_API void set_num_threads(int n);
ENGINE_API int get_num_threads();

// Runs fn(begin, end) over [0, n) split into at most get_num_threads() contiguous chunks of
// about `grain` items or more, one call per chunk; the calling thread runs the first.
// Serial (one call fn(0, n) in the calling thread) when the work is small, when called
// from inside a parallel_for, and when the pool is busy with another thread's call. The
// first exception thrown by fn is rethrown here once every chunk has finished.
ENGINE_API void parallel_for(int64_t n, int64_t grain,
                             const std::function<void(int64_t, int64_t)>& fn);

}  // namespace engine
