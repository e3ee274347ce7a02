// The ArgMax/ArgMin kernel, written once over a loop policy (broadcast_loop.h): SerialLoop
// for the reference, ThreadedLoop for the CPU, GridLoop for CUDA; one output per iteration.
#pragma once

#include "ops/argmax/argmax.h"
#include "ops/broadcast_loop.h"

namespace engine {

template <class Loop>
void argmax_find(int64_t outer, int64_t n, int64_t inner, const float* x, bool largest, bool last,
                 int64_t* y) {
  Loop::run(outer * inner, [=] ENGINE_HD(int64_t k) {
    const float* row = x + (k / inner) * n * inner + k % inner;
    int64_t best = 0;
    float value = row[0];
    for (int64_t j = 1; j < n; ++j) {
      const float v = row[j * inner];
      // A strictly better value moves the choice; an equal one only for the last index.
      const bool better = largest ? v > value : v < value;
      if (better || (last && v == value)) {
        best = j;
        value = v;
      }
    }
    y[k] = best;
  });
}

template <class Loop>
ArgmaxKernels argmax_kernels_for() {
  ArgmaxKernels kernels;  // member by member: nvcc cannot resolve the templates in a braced list
  kernels.find = &argmax_find<Loop>;
  return kernels;
}

}  // namespace engine
