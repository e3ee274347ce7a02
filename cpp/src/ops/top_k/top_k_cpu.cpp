// CPU kernels: the lines split across threads; each line's first k found by a partial sort of
// its indices in the kernels' order (n log k per line, where ranking costs n^2).
#include <algorithm>
#include <vector>

#include "ops/top_k/top_k_kernels.h"

namespace engine {

namespace {
template <class T>
void top_k_sort_cpu(const TopKLayout& l, const T* x, T* values, int64_t* indices) {
  ThreadedLoop::run(l.outer * l.inner, [&](int64_t line) {
    thread_local std::vector<int64_t> order;
    const int64_t o = line / l.inner, i = line % l.inner;
    const T* in = x + o * l.n * l.inner + i;
    order.resize(static_cast<size_t>(l.n));
    for (int64_t m = 0; m < l.n; ++m) order[static_cast<size_t>(m)] = m;
    std::partial_sort(order.begin(), order.begin() + l.k, order.end(), [&](int64_t a, int64_t b) {
      return top_k_before(in[a * l.inner], a, in[b * l.inner], b, l.largest);
    });
    for (int64_t r = 0; r < l.k; ++r) {
      const int64_t at = (o * l.k + r) * l.inner + i, m = order[static_cast<size_t>(r)];
      values[at] = in[m * l.inner];
      indices[at] = m;
    }
  });
}
}  // namespace

TopKKernels top_k_cpu_kernels() {
  TopKKernels kernels;
  kernels.f32 = &top_k_sort_cpu<float>;
  kernels.i64 = &top_k_sort_cpu<int64_t>;
  kernels.backward = &top_k_backward_loop<ThreadedLoop>;
  return kernels;
}

}  // namespace engine
