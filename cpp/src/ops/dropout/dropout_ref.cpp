// Reference kernel: the mask definition of dropout.h, one element at a time.
#include "ops/dropout/dropout.h"

namespace engine {

void dropout_forward_ref(int64_t n, const float* x, uint64_t threshold, float inv_keep,
                         uint64_t seed, float* y, float* mask) {
  for (int64_t i = 0; i < n; ++i) {
    const uint64_t h = dropout_hash(seed, static_cast<uint64_t>(i) / 2);
    const uint64_t word = i % 2 == 0 ? h >> 32 : h & 0xFFFFFFFFull;
    const bool keep = word >= threshold;
    y[i] = static_cast<float>(double(x[i]) * (keep ? inv_keep : 0.0f));
    if (mask) mask[i] = keep ? 1.0f : 0.0f;
  }
}

void dropout_backward_ref(int64_t n, const float* dy, const float* mask, float inv_keep,
                          float* dx) {
  for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * mask[i] * inv_keep;
}

}  // namespace engine
