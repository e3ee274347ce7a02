// The input and output transforms of the Winograd convolution (conv_winograd.h), over a
// range of channels of one chunk of tiles. Included by conv_winograd.cpp (baseline ISA) and
// conv_winograd_avx2.cpp (AVX2/FMA): the anonymous namespace gives each its own copy,
// compiled for its ISA. Each loop works on kLanes tiles at once, the lane index innermost,
// so that the compiler turns every line of a transform into one vector operation.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

#include "core/checked.h"
#include "cpu/lanes8.h"
#include "cpu/workspace.h"
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

// Rows [r0, r1) of the transformed weights u [(m+2)^2][M][K] of w [OC, C, 3, 3], stored as
// the GEMMs' plain A (which the GEMM then reads in place): u[t][o][c] = (G w[o][c] G^T)[t]
// (M = OC, K = C); or, when `turn`, the weights of the data gradient,
// u[t][c][o] = (G w'[o][c] G^T)[t] with w' the kernel turned by 180 degrees (M = C, K = OC).
template <int m>
void winograd_weight_range(int64_t OC, int64_t C, const float* w, bool turn, float* u, int64_t r0,
                           int64_t r1) {
  using T = Transforms<m>;
  constexpr int A = T::A;
  const int64_t K = turn ? OC : C;
  alignas(32) float g[3][3][kLanes], tmp[A][3][kLanes], out[A][A][kLanes];
  // Blocks of rows: turned, a lane's kernels for the block's rows lie side by side in w,
  // where one row at a time would stride through all of w for every row.
  constexpr int64_t kRows = 8;
  for (int64_t rb = r0; rb < r1; rb += kRows)
    for (int64_t j0 = 0; j0 < K; j0 += kLanes)
      for (int64_t r = rb; r < std::min(rb + kRows, r1); ++r) {
        const int lanes = static_cast<int>(std::min<int64_t>(kLanes, K - j0));
        for (int l = 0; l < kLanes; ++l) {
          const int64_t j = j0 + std::min(l, lanes - 1);
          const float* k = w + (turn ? j * C + r : r * C + j) * 9;
          for (int a = 0; a < 3; ++a)
            for (int b = 0; b < 3; ++b) g[a][b][l] = turn ? k[8 - a * 3 - b] : k[a * 3 + b];
        }
        for (int b = 0; b < 3; ++b) T::weight(&g[0][b][0], 3 * kLanes, &tmp[0][b][0], 3 * kLanes);
        for (int i = 0; i < A; ++i) T::weight(&tmp[i][0][0], kLanes, &out[i][0][0], kLanes);
        const int64_t M = turn ? C : OC;
        for (int t = 0; t < A * A; ++t) {
          float* dst = u + (t * M + r) * K + j0;
          const float* src = &out[t / A][t % A][0];
          // A fixed count for whole groups: a variable one becomes a memmove call per row.
          if (lanes == kLanes)
            for (int l = 0; l < kLanes; ++l) dst[l] = src[l];
          else
            for (int l = 0; l < lanes; ++l) dst[l] = src[l];
        }
      }
}

// The chunk's tiles in groups of kLanes, worked out once for all channels. Lanes past the
// chunk's end repeat its last tile (computed, never stored). A group is a row run when its
// kLanes tiles lie side by side in one tile row of one image: then every lane reads (writes)
// the same rows at a fixed step, which the compiler vectorizes.
struct TileGroup {
  WinogradTile tile[kLanes];
  int lanes;
  bool input_run;   // a row run whose input windows lie inside the image
  bool output_run;  // a row run whose outputs lie inside the output
};

