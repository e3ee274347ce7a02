// Reference kernels: one output element at a time.
#include "ops/pad/pad.h"

namespace engine {

void pad_forward_ref(const PadGeometry& g, const float* x, float value, float* y) {
  for (int64_t o = 0; o < g.out_numel; ++o) {
    const int64_t s = g.source(o);
    y[o] = s < 0 ? value : x[s];
  }
}

// Also the CPU backward: reflect and edge add several outputs into one input, which a
// split over the outputs would race on.
void pad_backward_ref(const PadGeometry& g, int64_t in_numel, const float* dy, float* dx) {
  for (int64_t i = 0; i < in_numel; ++i) dx[i] = 0.0f;
  for (int64_t o = 0; o < g.out_numel; ++o) {
    const int64_t s = g.source(o);
    if (s >= 0) dx[s] += dy[o];
  }
}

}  // namespace engine
