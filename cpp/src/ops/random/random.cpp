// The kernels of the random ops: the reference draws in double, the CPU kernel in float over
// threads; both compute random_draw (random.h), one element at a time.
#include "ops/random/random.h"

#include "core/kernel_table.h"
#include "engine/threads.h"
#include "ops/random/random_cuda.h"

namespace engine {

void random_fill_ref(const RandomAttrs& attrs, uint64_t seed, int64_t n, float* y) {
  for (int64_t i = 0; i < n; ++i)
    y[i] = static_cast<float>(random_draw<double>(attrs, seed, static_cast<uint64_t>(i)));
}

void random_fill_cpu(const RandomAttrs& attrs, uint64_t seed, int64_t n, float* y) {
  parallel_for(n, 1 << 14, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i)
      y[i] = random_draw<float>(attrs, seed, static_cast<uint64_t>(i));
  });
}

const KernelTable<RandomKernels>& random_kernels() {
  static const KernelTable<RandomKernels> table("random", {random_fill_ref}, {random_fill_cpu},
                                                random_cuda_kernels<HostGrid>());
  return table;
}

void random_fill(const RandomAttrs& attrs, uint64_t seed, Tensor& y) {
  check_dense_float(y, "random: y");
  random_kernels().get(y.device()).fill(attrs, seed, y.numel(), y.data<float>());
}

}  // namespace engine