template <int m>
std::vector<TileGroup> tile_groups(const WinogradTiles& g) {
  const Window2d& win = g.s.win;
  std::vector<TileGroup> groups(static_cast<size_t>(ceil_div(g.tiles, kLanes)));
  for (size_t i = 0; i < groups.size(); ++i) {
    TileGroup& tg = groups[i];
    const int64_t p = static_cast<int64_t>(i) * kLanes;
    tg.lanes = static_cast<int>(std::min<int64_t>(kLanes, g.tiles - p));
    bool run = tg.lanes == kLanes;
    for (int l = 0; l < kLanes; ++l) {
      tg.tile[l] = g.tile(std::min<int64_t>(p + l, g.tiles - 1));
      run = run && tg.tile[l].n == tg.tile[0].n && tg.tile[l].row == tg.tile[0].row &&
            tg.tile[l].col == tg.tile[0].col + l;
    }
    const int64_t top = tg.tile[0].row * m, left = tg.tile[0].col * m;
    tg.input_run = run && top >= win.PT && left >= win.PL && top - win.PT + m + 2 <= win.H &&
                   left - win.PL + kLanes * m + 2 <= win.W;
    tg.output_run = run && top + m <= win.OH && left + kLanes * m <= win.OW;
  }
  return groups;
}

// Input channels [c0, c1): v[t][c][p] = (B^T d B)[t] for the tiles p of the chunk, d the
// A x A input window of tile p (zeros outside the image). Channel by channel, so that the
// stores run along the rows of v. A group that is not a row run (tiles of small images, or
// a group across the end of a tile row) reads its eight windows from zero-padded copies of
// the chunk's planes of the channel, row by row: eight loads of eight floats and one 8x8
// transpose give a row of all eight windows in lanes, with no bounds to check.
template <int m>
void winograd_input_range(const WinogradTiles& g, const float* x, float* v, int64_t c0,
                          int64_t c1) {
  using T = Transforms<m>;
  constexpr int A = T::A;
  static_assert(A <= kLanes, "a window row fits one vector");
  const Window2d& win = g.s.win;
  const int64_t H = win.H, W = win.W, HW = H * W;
  const std::vector<TileGroup> groups = tile_groups<m>(g);
  bool any_gather = false;
  for (const TileGroup& tg : groups) any_gather = any_gather || !tg.input_run;
  // The padded planes: image n of the chunk at pad + (n - n0) * PH * PW, pixel (r, c) at
  // row r + PT, column c + PL; every window and its 8-float row loads lie inside. Only the
  // rows the chunk's tiles read are filled (a chunk may hold a few tile rows of a large image).
  const WinogradTile first = g.tile(0), last = g.tile(g.tiles - 1);
  const int64_t n0 = first.n, images = last.n - n0 + 1;
  const int64_t PH = g.tile_rows * m + 2, PW = g.tile_cols * m + kLanes;
  auto padded_rows = [&](int64_t n) {  // [begin, end) of image n0 + n
    const int64_t lo = n == 0 ? first.row : 0, hi = n == images - 1 ? last.row : g.tile_rows - 1;
    return std::pair<int64_t, int64_t>(lo * m, hi * m + A);
  };
  thread_local Workspace t_pad;
  float* pad = any_gather ? t_pad.get(images * PH * PW) : nullptr;
  alignas(32) float d[A][A][kLanes], tmp[A][A][kLanes], out[A][A][kLanes];
  for (int64_t c = c0; c < c1; ++c) {
    for (int64_t n = 0; any_gather && n < images; ++n) {
      const auto [begin, end] = padded_rows(n);
      float* plane = pad + n * PH * PW;
      std::fill(plane + begin * PW, plane + end * PW, 0.0f);
      const float* from = x + ((n0 + n) * g.s.C + c) * HW;
      for (int64_t pr = std::max(begin, win.PT); pr < std::min(end, H + win.PT); ++pr)
        std::copy(from + (pr - win.PT) * W, from + (pr - win.PT + 1) * W, plane + pr * PW + win.PL);
    }
    for (size_t gi = 0; gi < groups.size(); ++gi) {
      const TileGroup& tg = groups[gi];
      if (tg.input_run) {
        const WinogradTile& t = tg.tile[0];
        const float* base =
            x + (t.n * g.s.C + c) * HW + (t.row * m - win.PT) * W + t.col * m - win.PL;
        for (int i = 0; i < A; ++i)
          for (int j = 0; j < A; ++j)
            for (int l = 0; l < kLanes; ++l) d[i][j][l] = base[i * W + l * m + j];
      } else {
        const float* base[kLanes];
        for (int l = 0; l < kLanes; ++l) {
          const WinogradTile& t = tg.tile[l];
          base[l] = pad + ((t.n - n0) * PH + t.row * m) * PW + t.col * m;
        }
        for (int i = 0; i < A; ++i) {
          ChannelLanes rows[kLanes];
          for (int l = 0; l < kLanes; ++l) std::memcpy(&rows[l], base[l] + i * PW, sizeof(rows[l]));
          transpose8x8(rows);
          for (int j = 0; j < A; ++j) std::memcpy(&d[i][j][0], &rows[j], sizeof(rows[j]));
        }
      }
      for (int j = 0; j < A; ++j) T::input(&d[0][j][0], A * kLanes, &tmp[0][j][0], A * kLanes);
      for (int i = 0; i < A; ++i) T::input(&tmp[i][0][0], kLanes, &out[i][0][0], kLanes);
      const int64_t p = static_cast<int64_t>(gi) * kLanes;
      for (int t = 0; t < A * A; ++t) {
        float* dst = v + t * g.v_step() + c * g.ld + p;
        const float* src = &out[t / A][t % A][0];
        for (int l = 0; l < kLanes; ++l) dst[l] = src[l];
      }
    }
  }
}

