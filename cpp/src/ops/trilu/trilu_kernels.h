// The Trilu kernel, written once over a loop policy (broadcast_loop.h): SerialLoop for the
// reference, ThreadedLoop for the CPU, GridLoop for CUDA.
#pragma once

#include "ops/broadcast_loop.h"
#include "ops/trilu/trilu.h"

namespace engine {

template <class Loop>
void trilu_apply_loop(int64_t n, int64_t rows, int64_t cols, bool upper, int64_t k, const float* in,
                      float* out) {
  Loop::run(n, [=] ENGINE_HD(int64_t e) {
    const int64_t j = e % cols, i = (e / cols) % rows;
    const bool kept = upper ? j - i >= k : j - i <= k;
    out[e] = kept ? in[e] : 0.0f;
  });
}

template <class Loop>
TriluKernels trilu_kernels_for() {
  TriluKernels kernels;  // member by member: nvcc cannot resolve the templates in a braced list
  kernels.apply = &trilu_apply_loop<Loop>;
  return kernels;
}

}  // namespace engine
