// The CumSum kernel, written once over a loop policy (broadcast_loop.h): SerialLoop for the
// reference, ThreadedLoop for the CPU, GridLoop for CUDA. One work item walks one line
// along the axis, so sums accumulate in order on every device.
#pragma once

#include "ops/broadcast_loop.h"
#include "ops/cumsum/cumsum.h"

namespace engine {

template <class Loop, class T>
void cumsum_loop(const CumSumLayout& l, const T* x, T* y) {
  Loop::run(l.outer * l.inner, [=] ENGINE_HD(int64_t line) {
    const int64_t base = (line / l.inner) * l.n * l.inner + line % l.inner;
    T sum = T(0);
    for (int64_t s = 0; s < l.n; ++s) {
      const int64_t at = base + (l.reverse ? l.n - 1 - s : s) * l.inner;
      const T v = x[at];
      if (!l.exclusive) sum += v;
      y[at] = sum;
      if (l.exclusive) sum += v;
    }
  });
}

template <class Loop>
CumSumKernels cumsum_kernels_for() {
  CumSumKernels kernels;  // member by member: nvcc cannot resolve the templates in a braced list
  kernels.f32 = &cumsum_loop<Loop, float>;
  kernels.i64 = &cumsum_loop<Loop, int64_t>;
  return kernels;
}

}  // namespace engine
