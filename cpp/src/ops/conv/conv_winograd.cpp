// Winograd convolution (conv_winograd.h): the weight transform, the chunking of the batch's
// tiles and the GEMMs; the input and output transforms are in conv_winograd_loops.h.
#include "ops/conv/conv_winograd.h"

#include <algorithm>
#include <memory>
#include <vector>

#include "core/checked.h"
#include "core/cpu_features.h"
#include "cpu/gemm.h"
#include "cpu/workspace.h"
#include "engine/threads.h"
#include "ops/conv/conv_winograd_loops.h"

namespace engine {

// conv_winograd_avx2.cpp
void winograd_input_range_avx2(int m, const WinogradTiles& g, const float* x, float* v, int64_t c0,
                               int64_t c1);
void winograd_output_range_avx2(int m, const WinogradTiles& g, const float* mt, const float* b,
                                float* y, int64_t o0, int64_t o1);
void winograd_weight_range_avx2(int m, int64_t OC, int64_t C, const float* w, bool turn, float* u,
                                int64_t r0, int64_t r1);

namespace {

void input_range(int m, const WinogradTiles& g, const float* x, float* v, int64_t c0, int64_t c1) {
  if (use_avx2_fma()) return winograd_input_range_avx2(m, g, x, v, c0, c1);
  (m == 2 ? winograd_input_range<2> : winograd_input_range<4>)(g, x, v, c0, c1);
}

void output_range(int m, const WinogradTiles& g, const float* mt, const float* b, float* y,
                  int64_t o0, int64_t o1) {
  if (use_avx2_fma()) return winograd_output_range_avx2(m, g, mt, b, y, o0, o1);
  (m == 2 ? winograd_output_range<2> : winograd_output_range<4>)(g, mt, b, y, o0, o1);
}

void weight_range(int m, int64_t OC, int64_t C, const float* w, bool turn, float* u, int64_t r0,
                  int64_t r1) {
  if (use_avx2_fma()) return winograd_weight_range_avx2(m, OC, C, w, turn, u, r0, r1);
  (m == 2 ? winograd_weight_range<2> : winograd_weight_range<4>)(OC, C, w, turn, u, r0, r1);
}

// u = the transformed weights (conv_winograd_loops.h), rows over threads.
void transform_weights(int m, int64_t OC, int64_t C, const float* w, bool turn, float* u) {
  parallel_for(turn ? C : OC, 1,
               [&](int64_t begin, int64_t end) { weight_range(m, OC, C, w, turn, u, begin, end); });
}

// The same into this thread's scratch, for one call.
float* transform_weights(int m, int64_t OC, int64_t C, const float* w, bool turn) {
  static thread_local Workspace t_u;
  float* u = t_u.get((m + 2) * (m + 2) * OC * C);
  transform_weights(m, OC, C, w, turn, u);
  return u;
}

// The output tile size for s (2 or 4), or 0 when im2col + GEMM is the better route: too
// few channels for the GEMMs, images so small that the tiles are mostly waste, or too few
// tiles in the batch to pay for transforming and packing (m+2)^2 weight matrices (the
// GEMM's register tile is 16 columns wide).
int tile_size(const ConvShape& s) {
  const Window2d& g = s.win;
  if (g.KH != 3 || g.KW != 3 || g.SH != 1 || g.SW != 1 || g.DH != 1 || g.DW != 1 || s.G != 1)
    return 0;
  constexpr int64_t kMinChannels = 16, kMinTiles = 16;
  if (s.C < kMinChannels || s.OC < kMinChannels) return 0;
  auto tiles = [&](int m) { return ceil_div(g.OH, m) * ceil_div(g.OW, m); };
  // Multiplications per output pixel relative to the direct 9, whole tiles counted.
  auto cost = [&](int m) { return double(tiles(m) * (m + 2) * (m + 2)) / double(9 * g.OH * g.OW); };
  constexpr double kMaxCost = 0.6;
  const int m = cost(4) <= cost(2) ? 4 : 2;
  return cost(m) <= kMaxCost && s.N * tiles(m) >= kMinTiles ? m : 0;
}

thread_local Workspace t_v, t_m;

int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

// y = conv(x) for the transformed weights u [(m+2)^2][C][OC], over chunks of tiles.
void run(const ConvShape& s, int m, const float* x, const float* u, const float* b, float* y) {
  const int64_t A2 = (m + 2) * (m + 2);
  const int64_t rows = ceil_div(s.win.OH, m), cols = ceil_div(s.win.OW, m);
  const int64_t total = s.N * rows * cols;
  if (total == 0) return;
  // V and M of a chunk within kChunkFloats, so that each stays in L2 between the transform
  // that writes it and the GEMMs that read it (the transforms are bound by those reads and
  // writes: 1.15-1.25x faster than with 8 MiB chunks on Zen 4), but wide enough for the
  // GEMMs' blocking.
  constexpr int64_t kChunkFloats = int64_t(1) << 16;  // 256 KiB
  constexpr int64_t kMinTiles = 32;
  int64_t chunk = std::max(kMinTiles, kChunkFloats / (A2 * (s.C + s.OC)));
  chunk = round_up(std::min(chunk, total), kLanes);
  const WinogradTiles whole{s, rows, cols, 0, chunk, chunk};
  float* v = t_v.get(A2 * whole.v_step());
  float* mt = t_m.get(A2 * whole.m_step());
  // M[t] [OC, tiles] = U[t] [OC, C] * V[t] [C, tiles], U[t] a plain A: with one chunk the
  // GEMM reads it in place (no pass over all the transformed weights to pack them).
  auto gemm = [&](int64_t t, const WinogradTiles& g) {
    return gemm_args(s.OC, g.tiles, s.C, u + t * s.OC * s.C, s.C, v + t * g.v_step(), g.ld,
                     mt + t * g.m_step(), g.ld);
  };
  // With several chunks, each U[t] is packed once for all of them: contiguous panels stream
  // better than rows read in place when U[t] no longer stays in cache between chunks.
  const bool share = total > chunk && gemm_cpu_packs(gemm(0, whole));
  // (A reference: the threads below must use this thread's copies, not their own.)
  thread_local std::vector<std::unique_ptr<GemmPackedA>> t_packed;
  auto& packed = t_packed;
  if (share) {
    while (packed.size() < static_cast<size_t>(A2))
      packed.push_back(std::make_unique<GemmPackedA>());
    parallel_for(A2, 1, [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) packed[static_cast<size_t>(t)]->pack(gemm(t, whole));
    });
  }
  for (int64_t q0 = 0; q0 < total; q0 += chunk) {
    const int64_t tiles = std::min(chunk, total - q0);
    const WinogradTiles g{s, rows, cols, q0, tiles, round_up(tiles, kLanes)};
    parallel_for(s.C, 1, [&](int64_t begin, int64_t end) { input_range(m, g, x, v, begin, end); });
    parallel_for(A2, 1, [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) {
        if (share)
          gemm_cpu_packed(gemm(t, g), *packed[static_cast<size_t>(t)]);
        else
          gemm_cpu(gemm(t, g));
      }
    });
    parallel_for(s.OC, 1,
                 [&](int64_t begin, int64_t end) { output_range(m, g, mt, b, y, begin, end); });
  }
}

}  // namespace

