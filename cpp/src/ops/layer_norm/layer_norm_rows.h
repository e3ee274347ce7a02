// The row loops of LayerNormalization, included by layer_norm_cpu.cpp (baseline ISA) and
// layer_norm_cpu_avx2.cpp (AVX2/FMA): the anonymous namespace gives each its own copy,
// compiled for its ISA. Row sums are cpu/row_sum.h's.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "cpu/row_sum.h"
#include "ops/layer_norm/layer_norm.h"

namespace engine {
namespace {

// Rows [begin, end): y, and each row's mean and 1 / std.
void layer_norm_forward_rows(const LayerNormGeometry& g, float epsilon, const float* x,
                             const float* scale, const float* bias, float* y, float* mean,
                             float* inv_std, int64_t begin, int64_t end) {
  for (int64_t r = begin; r < end; ++r) {
    const float* xr = x + r * g.len;
    float* yr = y + r * g.len;
    const double s = row_sum(g.len, [&](int64_t l) { return xr[l]; });
    const float m = static_cast<float>(s / double(g.len));
    const double v = row_sum(g.len, [&](int64_t l) {
      const float d = xr[l] - m;
      return d * d;
    });
    const float inv = static_cast<float>(1.0 / std::sqrt(v / double(g.len) + epsilon));
    if (bias) {
      for (int64_t l = 0; l < g.len; ++l) yr[l] = (xr[l] - m) * inv * scale[l] + bias[l];
    } else {
      for (int64_t l = 0; l < g.len; ++l) yr[l] = (xr[l] - m) * inv * scale[l];
    }
    mean[r] = m;
    inv_std[r] = inv;
  }
}

// Rows [begin, end) of dx.
void layer_norm_backward_rows(const LayerNormGeometry& g, const float* x, const float* scale,
                              const float* mean, const float* inv_std, const float* dy, float* dx,
                              int64_t begin, int64_t end) {
  for (int64_t r = begin; r < end; ++r) {
    const float *xr = x + r * g.len, *dyr = dy + r * g.len;
    const float m = mean[r], inv = inv_std[r];
    const double sg = row_sum(g.len, [&](int64_t l) { return dyr[l] * scale[l]; });
    const double sgx =
        row_sum(g.len, [&](int64_t l) { return dyr[l] * scale[l] * ((xr[l] - m) * inv); });
    const float a = static_cast<float>(sg / double(g.len));
    const float b = static_cast<float>(sgx / double(g.len));
    float* dxr = dx + r * g.len;
    for (int64_t l = 0; l < g.len; ++l)
      dxr[l] = inv * (dyr[l] * scale[l] - a - (xr[l] - m) * inv * b);
  }
}

}  // namespace
}  // namespace engine
