// The packed, cache-blocked, threaded GEMM (BLIS loop order).
//
//   for jc in N step NC          B block  [KC x NC]  packed once, shared, lives in L3
//     for pc in K step KC
//       pack B[pc, jc]           NR-column panels, both transposes folded in here
//       for ic in M step MC      (threads: M blocks, and N panel ranges when M is short)
//         pack A[ic, pc]         MR-row panels, per thread, lives in L2
//         for jr in NC step NR   one B panel [KC x NR] stays in L1
//           for ir in MC step MR
//             micro-kernel       MR x NR register tile
//
// beta is applied on the first K block only (later blocks accumulate) and the epilogue on
// the last one, so every output element sees each exactly once.
#include <algorithm>
#include <cstdlib>
#include <numeric>

#include "core/checked.h"
#include "core/cpu_features.h"
#include "cpu/gemm.h"
#include "cpu/gemm_kernel.h"
#include "cpu/workspace.h"
#include "engine/status.h"
#include "engine/threads.h"

namespace engine {

using gemm_detail::MicroKernel;
using gemm_detail::MR;
using gemm_detail::NR;
using gemm_detail::TileStore;

namespace {

// Zen 3 / Skylake-class caches: an A block of MC x KC floats (144 KiB) fits L2, a B panel
// of KC x NR (16 KiB) fits L1, the B block of KC x NC (4 MiB) fits L3.
constexpr int64_t KC = 256;
constexpr int64_t MC = 144;
constexpr int64_t NC = 4096;
// Below this many multiply-adds a second thread costs more than it saves.
constexpr int64_t kParallelMinFlops = int64_t(1) << 18;

int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

// Splits `n` into near-equal blocks of at most `max_block`, each a multiple of `unit`.
int64_t balanced_block(int64_t n, int64_t max_block, int64_t unit) {
  const int64_t blocks = ceil_div(n, max_block);
  return std::min(round_up(ceil_div(n, blocks), unit), round_up(max_block, unit));
}

thread_local Workspace t_pack_a;
thread_local Workspace t_pack_b;

// op(A)[i0 : i0+mc, p0 : p0+kc] -> MR-row panels: dst[(panel*kc + k)*MR + r].
void pack_a(const GemmArgs& g, int64_t i0, int64_t mc, int64_t p0, int64_t kc, float* dst) {
  const bool avx2 = use_avx2_fma();
  for (int64_t ip = 0; ip < mc; ip += MR, dst += MR * kc) {
    const int rows = static_cast<int>(std::min<int64_t>(MR, mc - ip));
    if (g.trans_a && rows == MR) {  // a fixed count: the copies unroll
      const float* src = g.A + p0 * g.lda + i0 + ip;
      for (int64_t k = 0; k < kc; ++k, src += g.lda)
        for (int r = 0; r < MR; ++r) dst[k * MR + r] = src[r];
    } else if (rows == MR && avx2) {  // the scalar gather below costs a tenth of the product
      gemm_detail::pack_a_panel_avx2(g.A + (i0 + ip) * g.lda + p0, g.lda, kc, dst);
    } else if (g.trans_a) {
      // Stored [K, M]: each k reads `rows` neighbours.
      const float* src = g.A + p0 * g.lda + i0 + ip;
      for (int64_t k = 0; k < kc; ++k, src += g.lda) {
        float* d = dst + k * MR;
        for (int r = 0; r < rows; ++r) d[r] = src[r];
        for (int r = rows; r < MR; ++r) d[r] = 0.0f;
      }
    } else {
      const float* src[MR];
      for (int r = 0; r < MR; ++r) src[r] = g.A + (i0 + ip + std::min(r, rows - 1)) * g.lda + p0;
      for (int64_t k = 0; k < kc; ++k) {
        float* d = dst + k * MR;
        for (int r = 0; r < MR; ++r) d[r] = r < rows ? src[r][k] : 0.0f;
      }
    }
  }
}

// op(B)[p0 : p0+kc, j0 + panel range] -> NR-column panels: dst[(panel*kc + k)*NR + j].
void pack_b(const GemmArgs& g, int64_t p0, int64_t kc, int64_t j0, int64_t n, int64_t panel_begin,
            int64_t panel_end, float* dst) {
  const bool avx2 = use_avx2_fma();
  for (int64_t jp = panel_begin; jp < panel_end; ++jp) {
    float* d = dst + jp * NR * kc;
    const int64_t j = j0 + jp * NR;
    const int cols = static_cast<int>(std::min<int64_t>(NR, n - jp * NR));
    if (g.trans_b && cols == NR && avx2) {
      // The scalar transpose below would cost as much as the product when M is small.
      gemm_detail::pack_b_trans_panel_avx2(g.B + j * g.ldb + p0, g.ldb, kc, d);
    } else if (g.trans_b) {
      // Stored [N, K]: column j of op(B) is row j of B, read along k.
      for (int c = 0; c < cols; ++c) {
        const float* src = g.B + (j + c) * g.ldb + p0;
        for (int64_t k = 0; k < kc; ++k) d[k * NR + c] = src[k];
      }
      for (int c = cols; c < NR; ++c)
        for (int64_t k = 0; k < kc; ++k) d[k * NR + c] = 0.0f;
    } else {
      const float* src = g.B + p0 * g.ldb + j;
      for (int64_t k = 0; k < kc; ++k, src += g.ldb, d += NR) {
        for (int c = 0; c < cols; ++c) d[c] = src[c];
        for (int c = cols; c < NR; ++c) d[c] = 0.0f;
      }
    }
  }
}

// No product to add (K == 0 or alpha == 0): c = beta*c (unread when beta == 0) + epilogue.
void scale_only(const GemmArgs& g) {
  const GemmEpilogue& e = g.epilogue;
  for (int64_t i = 0; i < g.M; ++i) {
    float* c = g.C + i * g.ldc;
    for (int64_t j = 0; j < g.N; ++j) {
      float v = g.beta == 0.0f ? 0.0f : g.beta * c[j];
      if (e.row_bias) v += e.row_bias[i];
      if (e.col_bias) v += e.col_bias[j];
      if (e.relu && v < 0.0f) v = 0.0f;
      c[j] = v;
    }
  }
}

// The K and N blocks of a product with this K and N (gemm_cpu and GemmPackedB agree on them).
int64_t k_block(int64_t K) { return balanced_block(K, KC, 1); }
int64_t n_block(int64_t N) { return balanced_block(N, NC, NR); }

// Where GemmPackedB keeps the packed B block at (jc, pc): the N blocks one after another,
// each holding its K blocks one after another.
int64_t packed_offset(int64_t K, int64_t nc_max, int64_t jc, int64_t nc, int64_t pc) {
  return jc / nc_max * K * round_up(nc_max, NR) + pc * round_up(nc, NR);
}

// The blocked product; `prepacked`: op(B) packed by GemmPackedB, or null to pack it here.
void gemm_blocked(const GemmArgs& g, const float* prepacked) {
  const MicroKernel kernel =
      use_avx2_fma() ? gemm_detail::micro_kernel_avx2 : gemm_detail::micro_kernel_portable;
  const int64_t M = g.M, N = g.N, K = g.K;
  const int64_t kc_max = k_block(K);
  const int64_t nc_max = n_block(N);
  const int64_t mc_max = balanced_block(M, MC, MR);
  const int64_t m_blocks = ceil_div(M, mc_max);

  const int threads = M * N * K < kParallelMinFlops ? 1 : get_num_threads();
  // When M blocks do not divide evenly among threads, the N panels of each block are split
  // as well, so every thread gets the same share (it packs the A blocks it touches).
  const int64_t n_split_wanted = threads / std::gcd<int64_t>(m_blocks, threads);

  float* const pack_buffer = prepacked ? nullptr : t_pack_b.get(kc_max * round_up(nc_max, NR));
  for (int64_t jc = 0; jc < N; jc += nc_max) {
    const int64_t nc = std::min(nc_max, N - jc);
    const int64_t n_panels = ceil_div(nc, NR);
    const int64_t n_split = std::min(n_split_wanted, n_panels);
    for (int64_t pc = 0; pc < K; pc += kc_max) {
      const int64_t kc = std::min(kc_max, K - pc);
      const bool first = pc == 0, last = pc + kc >= K;

      const float* bp = pack_buffer;
      if (prepacked) {
        bp = prepacked + packed_offset(K, nc_max, jc, nc, pc);
      } else {
        auto pack = [&](int64_t begin, int64_t end) {
          pack_b(g, pc, kc, jc, nc, begin, end, pack_buffer);
        };
        if (threads > 1)
          parallel_for(n_panels, std::max<int64_t>(1, (int64_t(1) << 15) / (kc * NR)), pack);
        else
          pack(0, n_panels);
      }

      auto compute = [&](int64_t task_begin, int64_t task_end) {
        float* ap = t_pack_a.get(mc_max * kc_max);
        int64_t packed_block = -1;
        for (int64_t t = task_begin; t < task_end; ++t) {
          const int64_t mb = t / n_split, ns = t % n_split;
          const int64_t i0 = mb * mc_max, mc = std::min(mc_max, M - i0);
          if (mb != packed_block) {
            pack_a(g, i0, mc, pc, kc, ap);
            packed_block = mb;
          }
          for (int64_t jp = n_panels * ns / n_split; jp < n_panels * (ns + 1) / n_split; ++jp) {
            const int64_t j = jc + jp * NR;
            const int nr = static_cast<int>(std::min<int64_t>(NR, N - j));
            const float* b_panel = bp + jp * NR * kc;
            for (int64_t ip = 0; ip < mc; ip += MR) {
              const int64_t i = i0 + ip;
              TileStore s;
              s.alpha = g.alpha;
              s.beta = first ? g.beta : 1.0f;
              if (last) {
                s.row_bias = g.epilogue.row_bias ? g.epilogue.row_bias + i : nullptr;
                s.col_bias = g.epilogue.col_bias ? g.epilogue.col_bias + j : nullptr;
                s.relu = g.epilogue.relu;
              }
              kernel(kc, ap + ip * kc, b_panel, g.C + i * g.ldc + j, g.ldc,
                     static_cast<int>(std::min<int64_t>(MR, M - i)), nr, s);
            }
          }
        }
      };
      const int64_t tasks = m_blocks * n_split;
      if (threads > 1)
        parallel_for(tasks, 1, compute);
      else
        compute(0, tasks);
    }
  }
}

}  // namespace

void gemm_cpu(const GemmArgs& g) {
  if (g.M <= 0 || g.N <= 0) return;
  if (g.K <= 0 || g.alpha == 0.0f) {
    scale_only(g);
    return;
  }
  if (g.M <= gemm_detail::kSmallRows) {
    (use_avx2_fma() ? gemm_detail::gemm_small_rows_avx2 : gemm_detail::gemm_small_rows_portable)(g);
    return;
  }
  gemm_blocked(g, nullptr);
}

void GemmPackedB::pack(const GemmArgs& g) {
  source_ = g.B;
  K_ = g.K;
  N_ = g.N;
  trans_ = g.trans_b;
  data_ = nullptr;
  if (g.K <= 0 || g.N <= 0) return;
  const int64_t kc_max = k_block(g.K), nc_max = n_block(g.N);
  float* dst = panels_.get(ceil_div(g.N, nc_max) * g.K * round_up(nc_max, NR));
  for (int64_t jc = 0; jc < g.N; jc += nc_max) {
    const int64_t nc = std::min(nc_max, g.N - jc);
    for (int64_t pc = 0; pc < g.K; pc += kc_max)
      pack_b(g, pc, std::min(kc_max, g.K - pc), jc, nc, 0, ceil_div(nc, NR),
             dst + packed_offset(g.K, nc_max, jc, nc, pc));
  }
  data_ = dst;
}

void gemm_cpu_packed(const GemmArgs& g, const GemmPackedB& b) {
  ENGINE_CHECK(g.K == b.K_ && g.N == b.N_ && g.trans_b == b.trans_ && g.B == b.source_,
               "gemm_cpu_packed: B is not the one packed");
  // What gemm_cpu does without the blocked product needs no packed B.
  if (g.M <= 0 || g.N <= 0 || g.K <= 0 || g.alpha == 0.0f || g.M <= gemm_detail::kSmallRows)
    return gemm_cpu(g);
  gemm_blocked(g, b.data_);
}

}  // namespace engine
