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

// How the tiles of s run: the tile size, the batch's tiles in chunks, and whether every
// chunk's GEMMs share U packed once.
struct Route {
  int m = 0;
  int64_t A2 = 0, rows = 0, cols = 0, total = 0, chunk = 0;
  bool share = false;

  Route(const ConvShape& s, int tile) : m(tile), A2((tile + 2) * (tile + 2)) {
    rows = ceil_div(s.win.OH, m);
    cols = ceil_div(s.win.OW, m);
    total = s.N * rows * cols;
    // V and M of a chunk within kChunkFloats, so that each stays in L2 between the
    // transform that writes it and the GEMMs that read it (the transforms are bound by those
    // reads and writes: 1.15-1.25x faster than with 8 MiB chunks on Zen 4), but wide enough
    // for the GEMMs' blocking.
    constexpr int64_t kChunkFloats = int64_t(1) << 16;  // 256 KiB
    constexpr int64_t kMinTiles = 32;
    chunk = std::max(kMinTiles, kChunkFloats / (A2 * (s.C + s.OC)));
    chunk = round_up(std::min(chunk, std::max<int64_t>(total, 1)), kLanes);
    // With several chunks, each U[t] is packed once for all of them: contiguous panels
    // stream better than rows read in place when U[t] no longer stays in cache between chunks.
    share = total > chunk && gemm_cpu_packs(u_gemm(s));
  }
  // The shape of the products M[t] [OC, tiles] = U[t] [OC, C] * V[t] [C, tiles] of a full
  // chunk (what U[t] is packed for).
  GemmArgs u_gemm(const ConvShape& s) const {
    return gemm_args(s.OC, chunk, s.C, nullptr, s.C, nullptr, chunk, nullptr, chunk);
  }
  // The floats one U[t] packed takes, rounded up to keep the next one 64-byte aligned.
  int64_t packed_floats(const ConvShape& s) const {
    return round_up(GemmPackedA::packed_floats(u_gemm(s)), 16);
  }
};

// y = conv(x) for the transformed weights u [(m+2)^2][OC][C], over chunks of tiles; or,
// where route.share, from `kept`: every U[t] packed into packed_floats(s) floats of it
// (then u is not read).
void run(const ConvShape& s, const Route& route, const float* x, const float* u, const float* kept,
         const float* b, float* y) {
  const int m = route.m;
  const int64_t A2 = route.A2, total = route.total, chunk = route.chunk;
  if (total == 0) return;
  const WinogradTiles whole{s, route.rows, route.cols, 0, chunk, chunk};
  float* v = t_v.get(A2 * whole.v_step());
  float* mt = t_m.get(A2 * whole.m_step());
  // M[t] = U[t] * V[t], U[t] a plain A: with one chunk the GEMM reads it in place (no pass
  // over all the transformed weights to pack them).
  auto gemm = [&](int64_t t, const WinogradTiles& g) {
    return gemm_args(s.OC, g.tiles, s.C, u ? u + t * s.OC * s.C : nullptr, s.C, v + t * g.v_step(),
                     g.ld, mt + t * g.m_step(), g.ld);
  };
  // (A reference: the threads below must use this thread's copies, not their own.)
  thread_local std::vector<std::unique_ptr<GemmPackedA>> t_packed;
  auto& packed = t_packed;
  if (route.share) {
    while (packed.size() < static_cast<size_t>(A2))
      packed.push_back(std::make_unique<GemmPackedA>());
    const int64_t per = route.packed_floats(s);
    parallel_for(A2, 1, [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) {
        GemmPackedA& p = *packed[static_cast<size_t>(t)];
        if (kept)
          p.attach(gemm(t, whole), kept + t * per);
        else
          p.pack(gemm(t, whole));
      }
    });
  }
  for (int64_t q0 = 0; q0 < total; q0 += chunk) {
    const int64_t tiles = std::min(chunk, total - q0);
    const WinogradTiles g{s, route.rows, route.cols, q0, tiles, round_up(tiles, kLanes)};
    parallel_for(s.C, 1, [&](int64_t begin, int64_t end) { input_range(m, g, x, v, begin, end); });
    parallel_for(A2, 1, [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) {
        if (route.share)
          gemm_cpu_packed(gemm(t, g), *packed[static_cast<size_t>(t)]);
        else
          gemm_cpu(gemm(t, g));
      }
    });
    parallel_for(s.OC, 1,
                 [&](int64_t begin, int64_t end) { output_range(m, g, mt, b, y, begin, end); });
  }
}

void run(const ConvShape& s, int m, const float* x, const float* u, const float* b, float* y) {
  run(s, Route(s, m), x, u, nullptr, b, y);
}

}  // namespace

bool winograd_applies(const ConvShape& s) { return tile_size(s) != 0; }

void conv2d_forward_winograd(const ConvShape& s, const float* x, const float* w, const float* b,
                             float* y, int m) {
  run(s, m, x, transform_weights(m, s.OC, s.C, w, false), b, y);
}

int64_t winograd_weights_floats(const ConvShape& s) {
  const int m = tile_size(s);
  if (m == 0) return 0;
  const Route route(s, m);
  return route.A2 * (route.share ? route.packed_floats(s) : s.OC * s.C);
}

void winograd_transform_weights(const ConvShape& s, const float* w, float* kept) {
  const Route route(s, tile_size(s));
  if (!route.share) return transform_weights(route.m, s.OC, s.C, w, false, kept);
  const float* u = transform_weights(route.m, s.OC, s.C, w, false);
  const int64_t per = route.packed_floats(s);
  GemmArgs a = route.u_gemm(s);
  parallel_for(route.A2, 1, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      GemmArgs at = a;
      at.A = u + t * s.OC * s.C;
      GemmPackedA::pack_into(at, kept + t * per);
    }
  });
}

void conv2d_forward_winograd_transformed(const ConvShape& s, const float* x, const float* kept,
                                         const float* b, float* y) {
  const Route route(s, tile_size(s));
  run(s, route, x, route.share ? nullptr : kept, route.share ? kept : nullptr, b, y);
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
