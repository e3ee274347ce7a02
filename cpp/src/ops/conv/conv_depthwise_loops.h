// The depthwise convolution loops (C == G: output channel o reads input channel o / M), over
// a range of planes or channels. Included by conv_cpu.cpp (baseline ISA) and
// conv_depthwise_avx2.cpp (AVX2/FMA): the anonymous namespace gives each its own copy,
// compiled for its ISA; conv_cpu.cpp picks one by CPUID and splits the ranges over threads.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#ifdef __FMA__
#include <immintrin.h>
#endif

#include "core/checked.h"
#include "core/window2d.h"
#include "cpu/lanes8.h"
#include "cpu/workspace.h"
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

// The two row primitives of the backward passes: out[i*stride] += a * in[i], and the dot
// product with in[i*stride]. The stride-1 branches let the compiler vectorize.
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

// The forward pass takes eight output channels at a time, interleaved so that one vector
// holds the same pixel of eight channels: the deep layers of a MobileNet (7x7 or 4x4
// planes, rows shorter than a vector) then vectorize as well as large planes, every tap
// is one aligned load and one FMA, and each output is written once. The block's input is
// first copied, zero-padded, into scratch, so the tap loops have no bounds to check.
// The first n (at most 8) floats of a plane's chunk, to or from a vector; only a plane's
// last chunk (`exact`) copies fewer than eight, the others take one vector load or store.
// (Vectors pass by pointer: the portable copy has no 32-byte registers to pass them in.)
inline void load_lanes(const float* p, int64_t n, bool exact, ChannelLanes* v) {
  *v = ChannelLanes{};
  if (!exact || n == kChannelLanes)
    std::memcpy(v, p, sizeof(*v));
  else
    std::memcpy(v, p, sizeof(float) * static_cast<size_t>(n));
}
inline void store_lanes(float* p, const ChannelLanes& v, int64_t n, bool exact) {
  if (!exact || n == kChannelLanes)
    std::memcpy(p, &v, sizeof(v));
  else
    std::memcpy(p, &v, sizeof(float) * static_cast<size_t>(n));
}

// acc += a * b, fused where the ISA has FMA.
inline void fma_lanes(const ChannelLanes& a, const ChannelLanes& b, ChannelLanes& acc) {
#ifdef __FMA__
  acc = reinterpret_cast<ChannelLanes>(_mm256_fmadd_ps(
      reinterpret_cast<__m256>(a), reinterpret_cast<__m256>(b), reinterpret_cast<__m256>(acc)));
#else
  acc += a * b;
#endif
}

// One output row of a channel block: out[ow] = bias + sum over taps of tap * window pixel.
// KH and KW are compile-time for the common 3x3 (0: read from g), so the tap loops unroll;
// four outputs at a time keep four independent FMA chains in flight.
template <int KH, int KW>
void depthwise_block_row(const Window2d& g, const ChannelLanes* in, int64_t WP,
                         const ChannelLanes* taps, const ChannelLanes& bias, bool relu, int64_t oh,
                         ChannelLanes* out) {
  const int64_t kh_n = KH ? KH : g.KH, kw_n = KW ? KW : g.KW;
  const ChannelLanes zero = {};
  const ChannelLanes* base = in + oh * g.SH * WP;
  constexpr int64_t kUnroll = 4;
  int64_t ow = 0;
  auto finish = [&](const ChannelLanes& v, int64_t at) { out[at] = relu && v < zero ? zero : v; };
  for (; ow + kUnroll <= g.OW; ow += kUnroll) {
    ChannelLanes acc[kUnroll] = {bias, bias, bias, bias};
#pragma GCC unroll 3
    for (int64_t kh = 0; kh < kh_n; ++kh) {
      const ChannelLanes* row = base + kh * g.DH * WP + ow * g.SW;
#pragma GCC unroll 3
      for (int64_t kw = 0; kw < kw_n; ++kw) {
        const ChannelLanes tap = taps[kh * kw_n + kw];
        const ChannelLanes* px = row + kw * g.DW;
        for (int64_t u = 0; u < kUnroll; ++u) fma_lanes(tap, px[u * g.SW], acc[u]);
      }
    }
    for (int64_t u = 0; u < kUnroll; ++u) finish(acc[u], ow + u);
  }
  for (; ow < g.OW; ++ow) {
    ChannelLanes acc = bias;
    for (int64_t kh = 0; kh < kh_n; ++kh)
      for (int64_t kw = 0; kw < kw_n; ++kw)
        fma_lanes(taps[kh * kw_n + kw], base[kh * g.DH * WP + ow * g.SW + kw * g.DW], acc);
    finish(acc, ow);
  }
}

