// Reference kernels: one (outer, inner) lane at a time, strided along the axis, in double.
#include <cmath>
#include <limits>

#include "ops/softmax/softmax.h"

namespace engine {

void softmax_forward_ref(SoftmaxKind kind, const SoftmaxGeometry& g, const float* x, float* y) {
  const bool log = kind == SoftmaxKind::LogSoftmax;
  for (int64_t o = 0; o < g.outer; ++o) {
    for (int64_t i = 0; i < g.inner; ++i) {
      const int64_t base = o * g.len * g.inner + i;
      auto at = [&](int64_t l) { return base + l * g.inner; };
      double m = -std::numeric_limits<double>::infinity();
      for (int64_t l = 0; l < g.len; ++l) m = std::fmax(m, double(x[at(l)]));
      double s = 0.0;
      for (int64_t l = 0; l < g.len; ++l) s += std::exp(double(x[at(l)]) - m);
      for (int64_t l = 0; l < g.len; ++l) {
        const double z = double(x[at(l)]) - m;
        y[at(l)] = static_cast<float>(log ? z - std::log(s) : std::exp(z) / s);
      }
    }
  }
}

void softmax_backward_ref(SoftmaxKind kind, const SoftmaxGeometry& g, const float* y,
                          const float* dy, float* dx) {
  const bool log = kind == SoftmaxKind::LogSoftmax;
  for (int64_t o = 0; o < g.outer; ++o) {
    for (int64_t i = 0; i < g.inner; ++i) {
      const int64_t base = o * g.len * g.inner + i;
      auto at = [&](int64_t l) { return base + l * g.inner; };
      double acc = 0.0;  // sum(dy * y) for Softmax, sum(dy) for LogSoftmax
      for (int64_t l = 0; l < g.len; ++l)
        acc += log ? double(dy[at(l)]) : double(dy[at(l)]) * double(y[at(l)]);
      for (int64_t l = 0; l < g.len; ++l) {
        const double yv = y[at(l)], dyv = dy[at(l)];
        dx[at(l)] = static_cast<float>(log ? dyv - std::exp(yv) * acc : yv * (dyv - acc));
      }
    }
  }
}

}  // namespace engine