bool winograd_applies(const ConvShape& s) { return tile_size(s) != 0; }

void conv2d_forward_winograd(const ConvShape& s, const float* x, const float* w, const float* b,
                             float* y, int m) {
  run(s, m, x, transform_weights(m, s.OC, s.C, w, false), b, y);
}

int64_t winograd_weights_floats(const ConvShape& s) {
  const int m = tile_size(s);
  return m == 0 ? 0 : (m + 2) * (m + 2) * s.OC * s.C;
}

void winograd_transform_weights(const ConvShape& s, const float* w, float* u) {
  transform_weights(tile_size(s), s.OC, s.C, w, false, u);
}

void conv2d_forward_winograd_transformed(const ConvShape& s, const float* x, const float* u,
                                         const float* b, float* y) {
  run(s, tile_size(s), x, u, b, y);
}

bool conv2d_backward_data_winograd(const ConvShape& s, const float* dy, const float* w, float* dx) {
  const Window2d& g = s.win;
  if (std::max({g.PT, g.PL, g.PB, g.PR}) > 2) return false;
  // dx = the full correlation of dy with the turned kernel: output (OH + 2 - PT - PB) = H.
  ConvShape t = s;
  t.C = s.OC;
  t.OC = s.C;
  t.relu = false;
  t.win.H = g.OH;
  t.win.W = g.OW;
  t.win.OH = g.H;
  t.win.OW = g.W;
  t.win.PT = 2 - g.PT;
  t.win.PL = 2 - g.PL;
  t.win.PB = 2 - g.PB;
  t.win.PR = 2 - g.PR;
  const int m = tile_size(t);
  if (m == 0) return false;
  run(t, m, dy, transform_weights(m, s.OC, s.C, w, true), nullptr, dx);
  return true;
}

}  // namespace engine
