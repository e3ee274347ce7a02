// Float kernels: the loop of optimizer_cpu_loops.h for the best ISA the CPU has, one threaded
// pass per tensor.
#include <algorithm>
#include <vector>

#include "core/cpu_features.h"
#include "engine/threads.h"
#include "optim/optimizer_cpu_loops.h"

namespace engine {

namespace {
constexpr int64_t kGrain = 1 << 14;

const OptimizerRangeFn kOptimizerRangePortable = optimizer_update_range;
}  // namespace

void optimizer_update_cpu(OptimizerKind kind, const OptimizerStep& step, int64_t n, float* p,
                          const float* g, float* const* slots) {
  const OptimizerRangeFn range =
      for_cpu_isa(kOptimizerRangeAvx512, kOptimizerRangeAvx2, kOptimizerRangePortable);
  parallel_for(n, kGrain,
               [&](int64_t begin, int64_t end) { range(kind, step, begin, end, p, g, slots); });
}

double sum_of_squares_cpu(int64_t n, const float* x) {
  // Fixed blocks (not one per thread) so that the sum does not depend on the thread count.
  const int64_t block = kGrain;
  const int64_t blocks = (n + block - 1) / block;
  std::vector<double> partial(static_cast<size_t>(std::max<int64_t>(blocks, 1)), 0.0);
  parallel_for(blocks, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t begin = b * block, end = std::min(n, begin + block);
      double acc = 0.0;
      for (int64_t i = begin; i < end; ++i) acc += double(x[i]) * double(x[i]);
      partial[static_cast<size_t>(b)] = acc;
    }
  });
  double total = 0.0;
  for (double v : partial) total += v;
  return total;
}

bool all_finite_cpu(int64_t n, const float* x) {
  int bad = 0;  // an int: GCC vectorizes an OR over int, not over bool
  for (int64_t i = 0; i < n; ++i) bad |= !(x[i] - x[i] == 0.0f);  // NaN, inf
  return bad == 0;
}

}  // namespace engine
