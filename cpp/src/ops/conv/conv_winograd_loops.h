// The input and output transforms of the Winograd convolution (conv_winograd.h), over a
// range of channels of one chunk of tiles. Included by conv_winograd.cpp (baseline ISA) and
// conv_winograd_avx2.cpp (AVX2/FMA): the anonymous namespace gives each its own copy,
// compiled for its ISA. Each loop works on kLanes tiles at once, the lane index innermost,
// so that the compiler turns every line of a transform into one vector operation.
#pragma once

#include <algorithm>
#include <cstdint>

#include "ops/conv/conv_winograd.h"

namespace engine {
namespace {

constexpr int kLanes = 8;

// The 1-D transforms of F(m, 3) (input B^T, output A^T, weight G) on kLanes columns at once:
// element i of column l is at in[i * stride + l]. Hand-written rather than matrix products: a
// multiplication by a zero of B or A cannot be dropped by the compiler (0 * inf is NaN).
template <int m>
struct Transforms;

// Points 0, 1, -1 and infinity.
template <>
struct Transforms<2> {
  static constexpr int A = 4;
  static void input(const float* d, int64_t s, float* o, int64_t os) {
    for (int l = 0; l < kLanes; ++l) {
      const float d0 = d[l], d1 = d[s + l], d2 = d[2 * s + l], d3 = d[3 * s + l];
      o[l] = d0 - d2;
      o[os + l] = d1 + d2;
      o[2 * os + l] = d2 - d1;
      o[3 * os + l] = d1 - d3;
    }
  }
  static void weight(const float* g, int64_t s, float* o, int64_t os) {
    for (int l = 0; l < kLanes; ++l) {
      const float g0 = g[l], g1 = g[s + l], g2 = g[2 * s + l];
      const float even = 0.5f * (g0 + g2), odd = 0.5f * g1;
      o[l] = g0;
      o[os + l] = even + odd;
      o[2 * os + l] = even - odd;
      o[3 * os + l] = g2;
    }
  }
  static void output(const float* p, int64_t s, float* o, int64_t os) {
    for (int l = 0; l < kLanes; ++l) {
      const float p0 = p[l], p1 = p[s + l], p2 = p[2 * s + l], p3 = p[3 * s + l];
      o[l] = p0 + p1 + p2;
      o[os + l] = p1 - p2 - p3;
    }
  }
};

// Points 0, 1, -1, 2, -2 and infinity.
template <>
struct Transforms<4> {
  static constexpr int A = 6;
  static void input(const float* d, int64_t s, float* o, int64_t os) {
    for (int l = 0; l < kLanes; ++l) {
      const float d0 = d[l], d1 = d[s + l], d2 = d[2 * s + l], d3 = d[3 * s + l];
      const float d4 = d[4 * s + l], d5 = d[5 * s + l];
      const float a = d4 - 4.0f * d2, b = d3 - 4.0f * d1;  // rows 1, 2
      const float c = d4 - d2, e = 2.0f * (d3 - d1);       // rows 3, 4
      o[l] = 4.0f * d0 - 5.0f * d2 + d4;
      o[os + l] = a + b;
      o[2 * os + l] = a - b;
      o[3 * os + l] = c + e;
      o[4 * os + l] = c - e;
      o[5 * os + l] = 4.0f * d1 - 5.0f * d3 + d5;
    }
  }
  static void weight(const float* g, int64_t s, float* o, int64_t os) {
    for (int l = 0; l < kLanes; ++l) {
      const float g0 = g[l], g1 = g[s + l], g2 = g[2 * s + l];
      const float a = -(g0 + g2) * (1.0f / 6), b = g1 * (1.0f / 6);
      const float c = (0.25f * g0 + g2) * (1.0f / 6), e = g1 * (1.0f / 12);
      o[l] = 0.25f * g0;
      o[os + l] = a - b;
      o[2 * os + l] = a + b;
      o[3 * os + l] = c + e;
      o[4 * os + l] = c - e;
      o[5 * os + l] = g2;
    }
  }
  static void output(const float* p, int64_t s, float* o, int64_t os) {
    for (int l = 0; l < kLanes; ++l) {
      const float p0 = p[l], p1 = p[s + l], p2 = p[2 * s + l], p3 = p[3 * s + l];
      const float p4 = p[4 * s + l], p5 = p[5 * s + l];
      const float sum12 = p1 + p2, dif12 = p1 - p2, sum34 = p3 + p4, dif34 = p3 - p4;
      o[l] = p0 + sum12 + sum34;
      o[os + l] = dif12 + 2.0f * dif34;
      o[2 * os + l] = sum12 + 4.0f * sum34;
      o[3 * os + l] = dif12 + 8.0f * dif34 + p5;
    }
  }
};

// Rows [r0, r1) of the transformed weights u [(m+2)^2][K][M] of w [OC, C, 3, 3], stored as
// the GEMMs' transposed A: u[t][c][o] = (G w[o][c] G^T)[t] (K = C, M = OC); or, when `turn`,
// the weights of the data gradient, u[t][o][c] = (G w'[o][c] G^T)[t] with w' the kernel
// turned by 180 degrees (K = OC, M = C).
template <int m>
void winograd_weight_range(int64_t OC, int64_t C, const float* w, bool turn, float* u, int64_t r0,
                           int64_t r1) {
  using T = Transforms<m>;
  constexpr int A = T::A;
  const int64_t K = turn ? OC : C, M = turn ? C : OC;
  alignas(32) float g[3][3][kLanes], tmp[A][3][kLanes], out[A][A][kLanes];
  for (int64_t r = r0; r < r1; ++r)
    for (int64_t j0 = 0; j0 < M; j0 += kLanes) {
      const int lanes = static_cast<int>(std::min<int64_t>(kLanes, M - j0));
      for (int l = 0; l < kLanes; ++l) {
        const int64_t j = j0 + std::min(l, lanes - 1);
        const float* k = w + (turn ? r * C + j : j * C + r) * 9;
        for (int a = 0; a < 3; ++a)
          for (int b = 0; b < 3; ++b) g[a][b][l] = turn ? k[8 - a * 3 - b] : k[a * 3 + b];
      }
      for (int b = 0; b < 3; ++b) T::weight(&g[0][b][0], 3 * kLanes, &tmp[0][b][0], 3 * kLanes);
      for (int i = 0; i < A; ++i) T::weight(&tmp[i][0][0], kLanes, &out[i][0][0], kLanes);
      for (int t = 0; t < A * A; ++t) {
        float* dst = u + (t * K + r) * M + j0;
        const float* src = &out[t / A][t % A][0];
        for (int l = 0; l < lanes; ++l) dst[l] = src[l];
      }
    }
}

// Input channels [c0, c1): v[t][c][p] = (B^T d B)[t] for the tiles p of the chunk, d the
// A x A input window of tile p (zeros outside the image). Columns p >= tiles of the last
// group of lanes repeat the last tile; they are written (ld covers them) but never used.
template <int m>
void winograd_input_range(const WinogradTiles& g, const float* x, float* v, int64_t c0,
                          int64_t c1) {
  using T = Transforms<m>;
  constexpr int A = T::A;
  const Window2d& win = g.s.win;
  const int64_t HW = win.H * win.W;
  alignas(32) float d[A][A][kLanes], tmp[A][A][kLanes], out[A][A][kLanes];
  for (int64_t p = 0; p < g.tiles; p += kLanes) {
    int64_t top[kLanes], left[kLanes];
    const float* image[kLanes];
    for (int l = 0; l < kLanes; ++l) {
      const WinogradTile t = g.tile(std::min(p + l, g.tiles - 1));
      top[l] = t.row * m - win.PT;
      left[l] = t.col * m - win.PL;
      image[l] = x + t.n * g.s.C * HW;
    }
    for (int64_t c = c0; c < c1; ++c) {
      for (int l = 0; l < kLanes; ++l) {
        const float* plane = image[l] + c * HW;
        const bool inside =
            top[l] >= 0 && left[l] >= 0 && top[l] + A <= win.H && left[l] + A <= win.W;
        for (int i = 0; i < A; ++i) {
          const int64_t r = top[l] + i;
          if (inside) {
            const float* row = plane + r * win.W + left[l];
            for (int j = 0; j < A; ++j) d[i][j][l] = row[j];
          } else {
            const bool row_in = r >= 0 && r < win.H;
            for (int j = 0; j < A; ++j) {
              const int64_t col = left[l] + j;
              d[i][j][l] = row_in && col >= 0 && col < win.W ? plane[r * win.W + col] : 0.0f;
            }
          }
        }
      }
      for (int j = 0; j < A; ++j) T::input(&d[0][j][0], A * kLanes, &tmp[0][j][0], A * kLanes);
      for (int i = 0; i < A; ++i) T::input(&tmp[i][0][0], kLanes, &out[i][0][0], kLanes);
      for (int t = 0; t < A * A; ++t) {
        float* dst = v + (t * g.s.C + c) * g.ld + p;
        const float* src = &out[t / A][t % A][0];
        for (int l = 0; l < kLanes; ++l) dst[l] = src[l];
      }
    }
  }
}

// Output channels [o0, o1): y = A^T mt A (+ bias, then the fused Relu) for every tile of
// the chunk, mt[t][o][p] the GEMMs' products; the parts of edge tiles that fall outside
// the output are dropped.
template <int m>
void winograd_output_range(const WinogradTiles& g, const float* mt, const float* b, float* y,
                           int64_t o0, int64_t o1) {
  using T = Transforms<m>;
  constexpr int A = T::A;
  const Window2d& win = g.s.win;
  const int64_t OHW = win.OH * win.OW;
  alignas(32) float in[A][A][kLanes], tmp[m][A][kLanes], out[m][m][kLanes];
  for (int64_t p = 0; p < g.tiles; p += kLanes) {
    const int lanes = static_cast<int>(std::min<int64_t>(kLanes, g.tiles - p));
    WinogradTile tiles[kLanes];
    for (int l = 0; l < lanes; ++l) tiles[l] = g.tile(p + l);
    for (int64_t o = o0; o < o1; ++o) {
      for (int t = 0; t < A * A; ++t) {
        const float* src = mt + (t * g.s.OC + o) * g.ld + p;
        float* dst = &in[t / A][t % A][0];
        for (int l = 0; l < kLanes; ++l) dst[l] = src[l];
      }
      for (int j = 0; j < A; ++j) T::output(&in[0][j][0], A * kLanes, &tmp[0][j][0], A * kLanes);
      for (int i = 0; i < m; ++i) T::output(&tmp[i][0][0], kLanes, &out[i][0][0], kLanes);
      const float bias = b ? b[o] : 0.0f;
      for (int i = 0; i < m; ++i)
        for (int j = 0; j < m; ++j)
          for (int l = 0; l < kLanes; ++l) {
            const float r = out[i][j][l] + bias;
            out[i][j][l] = g.s.relu && r < 0.0f ? 0.0f : r;  // NaN stays
          }
      for (int l = 0; l < lanes; ++l) {
        const WinogradTile& t = tiles[l];
        float* plane = y + (t.n * g.s.OC + o) * OHW;
        const int64_t rows = std::min<int64_t>(m, win.OH - t.row * m);
        const int64_t cols = std::min<int64_t>(m, win.OW - t.col * m);
        for (int64_t i = 0; i < rows; ++i) {
          float* dst = plane + (t.row * m + i) * win.OW + t.col * m;
          for (int64_t j = 0; j < cols; ++j) dst[j] = out[i][j][l];
        }
      }
    }
  }
}

}  // namespace
}  // namespace engine
