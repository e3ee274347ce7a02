// The CUDA kernels of LRN over a Grid (core/grid.h): DeviceGrid in the CUDA plugin
// (lrn_cuda.cu), HostGrid for their emulation in the kernel table.
//
// One thread per value, summing its channel window directly (size values; windows are
// small, and the sum is clipped to the C channels). Backward runs in two passes over
// scratch memory: s and t = dy * x * s^(-beta-1) per value, then each value gathers t over
// the channels whose window holds it.
#pragma once

#include <cmath>
#include <cstdint>

#include "core/grid.h"
#include "ops/lrn/lrn.h"

namespace engine {
namespace lrn_cuda {

// s = bias + alpha / size * (sum of x^2 over window(c)) at value e = (n, c, i).
ENGINE_HD inline float window_scale(const LrnGeometry& g, const LrnAttrs& a, const float* x,
                                    int64_t e) {
  const int64_t c = e / g.inner % g.c;
  const float* xi = x + (e - c * g.inner);  // channel 0 of the same (n, i)
  const int64_t lo = c - g.lo < 0 ? 0 : c - g.lo;
  const int64_t hi = c + g.hi > g.c - 1 ? g.c - 1 : c + g.hi;
  float sq = 0.0f;
  for (int64_t k = lo; k <= hi; ++k) sq += xi[k * g.inner] * xi[k * g.inner];
  return a.bias + a.alpha / static_cast<float>(a.size) * sq;
}

}  // namespace lrn_cuda

template <class Grid>
void lrn_forward_grid(const LrnGeometry& g, const LrnAttrs& a, const float* x, float* y) {
  for_each_index<Grid>(g.n * g.c * g.inner, [=] ENGINE_HD(int64_t e) {
    y[e] = x[e] * std::pow(lrn_cuda::window_scale(g, a, x, e), -a.beta);
  });
}

template <class Grid>
void lrn_backward_grid(const LrnGeometry& g, const LrnAttrs& a, const float* dy, const float* x,
                       float* dx) {
  const int64_t n = g.n * g.c * g.inner;
  if (n <= 0) return;
  float* s = static_cast<float*>(Grid::scratch(2 * static_cast<size_t>(n) * sizeof(float)));
  float* t = s + n;
  for_each_index<Grid>(n, [=] ENGINE_HD(int64_t e) {
    const float se = lrn_cuda::window_scale(g, a, x, e);
    s[e] = se;
    t[e] = dy[e] * x[e] * std::pow(se, -a.beta - 1.0f);
  });
  const float coef = 2.0f * a.alpha * a.beta / static_cast<float>(a.size);
  for_each_index<Grid>(n, [=] ENGINE_HD(int64_t e) {
    // The channels c whose window holds j: c in [j - hi, j + lo].
    const int64_t j = e / g.inner % g.c;
    const float* ti = t + (e - j * g.inner);
    const int64_t lo = j - g.hi < 0 ? 0 : j - g.hi;
    const int64_t hi = j + g.lo > g.c - 1 ? g.c - 1 : j + g.lo;
    float cross = 0.0f;
    for (int64_t c = lo; c <= hi; ++c) cross += ti[c * g.inner];
    dx[e] = dy[e] * std::pow(s[e], -a.beta) - coef * x[e] * cross;
  });
}

template <class Grid>
LrnKernels lrn_cuda_kernels() {
  return {lrn_forward_grid<Grid>, lrn_backward_grid<Grid>};
}

}  // namespace engine