// Output channel blocks [begin, end) of the N * ceil(OC / 8).
void depthwise_forward_range(const ConvShape& s, const float* x, const float* w, const float* b,
                             float* y, int64_t begin, int64_t end) {
  const Window2d& g = s.win;
  const int64_t M = s.OC / s.C, P = g.OH * g.OW, T = g.KH * g.KW, HW = g.H * g.W;
  const int64_t blocks = ceil_div(s.OC, kChannelLanes);
  // The padded input rows and columns the windows reach.
  const int64_t HP = (g.OH - 1) * g.SH + (g.KH - 1) * g.DH + 1;
  const int64_t WP = (g.OW - 1) * g.SW + (g.KW - 1) * g.DW + 1;
  thread_local Workspace t_in, t_taps, t_out;
  ChannelLanes* in = reinterpret_cast<ChannelLanes*>(t_in.get(HP * WP * kChannelLanes));
  ChannelLanes* out = reinterpret_cast<ChannelLanes*>(t_out.get(P * kChannelLanes));
  // Every block's taps and bias, channels innermost: blocks * (T + 1) vectors.
  float* lanes_of = t_taps.get(blocks * (T + 1) * kChannelLanes);
  std::fill(lanes_of, lanes_of + blocks * (T + 1) * kChannelLanes, 0.0f);
  for (int64_t o = 0; o < s.OC; ++o) {
    float* block = lanes_of + o / kChannelLanes * (T + 1) * kChannelLanes + o % kChannelLanes;
    for (int64_t t = 0; t < T; ++t) block[t * kChannelLanes] = w[o * T + t];
    if (b) block[T * kChannelLanes] = b[o];
  }
  const ChannelLanes* block_taps = reinterpret_cast<const ChannelLanes*>(lanes_of);
  const ChannelLanes zero = {};
  for (int64_t item = begin; item < end; ++item) {
    const int64_t n = item / blocks, o0 = item % blocks * kChannelLanes;
    const int64_t lanes = std::min(kChannelLanes, s.OC - o0);
    const ChannelLanes* taps = block_taps + item % blocks * (T + 1);
    const ChannelLanes bias = taps[T];
    const float* plane[kChannelLanes];  // the input plane of each lane
    for (int64_t l = 0; l < kChannelLanes; ++l)
      plane[l] = x + (n * s.C + (o0 + std::min(l, lanes - 1)) / M) * g.H * g.W;

    // The next block's planes are contiguous: start reading them from memory now, so the
    // gather below finds them in cache.
    if (item + 1 < end && M == 1) {
      const int64_t next = item + 1, nn = next / blocks, nc = next % blocks * kChannelLanes;
      const char* from = reinterpret_cast<const char*>(x + (nn * s.C + nc) * g.H * g.W);
      const int64_t bytes = std::min(kChannelLanes, s.C - nc) * g.H * g.W * 4;
      for (int64_t at = 0; at < bytes; at += 64) __builtin_prefetch(from + at);
    }
    // Gather: in[r][c] = the eight planes' pixel (r - PT, c - PL), zero in the pads. The
    // planes are read eight floats at a time in storage order, whatever their width.
    std::fill(in, in + HP * WP, zero);
    for (int64_t q0 = 0, r = 0, c = 0; q0 < HW; q0 += kChannelLanes) {
      const int64_t count = std::min(kChannelLanes, HW - q0);
      ChannelLanes v[kChannelLanes];
      for (int64_t l = 0; l < kChannelLanes; ++l)
        load_lanes(plane[l] + q0, count, q0 + kChannelLanes > HW, &v[l]);
      transpose8x8(v);
      for (int64_t j = 0; j < count; ++j) {
        if (r + g.PT < HP && c + g.PL < WP) in[(r + g.PT) * WP + c + g.PL] = v[j];
        if (++c == g.W) c = 0, ++r;
      }
    }

    const auto row_kernel =
        g.KH == 3 && g.KW == 3 ? depthwise_block_row<3, 3> : depthwise_block_row<0, 0>;
    for (int64_t oh = 0; oh < g.OH; ++oh)
      row_kernel(g, in, WP, taps, bias, s.relu, oh, out + oh * g.OW);
    // Scatter back to the block's planes, eight outputs at a time.
    float* yb = y + (n * s.OC + o0) * P;
    for (int64_t p0 = 0; p0 < P; p0 += kChannelLanes) {
      const int64_t count = std::min(kChannelLanes, P - p0);
      ChannelLanes v[kChannelLanes];
      for (int64_t j = 0; j < kChannelLanes; ++j) v[j] = j < count ? out[p0 + j] : zero;
      transpose8x8(v);
      for (int64_t l = 0; l < lanes; ++l)
        store_lanes(yb + l * P + p0, v[l], count, p0 + kChannelLanes > P);
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
