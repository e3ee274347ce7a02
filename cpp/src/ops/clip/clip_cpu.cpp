// Optimized kernels: the same formulas split across threads in long, vectorizable runs.
#include "engine/threads.h"
#include "ops/clip/clip.h"

namespace engine {

namespace {
constexpr int64_t kGrain = 1 << 14;
}

void clip_forward_cpu(int64_t n, const float* x, ClipBounds b, float* y) {
  parallel_for(n, kGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) y[i] = clip_value(x[i], b);
  });
}

void clip_backward_cpu(int64_t n, const float* dy, const float* x, ClipBounds b, float* dx) {
  parallel_for(n, kGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) dx[i] = clip_gradient(dy[i], x[i], b);
  });
}

}  // namespace engine