// Output channels [o0, o1): y = A^T mt A (+ bias, then the fused Relu) for every tile of
// the chunk, mt[t][o][p] the GEMMs' products; the parts of edge tiles that fall outside
// the output are dropped. Channel by channel, so that the loads run along the rows of mt.
template <int m>
void winograd_output_range(const WinogradTiles& g, const float* mt, const float* b, float* y,
                           int64_t o0, int64_t o1) {
  using T = Transforms<m>;
  constexpr int A = T::A;
  const Window2d& win = g.s.win;
  const int64_t OW = win.OW, OHW = win.OH * OW;
  const std::vector<TileGroup> groups = tile_groups<m>(g);
  alignas(32) float tmp[m][A][kLanes], out[m][m][kLanes];
  const int64_t step = g.m_step();
  for (int64_t o = o0; o < o1; ++o) {
    const float bias = b ? b[o] : 0.0f;
    for (size_t gi = 0; gi < groups.size(); ++gi) {
      const TileGroup& tg = groups[gi];
      const float* in = mt + o * g.ld + static_cast<int64_t>(gi) * kLanes;
      for (int j = 0; j < A; ++j) T::output(in + j * step, A * step, &tmp[0][j][0], A * kLanes);
      for (int i = 0; i < m; ++i) T::output(&tmp[i][0][0], kLanes, &out[i][0][0], kLanes);
      // Branch-free: the signs of the sums are random, and max keeps a NaN (its second operand).
      if (g.s.relu) {
        for (int i = 0; i < m; ++i)
          for (int j = 0; j < m; ++j)
            for (int l = 0; l < kLanes; ++l) out[i][j][l] = std::max(out[i][j][l] + bias, 0.0f);
      } else {
        for (int i = 0; i < m; ++i)
          for (int j = 0; j < m; ++j)
            for (int l = 0; l < kLanes; ++l) out[i][j][l] += bias;
      }
      if (tg.output_run) {
        const WinogradTile& t = tg.tile[0];
        float* dst = y + (t.n * g.s.OC + o) * OHW + t.row * m * OW + t.col * m;
        for (int i = 0; i < m; ++i)
          for (int j = 0; j < m; ++j)
            for (int l = 0; l < kLanes; ++l) dst[i * OW + l * m + j] = out[i][j][l];
        continue;
      }
      for (int l = 0; l < tg.lanes; ++l) {
        const WinogradTile& t = tg.tile[l];
        float* plane = y + (t.n * g.s.OC + o) * OHW;
        const int64_t rows = std::min<int64_t>(m, win.OH - t.row * m);
        const int64_t cols = std::min<int64_t>(m, OW - t.col * m);
        for (int64_t i = 0; i < rows; ++i) {
          float* dst = plane + (t.row * m + i) * OW + t.col * m;
          for (int64_t j = 0; j < cols; ++j) dst[j] = out[i][j][l];
        }
      }
    }
  }
}

}  // namespace
}  // namespace engine
