// Reference kernels: every element's window summed directly, in double.
#include <algorithm>
#include <cmath>

#include "ops/lrn/lrn.h"

namespace engine {

namespace {
// s = bias + alpha / size * (sum of squares over window(c)) at (n, c, i).
double window_scale(const LrnGeometry& g, const LrnAttrs& a, const float* x, int64_t n,
                    int64_t c, int64_t i) {
  double sq = 0.0;
  for (int64_t k = std::max<int64_t>(0, c - g.lo); k <= std::min(g.c - 1, c + g.hi); ++k) {
    const double v = x[(n * g.c + k) * g.inner + i];
    sq += v * v;
  }
  return double(a.bias) + double(a.alpha) / double(a.size) * sq;
}
}  // namespace

void lrn_forward_ref(const LrnGeometry& g, const LrnAttrs& a, const float* x, float* y) {
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t c = 0; c < g.c; ++c)
      for (int64_t i = 0; i < g.inner; ++i) {
        const int64_t at = (n * g.c + c) * g.inner + i;
        y[at] = static_cast<float>(x[at] * std::pow(window_scale(g, a, x, n, c, i), -double(a.beta)));
      }
}

void lrn_backward_ref(const LrnGeometry& g, const LrnAttrs& a, const float* dy, const float* x,
                      float* dx) {
  const double coef = 2.0 * a.alpha * a.beta / a.size;
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t j = 0; j < g.c; ++j)
      for (int64_t i = 0; i < g.inner; ++i) {
        const int64_t at = (n * g.c + j) * g.inner + i;
        double cross = 0.0;  // sum over the channels whose window holds j of dy * y / s
        for (int64_t c = std::max<int64_t>(0, j - g.hi); c <= std::min(g.c - 1, j + g.lo); ++c) {
          const int64_t ac = (n * g.c + c) * g.inner + i;
          const double s = window_scale(g, a, x, n, c, i);
          cross += double(dy[ac]) * double(x[ac]) * std::pow(s, -double(a.beta) - 1.0);
        }
        const double s = window_scale(g, a, x, n, j, i);
        dx[at] = static_cast<float>(double(dy[at]) * std::pow(s, -double(a.beta)) -
                                    coef * double(x[at]) * cross);
      }
}

}  // namespace engine
