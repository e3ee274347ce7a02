// Reference kernels: one output element at a time.
#include "ops/resize/resize.h"

namespace engine {

void resize_forward_ref(const ResizeGeometry& g, const float* x, float* y) {
  for (int64_t o = 0; o < g.out_numel; ++o) y[o] = g.value(o, x);
}

// Also the CPU backward: neighbouring outputs add into the same inputs, which a split over
// the outputs would race on.
void resize_backward_ref(const ResizeGeometry& g, int64_t in_numel, const float* dy, float* dx) {
  for (int64_t i = 0; i < in_numel; ++i) dx[i] = 0.0f;
  int64_t src[ResizeGeometry::kMaxTaps];
  float w[ResizeGeometry::kMaxTaps];
  for (int64_t o = 0; o < g.out_numel; ++o) {
    const int n = g.taps(o, src, w);
    for (int t = 0; t < n; ++t) dx[src[t]] += w[t] * dy[o];
  }
}

}  // namespace engine
