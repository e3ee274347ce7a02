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
// the last one, so every output element sees each exactly once. NR, the tile's width, is
// the ISA's (gemm_kernel.h); MR is the same for all.
//
// Products with few rows or few columns skip the packing: the operand that would be packed
// is the big one, read once (gemm_small.h).
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

using gemm_detail::GemmIsa;
using gemm_detail::MR;
using gemm_detail::TileStore;

namespace {

// Zen 3 / Skylake-class caches: an A block of MC x KC floats (144 KiB) fits L2, a B panel
// of KC x NR (16 KiB) fits L1, the B block of KC x NC (4 MiB) fits L3. KC is for NR = 16;
// a wider tile takes proportionally fewer K steps, so that its B panel still fits L1.
constexpr int64_t KC = 256;
constexpr int64_t MC = 144;
constexpr int64_t NC = 4096;
// Below this many multiply-adds a second thread costs more than it saves.
constexpr int64_t kParallelMinFlops = int64_t(1) << 18;

const GemmIsa& current_isa() {
  return for_cpu_isa(gemm_detail::kGemmAvx512, gemm_detail::kGemmAvx2, gemm_detail::kGemmPortable);
}

// The kernels of the blocked product and of the few-rows path. On Zen 4 a 512-bit FMA has
// two 256-bit ones' throughput, and the 6x32 tile measured 0-10 % slower than the 6x16 one
// on large products (benchmarks/gemm.py --isas avx2 avx512); the few-rows loops compiled
// for AVX-512 measured 1.1x slower with B plain and 3-4x slower with B transposed (a Gemm
// imported from PyTorch at batch 1). So unless a test forces AVX-512, both keep AVX2; the
// few-columns path, up to 1.4x faster with 512 bits, does not.
const GemmIsa& blocked_isa() {
  const GemmIsa& isa = current_isa();
  return &isa == &gemm_detail::kGemmAvx512 && !cpu_isa_forced() ? gemm_detail::kGemmAvx2 : isa;
}

int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

// Splits `n` into near-equal blocks of at most `max_block`, each a multiple of `unit`.
int64_t balanced_block(int64_t n, int64_t max_block, int64_t unit) {
  const int64_t blocks = ceil_div(n, max_block);
  return std::min(round_up(ceil_div(n, blocks), unit), round_up(max_block, unit));
}

thread_local Workspace t_pack_a;
thread_local Workspace t_pack_b;

// op(A)[i0 : i0+mc, p0 : p0+kc] -> MR-row panels: dst[(panel*kc + k)*MR + r].
void pack_a(const GemmArgs& g, const GemmIsa& isa, int64_t i0, int64_t mc, int64_t p0, int64_t kc,
            float* dst) {
  for (int64_t ip = 0; ip < mc; ip += MR, dst += MR * kc) {
    const int rows = static_cast<int>(std::min<int64_t>(MR, mc - ip));
    if (g.trans_a && rows == MR) {  // a fixed count: the copies unroll
      const float* src = g.A + p0 * g.lda + i0 + ip;
      for (int64_t k = 0; k < kc; ++k, src += g.lda)
        for (int r = 0; r < MR; ++r) dst[k * MR + r] = src[r];
    } else if (rows == MR && isa.pack_a_panel) {  // the scalar gather costs a tenth of the product
      isa.pack_a_panel(g.A + (i0 + ip) * g.lda + p0, g.lda, kc, dst);
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

// One full NR-column panel of a plain B (stored [K, N]) for kc steps: a fixed-width copy
// per k, which the compiler turns into whole-vector moves (a runtime width would not be).
template <int NR>
void pack_b_plain_panel(const float* src, int64_t ldb, int64_t kc, float* dst) {
  for (int64_t k = 0; k < kc; ++k, src += ldb, dst += NR)
    for (int c = 0; c < NR; ++c) dst[c] = src[c];
}

// op(B)[p0 : p0+kc, j0 + panel range] -> NR-column panels: dst[(panel*kc + k)*NR + j].
void pack_b(const GemmArgs& g, const GemmIsa& isa, int64_t p0, int64_t kc, int64_t j0, int64_t n,
            int64_t panel_begin, int64_t panel_end, float* dst) {
  const int NR = isa.nr;
  for (int64_t jp = panel_begin; jp < panel_end; ++jp) {
    float* d = dst + jp * NR * kc;
    const int64_t j = j0 + jp * NR;
    const int cols = static_cast<int>(std::min<int64_t>(NR, n - jp * NR));
    if (g.trans_b && cols == NR && isa.pack_b_trans_panel) {
      // The scalar transpose below would cost as much as the product when M is small.
      isa.pack_b_trans_panel(g.B + j * g.ldb + p0, g.ldb, kc, d);
    } else if (g.trans_b) {
      // Stored [N, K]: column j of op(B) is row j of B, read along k.
      for (int c = 0; c < cols; ++c) {
        const float* src = g.B + (j + c) * g.ldb + p0;
        for (int64_t k = 0; k < kc; ++k) d[k * NR + c] = src[k];
      }
      for (int c = cols; c < NR; ++c)
        for (int64_t k = 0; k < kc; ++k) d[k * NR + c] = 0.0f;
    } else if (cols == NR && (NR == 16 || NR == 32)) {
      (NR == 16 ? pack_b_plain_panel<16> : pack_b_plain_panel<32>)(g.B + p0 * g.ldb + j, g.ldb, kc,
                                                                   d);
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

// The K and N blocks of a product with this K and N (gemm_cpu and GemmPacked agree on them).
int64_t k_block(int64_t K, int NR) { return balanced_block(K, KC * 16 / NR, 1); }
int64_t n_block(int64_t N, int NR) { return balanced_block(N, NC, NR); }

// Where GemmPackedB keeps the packed B block at (jc, pc): the N blocks one after another,
// each holding its K blocks one after another.
int64_t packed_b_offset(int64_t K, int64_t nc_max, int64_t jc, int64_t nc, int64_t pc, int NR) {
  return jc / nc_max * K * round_up(nc_max, NR) + pc * round_up(nc, NR);
}
// Where GemmPackedA keeps the MR-row panels from row i0 of the K block at pc: the K blocks
// one after another, each holding all of op(A)'s panels.
int64_t packed_a_offset(int64_t M, int64_t pc, int64_t kc, int64_t i0) {
  return pc * round_up(M, MR) + i0 * kc;
}

void gemm_small_cols(const GemmArgs& g, const GemmIsa& isa);

// Columns past the last whole panel, up to this many, are dot products (gemm_small_cols)
// instead of one more panel: a panel costs its full width whatever it holds, so a
// convolution of 7x7 pixels (49 columns) paid for 64.
constexpr int64_t kRemainderDotCols = 4;

// Column panels (of the ISA's tile width) up to which a plain A is read in place: measured
// on Zen 4 for convolutions of one image, 7% faster at 7x7 pixels (4 panels) and the same
// or slightly faster up to 16x16 pixels (16 panels).
constexpr int64_t kInPlaceAMaxPanels = 16;

// The blocked product; `packed_a`, `packed_b`: the operands packed by GemmPacked, or null
// to pack them here. Without `readable`, the packed operand is all there is (an attached
// GemmPacked): no path reads the operands themselves.
void gemm_blocked(const GemmArgs& g, const GemmIsa& isa, const float* packed_a,
                  const float* packed_b, bool readable = true) {
  const int NR = isa.nr;
  const int64_t M = g.M, N = g.N, K = g.K;
  const int64_t kc_max = k_block(K, NR);
  const int64_t nc_max = n_block(N, NR);
  const int64_t mc_max = balanced_block(M, MC, MR);
  const int64_t m_blocks = ceil_div(M, mc_max);

  const int threads = M * N * K < kParallelMinFlops ? 1 : get_num_threads();
  // When M blocks do not divide evenly among threads, the N panels of each block are split
  // as well, so every thread gets the same share (it packs the A blocks it touches).
  const int64_t n_split_wanted = threads / std::gcd<int64_t>(m_blocks, threads);

  // A plain A used by few column panels is read in place: packing it (a pass over all of A,
  // a weight matrix in a convolution of one small image) costs more than its contiguous
  // panels save when each panel serves only a few tiles. The sums are the same.
  const bool a_in_place = !packed_a && !g.trans_a && isa.kernel_rows_a != nullptr &&
                          ceil_div(N, NR) <= kInPlaceAMaxPanels;
  // The panels cover columns [0, n_main); the rest are dot products, after them. The blocks
  // (and a packed B's layout) stay those of all N columns.
  const int64_t remainder = N % NR;
  const bool dot_remainder = readable && !g.trans_a && N > NR && remainder <= kRemainderDotCols;
  const int64_t n_main = dot_remainder ? N - remainder : N;
  float* const pack_buffer = packed_b ? nullptr : t_pack_b.get(kc_max * round_up(nc_max, NR));
  for (int64_t jc = 0; jc < n_main; jc += nc_max) {
    const int64_t nc = std::min(nc_max, N - jc);
    const int64_t n_panels = ceil_div(std::min(nc, n_main - jc), NR);
    const int64_t n_split = std::min(n_split_wanted, n_panels);
    for (int64_t pc = 0; pc < K; pc += kc_max) {
      const int64_t kc = std::min(kc_max, K - pc);
      const bool first = pc == 0, last = pc + kc >= K;

      const float* bp = pack_buffer;
      if (packed_b) {
        bp = packed_b + packed_b_offset(K, nc_max, jc, nc, pc, NR);
      } else {
        auto pack = [&](int64_t begin, int64_t end) {
          pack_b(g, isa, pc, kc, jc, nc, begin, end, pack_buffer);
        };
        if (threads > 1)
          parallel_for(n_panels, std::max<int64_t>(1, (int64_t(1) << 15) / (kc * NR)), pack);
        else
          pack(0, n_panels);
      }

      auto compute = [&](int64_t task_begin, int64_t task_end) {
        float* const pack_a_buffer = packed_a ? nullptr : t_pack_a.get(mc_max * kc_max);
        const float* ap = pack_a_buffer;
        int64_t packed_block = -1;
        for (int64_t t = task_begin; t < task_end; ++t) {
          const int64_t mb = t / n_split, ns = t % n_split;
          const int64_t i0 = mb * mc_max, mc = std::min(mc_max, M - i0);
          if (packed_a) {
            ap = packed_a + packed_a_offset(M, pc, kc, i0);
          } else if (a_in_place) {
            // Only a last panel of fewer than MR rows is packed (zero rows below it).
            if (mc % MR != 0 && mb != packed_block) {
              const int64_t tail = mc / MR * MR;
              pack_a(g, isa, i0 + tail, mc - tail, pc, kc, pack_a_buffer + tail * kc);
              packed_block = mb;
            }
          } else if (mb != packed_block) {
            pack_a(g, isa, i0, mc, pc, kc, pack_a_buffer);
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
              const int mr = static_cast<int>(std::min<int64_t>(MR, M - i));
              if (a_in_place && mr == MR)
                isa.kernel_rows_a(kc, g.A + i * g.lda + pc, g.lda, b_panel, g.C + i * g.ldc + j,
                                  g.ldc, mr, nr, s);
              else
                isa.kernel(kc, ap + ip * kc, b_panel, g.C + i * g.ldc + j, g.ldc, mr, nr, s);
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
  if (dot_remainder && remainder > 0) {
    GemmArgs rest = g;
    rest.N = remainder;
    rest.B = g.trans_b ? g.B + n_main * g.ldb : g.B + n_main;
    rest.C = g.C + n_main;
    if (rest.epilogue.col_bias) rest.epilogue.col_bias += n_main;
    gemm_small_cols(rest, current_isa());
  }
}

// Few columns and a plain A: each row of C is N dot products of an A row with op(B)'s
// columns, read from bt = op(B)^T ([N, K], B itself when transposed), threads over rows.
void gemm_small_cols(const GemmArgs& g, const GemmIsa& isa) {
  const float* bt = g.B;
  int64_t ldbt = g.ldb;
  if (!g.trans_b) {  // a few columns of length K: gather them into rows
    float* t = t_pack_b.get(g.N * g.K);
    for (int64_t k = 0; k < g.K; ++k)
      for (int64_t j = 0; j < g.N; ++j) t[j * g.K + k] = g.B[k * g.ldb + j];
    bt = t;
    ldbt = g.K;
  }
  constexpr int64_t kRows = 16;  // a multiple of every ISA's row tile
  const int64_t blocks = ceil_div(g.M, kRows);
  auto rows = [&](int64_t begin, int64_t end) {
    isa.small_cols(g, bt, ldbt, begin * kRows, std::min(g.M, end * kRows));
  };
  if (g.M * g.N * g.K < kParallelMinFlops || get_num_threads() == 1)
    rows(0, blocks);
  else
    parallel_for(blocks, 1, rows);
}

enum class Path { Nothing, ScaleOnly, SmallRows, SmallCols, Blocked };

Path path_of(const GemmArgs& g) {
  if (g.M <= 0 || g.N <= 0) return Path::Nothing;
  if (g.K <= 0 || g.alpha == 0.0f) return Path::ScaleOnly;
  if (g.M <= gemm_detail::kSmallRows) return Path::SmallRows;
  using gemm_detail::kSmallCols, gemm_detail::kSmallColsMinK;
  if (!g.trans_a && g.N <= kSmallCols && g.K >= kSmallColsMinK * g.N * g.N) return Path::SmallCols;
  return Path::Blocked;
}

// Runs every path of gemm_cpu; the blocked one with the operands given already packed.
void gemm_run(const GemmArgs& g, const float* packed_a, const float* packed_b) {
  switch (path_of(g)) {
    case Path::Nothing:
      return;
    case Path::ScaleOnly:
      return scale_only(g);
    case Path::SmallRows:
      return blocked_isa().small_rows(g);
    case Path::SmallCols:
      return gemm_small_cols(g, current_isa());
    case Path::Blocked:
      return gemm_blocked(g, blocked_isa(), packed_a, packed_b);
  }
}

}  // namespace

namespace gemm_detail {
struct PackedAccess {
  // The floats of the packed copy of args' A or B.
  template <GemmOperand Which>
  static int64_t floats(const GemmArgs& g) {
    constexpr bool is_a = Which == GemmOperand::A;
    if (g.K <= 0 || (is_a ? g.M : g.N) <= 0) return 0;
    if (is_a) return g.K * round_up(g.M, MR);
    const int NR = blocked_isa().nr;
    const int64_t nc_max = n_block(g.N, NR);
    return ceil_div(g.N, nc_max) * g.K * round_up(nc_max, NR);
  }

  template <GemmOperand Which>
  static void describe(GemmPacked<Which>& p, const GemmArgs& g, const float* source) {
    constexpr bool is_a = Which == GemmOperand::A;
    p.source_ = source;
    p.K_ = g.K;
    p.MN_ = is_a ? g.M : g.N;
    p.trans_ = is_a ? g.trans_a : g.trans_b;
    p.isa_ = &blocked_isa();
    p.data_ = nullptr;
  }

  // Packs args' operand into dst (floats<Which>(g) of them).
  template <GemmOperand Which>
  static void pack_to(const GemmArgs& g, float* dst) {
    constexpr bool is_a = Which == GemmOperand::A;
    const GemmIsa& isa = blocked_isa();
    if (floats<Which>(g) == 0) return;
    const int64_t kc_max = k_block(g.K, isa.nr);
    if (is_a) {
      auto pack_k_blocks = [&](int64_t begin, int64_t end) {
        for (int64_t pc = begin * kc_max; pc < std::min(g.K, end * kc_max); pc += kc_max) {
          const int64_t kc = std::min(kc_max, g.K - pc);
          pack_a(g, isa, 0, g.M, pc, kc, dst + packed_a_offset(g.M, pc, kc, 0));
        }
      };
      const int64_t k_blocks = ceil_div(g.K, kc_max);
      if (g.M * g.K < kParallelMinFlops / 4)  // a copy: a thread pays off sooner than for FMAs
        pack_k_blocks(0, k_blocks);
      else
        parallel_for(k_blocks, 1, pack_k_blocks);
      return;
    }
    const int NR = isa.nr;
    const int64_t nc_max = n_block(g.N, NR);
    for (int64_t jc = 0; jc < g.N; jc += nc_max) {
      const int64_t nc = std::min(nc_max, g.N - jc);
      for (int64_t pc = 0; pc < g.K; pc += kc_max)
        pack_b(g, isa, pc, std::min(kc_max, g.K - pc), jc, nc, 0, ceil_div(nc, NR),
               dst + packed_b_offset(g.K, nc_max, jc, nc, pc, NR));
    }
  }

  template <GemmOperand Which>
  static void pack(GemmPacked<Which>& p, const GemmArgs& g) {
    describe(p, g, Which == GemmOperand::A ? g.A : g.B);
    const int64_t n = floats<Which>(g);
    if (n == 0) return;
    float* dst = p.panels_.get(n);
    pack_to<Which>(g, dst);
    p.data_ = dst;
  }

  template <GemmOperand Which>
  static void attach(GemmPacked<Which>& p, const GemmArgs& g, const float* storage) {
    describe(p, g, nullptr);
    if (floats<Which>(g) > 0) p.data_ = storage;
  }

  template <GemmOperand Which>
  static void run(const GemmArgs& g, const GemmPacked<Which>& p) {
    constexpr bool is_a = Which == GemmOperand::A;
    const bool attached = p.source_ == nullptr;
    ENGINE_CHECK(g.K == p.K_ && (is_a ? g.M : g.N) == p.MN_ &&
                     (is_a ? g.trans_a : g.trans_b) == p.trans_ &&
                     (attached || (is_a ? g.A : g.B) == p.source_),
                 "gemm_cpu_packed: ", is_a ? "A" : "B", " is not the one packed");
    ENGINE_CHECK(p.isa_ == &blocked_isa(),
                 "gemm_cpu_packed: packed for other CPU kernels (set_cpu_isa changed since)");
    const float* packed_a = is_a ? p.data_ : nullptr;
    const float* packed_b = is_a ? nullptr : p.data_;
    const Path path = path_of(g);
    if (attached && p.data_ && path != Path::Nothing && path != Path::ScaleOnly)
      return gemm_blocked(g, blocked_isa(), packed_a, packed_b, false);  // the operand may be gone
    gemm_run(g, packed_a, packed_b);
  }
};
}  // namespace gemm_detail

bool gemm_cpu_packs(const GemmArgs& g) { return path_of(g) == Path::Blocked; }

void gemm_cpu(const GemmArgs& g) { gemm_run(g, nullptr, nullptr); }

template <GemmOperand Which>
void GemmPacked<Which>::pack(const GemmArgs& g) {
  gemm_detail::PackedAccess::pack(*this, g);
}
template <GemmOperand Which>
int64_t GemmPacked<Which>::packed_floats(const GemmArgs& g) {
  return gemm_detail::PackedAccess::floats<Which>(g);
}
namespace {
void check_aligned(const float* storage, const char* what) {
  ENGINE_CHECK(reinterpret_cast<uintptr_t>(storage) % 64 == 0, what,
               ": the storage of a packed operand must be 64-byte aligned");
}
}  // namespace

template <GemmOperand Which>
void GemmPacked<Which>::pack_into(const GemmArgs& g, float* storage) {
  check_aligned(storage, "GemmPacked::pack_into");
  gemm_detail::PackedAccess::pack_to<Which>(g, storage);
}
template <GemmOperand Which>
void GemmPacked<Which>::attach(const GemmArgs& g, const float* storage) {
  check_aligned(storage, "GemmPacked::attach");
  gemm_detail::PackedAccess::attach(*this, g, storage);
}
template class GemmPacked<GemmOperand::A>;
template class GemmPacked<GemmOperand::B>;

void gemm_cpu_packed(const GemmArgs& g, const GemmPackedA& a) {
  gemm_detail::PackedAccess::run(g, a);
}
void gemm_cpu_packed(const GemmArgs& g, const GemmPackedB& b) {
  gemm_detail::PackedAccess::run(g, b);
}

}  // namespace engine
