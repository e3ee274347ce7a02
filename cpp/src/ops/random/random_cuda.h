// The CUDA kernel of the random ops, over a Grid (core/grid.h): one thread per element,
// each drawing its own value from (seed, index) as the CPU kernels do.
#pragma once

#include "core/grid.h"
#include "ops/random/random.h"

namespace engine {

template <class Grid>
void random_fill_grid(const RandomAttrs& attrs, uint64_t seed, int64_t n, float* y) {
  const RandomAttrs r = attrs;
  for_each_index<Grid>(n, [=] ENGINE_HD(int64_t i) {
    y[i] = random_draw<float>(r, seed, static_cast<uint64_t>(i));
  });
}

template <class Grid>
RandomKernels random_cuda_kernels() {
  RandomKernels kernels;
  kernels.fill = &random_fill_grid<Grid>;
  return kernels;
}

}  // namespace engine
