// CPU kernels. Work is split over blocks of up to kLanes neighbouring spatial positions of
// one sample, so every inner loop runs over contiguous memory. Window sums along the
// channels come from prefix sums in double: O(C) per lane whatever the window size, and
// the subtraction of two prefixes stays exact to float precision.
#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/threads.h"
#include "ops/lrn/lrn.h"

namespace engine {

namespace {

constexpr int64_t kLanes = 64;

// out[c][l] = sum of v(k, l) for k in [c - before, c + after] ∩ [0, C), for w lanes.
template <class Value>
void window_sum(int64_t channels, int64_t w, int64_t before, int64_t after, Value v,
                double* prefix, float* out) {
  for (int64_t l = 0; l < w; ++l) prefix[l] = 0.0;
  for (int64_t c = 0; c < channels; ++c) {
    const double* p = prefix + c * kLanes;
    double* q = prefix + (c + 1) * kLanes;
    for (int64_t l = 0; l < w; ++l) q[l] = p[l] + v(c, l);
  }
  for (int64_t c = 0; c < channels; ++c) {
    const double* first = prefix + std::max<int64_t>(0, c - before) * kLanes;
    const double* last = prefix + std::min(channels, c + after + 1) * kLanes;
    float* o = out + c * kLanes;
    for (int64_t l = 0; l < w; ++l) o[l] = static_cast<float>(last[l] - first[l]);
  }
}

// Runs body(base, w, scratch) for every block; element (c, l) of a block is at
// base + c * inner + l. `scratch` holds the prefix sums and three [C][kLanes] planes.
template <class Body>
void for_blocks(const LrnGeometry& g, Body body) {
  const int64_t blocks = (g.inner + kLanes - 1) / kLanes;
  const int64_t grain = std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(1, g.c * kLanes));
  parallel_for(g.n * blocks, grain, [&](int64_t b0, int64_t b1) {
    std::vector<double> prefix((g.c + 1) * kLanes);
    std::vector<float> planes(3 * g.c * kLanes);
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t n = b / blocks, i0 = (b % blocks) * kLanes;
      body(n * g.c * g.inner + i0, std::min(kLanes, g.inner - i0), prefix.data(), planes.data());
    }
  });
}

// s = bias + alpha / size * window sum of x^2, into `s` ([C][kLanes]).
void scales(const LrnGeometry& g, const LrnAttrs& a, const float* x, int64_t w, double* prefix,
            float* s) {
  auto square = [&](int64_t c, int64_t l) {
    const double v = x[c * g.inner + l];
    return v * v;
  };
  window_sum(g.c, w, g.lo, g.hi, square, prefix, s);
  const float k = a.alpha / static_cast<float>(a.size);
  for (int64_t c = 0; c < g.c; ++c)
    for (int64_t l = 0; l < w; ++l) s[c * kLanes + l] = a.bias + k * s[c * kLanes + l];
}

}  // namespace

void lrn_forward_cpu(const LrnGeometry& g, const LrnAttrs& a, const float* x, float* y) {
  for_blocks(g, [&](int64_t base, int64_t w, double* prefix, float* planes) {
    float* s = planes;
    scales(g, a, x + base, w, prefix, s);
    for (int64_t c = 0; c < g.c; ++c) {
      const float* xc = x + base + c * g.inner;
      float* yc = y + base + c * g.inner;
      const float* sc = s + c * kLanes;
      for (int64_t l = 0; l < w; ++l) yc[l] = xc[l] * std::pow(sc[l], -a.beta);
    }
  });
}

void lrn_backward_cpu(const LrnGeometry& g, const LrnAttrs& a, const float* dy, const float* x,
                      float* dx) {
  const float coef = 2.0f * a.alpha * a.beta / static_cast<float>(a.size);
  for_blocks(g, [&](int64_t base, int64_t w, double* prefix, float* planes) {
    float* s = planes;
    float* t = planes + g.c * kLanes;      // dy * y / s = dy * x * s^(-beta-1)
    float* cross = t + g.c * kLanes;       // window sums of t, the channels reading j
    scales(g, a, x + base, w, prefix, s);
    for (int64_t c = 0; c < g.c; ++c) {
      const float* xc = x + base + c * g.inner;
      const float* dyc = dy + base + c * g.inner;
      for (int64_t l = 0; l < w; ++l)
        t[c * kLanes + l] = dyc[l] * xc[l] * std::pow(s[c * kLanes + l], -a.beta - 1.0f);
    }
    auto value = [&](int64_t c, int64_t l) { return double(t[c * kLanes + l]); };
    window_sum(g.c, w, g.hi, g.lo, value, prefix, cross);
    for (int64_t c = 0; c < g.c; ++c) {
      const float* xc = x + base + c * g.inner;
      const float* dyc = dy + base + c * g.inner;
      float* dxc = dx + base + c * g.inner;
      for (int64_t l = 0; l < w; ++l) {
        const int64_t k = c * kLanes + l;
        dxc[l] = dyc[l] * std::pow(s[k], -a.beta) - coef * xc[l] * cross[k];
      }
    }
  });
}

}  // namespace engine
