// The depthwise convolution loops (C == G: output channel o reads input channel o / M), over
// a range of planes or channels. Included by conv_cpu.cpp (baseline ISA) and
// conv_depthwise_avx2.cpp (AVX2/FMA): the anonymous namespace gives each its own copy,
// compiled for its ISA; conv_cpu.cpp picks one by CPUID and splits the ranges over threads.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/window2d.h"
#include "ops/conv/conv.h"

namespace engine {
namespace {

// Calls fn(tap, oh, ih, cols) for every kernel tap (kh*KW + kw) and output row oh whose
// input row ih lies inside the image; cols is the tap's valid span along the row.
template <class Fn>
void for_each_tap_row(const Window2d& g, Fn&& fn) {
  for (int64_t kh = 0; kh < g.KH; ++kh) {
    const TapSpan rows = tap_span(g.OH, g.H, g.SH, g.PT, kh, g.DH);
    for (int64_t kw = 0; kw < g.KW; ++kw) {
      const TapSpan cols = tap_span(g.OW, g.W, g.SW, g.PL, kw, g.DW);
      for (int64_t oh = rows.lo; oh < rows.hi; ++oh)
        fn(kh * g.KW + kw, oh, rows.in0 + (oh - rows.lo) * g.SH, cols);
    }
  }
}

// The three row primitives of a 1-channel window: out[i] += a * in[i*stride], its
// transpose, and the dot product. The stride-1 branches let the compiler vectorize.
inline void gather_axpy(int64_t n, float a, const float* in, int64_t stride, float* out) {
  if (stride == 1) {
    for (int64_t i = 0; i < n; ++i) out[i] += a * in[i];
  } else {
    for (int64_t i = 0; i < n; ++i) out[i] += a * in[i * stride];
  }
}
inline void scatter_axpy(int64_t n, float a, const float* in, float* out, int64_t stride) {
  if (stride == 1) {
    for (int64_t i = 0; i < n; ++i) out[i] += a * in[i];
  } else {
    for (int64_t i = 0; i < n; ++i) out[i * stride] += a * in[i];
  }
}
inline float gather_dot(int64_t n, const float* a, const float* in, int64_t stride) {
  float sum = 0.0f;
  if (stride == 1) {
    for (int64_t i = 0; i < n; ++i) sum += a[i] * in[i];
  } else {
    for (int64_t i = 0; i < n; ++i) sum += a[i] * in[i * stride];
  }
  return sum;
}

// Output planes [begin, end) of the N*OC.
void depthwise_forward_range(const ConvShape& s, const float* x, const float* w, const float* b,
                             float* y, int64_t begin, int64_t end) {
  const Window2d& g = s.win;
  const int64_t M = s.OC / s.C, P = g.OH * g.OW, T = g.KH * g.KW;
  {
    for (int64_t plane = begin; plane < end; ++plane) {
      const int64_t n = plane / s.OC, o = plane % s.OC;
      const float* xp = x + (n * s.C + o / M) * g.H * g.W;
      const float* wp = w + o * T;
      float* yp = y + plane * P;
      std::fill(yp, yp + P, b ? b[o] : 0.0f);
      for_each_tap_row(g, [&](int64_t t, int64_t oh, int64_t ih, const TapSpan& cs) {
        gather_axpy(cs.hi - cs.lo, wp[t], xp + ih * g.W + cs.in0, g.SW, yp + oh * g.OW + cs.lo);
      });
      if (s.relu)
        for (int64_t p = 0; p < P; ++p) yp[p] = yp[p] < 0.0f ? 0.0f : yp[p];  // NaN stays
    }
  }
}

// Input planes [begin, end) of the N*C: each gathers from its M output channels, so no two
// planes write the same dx element.
void depthwise_backward_data_range(const ConvShape& s, const float* dy, const float* w,
                                   float* dx, int64_t begin, int64_t end) {
  const Window2d& g = s.win;
  const int64_t M = s.OC / s.C, P = g.OH * g.OW, T = g.KH * g.KW, HW = g.H * g.W;
  {
    for (int64_t plane = begin; plane < end; ++plane) {
      const int64_t n = plane / s.C, c = plane % s.C;
      float* dxp = dx + plane * HW;
      std::fill(dxp, dxp + HW, 0.0f);
      for (int64_t o = c * M; o < (c + 1) * M; ++o) {
        const float* dyp = dy + (n * s.OC + o) * P;
        const float* wp = w + o * T;
        for_each_tap_row(g, [&](int64_t t, int64_t oh, int64_t ih, const TapSpan& cs) {
          scatter_axpy(cs.hi - cs.lo, wp[t], dyp + oh * g.OW + cs.lo, dxp + ih * g.W + cs.in0,
                       g.SW);
        });
      }
    }
  }
}

// Output channels [begin, end): each owns its T weights and sums over the batch.
void depthwise_backward_weight_range(const ConvShape& s, const float* dy, const float* x,
                                     float* dw, int64_t begin, int64_t end) {
  const Window2d& g = s.win;
  const int64_t M = s.OC / s.C, P = g.OH * g.OW, T = g.KH * g.KW, HW = g.H * g.W;
  {
    std::vector<double> acc(static_cast<size_t>(T));
    for (int64_t o = begin; o < end; ++o) {
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int64_t n = 0; n < s.N; ++n) {
        const float* dyp = dy + (n * s.OC + o) * P;
        const float* xp = x + (n * s.C + o / M) * HW;
        for_each_tap_row(g, [&](int64_t t, int64_t oh, int64_t ih, const TapSpan& cs) {
          acc[t] += gather_dot(cs.hi - cs.lo, dyp + oh * g.OW + cs.lo, xp + ih * g.W + cs.in0,
                               g.SW);
        });
      }
      for (int64_t t = 0; t < T; ++t) dw[o * T + t] = static_cast<float>(dw[o * T + t] + acc[t]);
    }
  }
}

}  // namespace
}  // namespace engine
