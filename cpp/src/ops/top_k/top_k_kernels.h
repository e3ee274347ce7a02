// The TopK kernels. The order is one total order on (value, index): a comes before b when
// its value is better (larger, or smaller with largest=0; NaN above every number), or equal
// with a lower index. The reference and CUDA kernels give every element its rank in that
// order (how many elements of its line come before it) and write those ranked below k: no
// scratch memory, one element per work item. The CPU kernel sorts each line's first k
// instead (cpu file).
#pragma once

#include "ops/broadcast_loop.h"
#include "ops/top_k/top_k.h"

namespace engine {

// a > b with NaN above every number and equal to itself.
template <class T>
ENGINE_HD inline bool top_k_greater(T a, T b) {
  return a != a ? b == b : a > b;
}

// Whether (a, at index ia) comes before (b, at index ib).
template <class T>
ENGINE_HD inline bool top_k_before(T a, int64_t ia, T b, int64_t ib, bool largest) {
  const bool better = largest ? top_k_greater(a, b) : top_k_greater(b, a);
  const bool worse = largest ? top_k_greater(b, a) : top_k_greater(a, b);
  return better || (!worse && ia < ib);
}

template <class Loop, class T>
void top_k_rank_loop(const TopKLayout& l, const T* x, T* values, int64_t* indices) {
  Loop::run(l.outer * l.n * l.inner, [=] ENGINE_HD(int64_t e) {
    const int64_t i = e % l.inner, j = (e / l.inner) % l.n, o = e / (l.inner * l.n);
    const T* line = x + o * l.n * l.inner + i;
    const T v = line[j * l.inner];
    int64_t rank = 0;
    for (int64_t m = 0; m < l.n && rank < l.k; ++m)
      rank += top_k_before(line[m * l.inner], m, v, j, l.largest);
    if (rank >= l.k) return;
    const int64_t at = (o * l.k + rank) * l.inner + i;
    values[at] = v;
    indices[at] = j;
  });
}

template <class Loop>
void top_k_backward_loop(const TopKLayout& l, const float* dvalues, const int64_t* indices,
                         float* dx) {
  Loop::run(l.outer * l.k * l.inner, [=] ENGINE_HD(int64_t e) {
    const int64_t i = e % l.inner, o = e / (l.inner * l.k);
    dx[(o * l.n + indices[e]) * l.inner + i] = dvalues[e];
  });
}

template <class Loop>
TopKKernels top_k_rank_kernels() {
  TopKKernels kernels;  // member by member: nvcc cannot resolve the templates in a braced list
  kernels.f32 = &top_k_rank_loop<Loop, float>;
  kernels.i64 = &top_k_rank_loop<Loop, int64_t>;
  kernels.backward = &top_k_backward_loop<Loop>;
  return kernels;
}

}  // namespace engine
