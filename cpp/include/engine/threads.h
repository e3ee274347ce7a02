// Threads used by the CPU kernels.
#pragma once

#include <cstdint>
#include <functional>

namespace engine {

// Number of threads the CPU kernels may use (default: the hardware's cores).
void set_num_threads(int n);
int get_num_threads();

// Runs fn(begin, end) over [0, n) split into contiguous chunks of at least `grain`
// items, on up to get_num_threads() threads. Serial when the work is small.
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

}  // namespace engine
