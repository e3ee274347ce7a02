// The CumSum and CumProd kernels, written once over a loop policy (broadcast_loop.h):
// SerialLoop for the reference, ThreadedLoop for the CPU, GridLoop for CUDA. One work item
// walks one line along the axis, so results accumulate in order on every device.
#pragma once

#include "ops/broadcast_loop.h"
#include "ops/cumsum/cumsum.h"

namespace engine {

// The offset of step s of a line (in the running order) from the line's first element.
ENGINE_HD inline int64_t cumsum_step(const CumSumLayout& l, int64_t s) {
  return (l.reverse ? l.n - 1 - s : s) * l.inner;
}

ENGINE_HD inline int64_t cumsum_line_base(const CumSumLayout& l, int64_t line) {
  return (line / l.inner) * l.n * l.inner + line % l.inner;
}

template <class Loop, bool Product, class T>
void cumsum_loop(const CumSumLayout& l, const T* x, T* y) {
  Loop::run(l.outer * l.inner, [=] ENGINE_HD(int64_t line) {
    const int64_t base = cumsum_line_base(l, line);
    T acc = Product ? T(1) : T(0);
    for (int64_t s = 0; s < l.n; ++s) {
      const int64_t at = base + cumsum_step(l, s);
      const T v = x[at];
      if (!l.exclusive) acc = Product ? acc * v : acc + v;
      y[at] = acc;
      if (l.exclusive) acc = Product ? acc * v : acc + v;
    }
  });
}

// CumProd's backward, one (line, step j) per work item: with e = exclusive, step i's output
// is the product of steps 0..i-e, so x at step j enters the outputs i >= j + e, each with the
// product of the other factors: the steps before j, times those from j + 1 to i - e.
template <class Loop>
void cumprod_backward_loop(const CumSumLayout& l, const float* x, const float* dy, float* dx) {
  Loop::run(l.outer * l.inner * l.n, [=] ENGINE_HD(int64_t item) {
    const int64_t line = item / l.n, j = item % l.n;
    const int64_t base = cumsum_line_base(l, line), e = l.exclusive ? 1 : 0;
    float others = 1.0f, sum = 0.0f;
    for (int64_t s = 0; s < j; ++s) others *= x[base + cumsum_step(l, s)];
    for (int64_t i = j + e; i < l.n; ++i) {
      if (i - e > j) others *= x[base + cumsum_step(l, i - e)];
      sum += dy[base + cumsum_step(l, i)] * others;
    }
    dx[base + cumsum_step(l, j)] = sum;
  });
}

template <class Loop>
CumSumKernels cumsum_kernels_for() {
  CumSumKernels kernels;  // member by member: nvcc cannot resolve the templates in a braced list
  kernels.f32.sum = &cumsum_loop<Loop, false, float>;
  kernels.f32.product = &cumsum_loop<Loop, true, float>;
  kernels.i64.sum = &cumsum_loop<Loop, false, int64_t>;
  kernels.i64.product = &cumsum_loop<Loop, true, int64_t>;
  kernels.product_backward = &cumprod_backward_loop<Loop>;
  return kernels;
}

}  // namespace engine
