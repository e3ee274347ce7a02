// Reference kernels: one element at a time, in order.
#include "ops/clip/clip.h"

namespace engine {

void clip_forward_ref(int64_t n, const float* x, ClipBounds b, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = clip_value(x[i], b);
}

void clip_backward_ref(int64_t n, const float* dy, const float* x, ClipBounds b, float* dx) {
  for (int64_t i = 0; i < n; ++i) dx[i] = clip_gradient(dy[i], x[i], b);
}

}  // namespace engine
