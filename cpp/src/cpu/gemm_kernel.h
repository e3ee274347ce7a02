// Private to the packed GEMM: the micro-kernel contract shared by every ISA, and the table
// of one ISA's kernels.
//
// A micro-kernel multiplies one packed A panel (MR rows, kc deep: a[k*MR + r]) by one
// packed B panel (kc deep, nr columns: b[k*nr + j], nr the ISA's tile width) and writes the
// mr x nr_used top-left part of the product into C. Panels are zero-padded to full tiles,
// so kernels always compute a whole tile and only the store looks at mr and nr_used.
#pragma once

#include <algorithm>
#include <cstdint>

#include "cpu/gemm.h"

namespace engine {
namespace gemm_detail {

constexpr int MR = 6;  // rows of the register tile, every ISA

// How a tile lands in C:  c = alpha*acc + beta*c  (c unread when beta == 0), then
// c += row_bias[r], c += col_bias[j], relu, each only when set. The bias pointers are
// already offset to the tile's first row / column.
struct TileStore {
  float alpha = 1.0f;
  float beta = 0.0f;
  const float* row_bias = nullptr;
  const float* col_bias = nullptr;
  bool relu = false;
};

using MicroKernel = void (*)(int64_t kc, const float* a, const float* b, float* c, int64_t ldc,
                             int mr, int nr, const TileStore& s);
// The same product with MR full rows of a plain A read in place: row r at a + r*lda.
using MicroKernelRowsA = void (*)(int64_t kc, const float* a, int64_t lda, const float* b, float* c,
                                  int64_t ldc, int mr, int nr, const TileStore& s);
// Packs one full panel for kc steps: dst[k*rows + r] = src[r*ld + k] (rows = MR for an A
// panel, the tile width for a transposed B panel).
using PackPanel = void (*)(const float* src, int64_t ld, int64_t kc, float* dst);
// Rows [i_begin, i_end) of C for a plain A and few columns, with bt = op(B)^T [N, K].
using SmallCols = void (*)(const GemmArgs& g, const float* bt, int64_t ldbt, int64_t i_begin,
                           int64_t i_end);

// One ISA's kernels. The blocked GEMM takes its tile width and packing from here, so the
// packed layout follows the ISA (a GemmPacked copy records which one packed it).
struct GemmIsa {
  int nr;  // columns of the register tile
  MicroKernel kernel;
  PackPanel pack_a_panel;                 // plain A; null: scalar packing
  PackPanel pack_b_trans_panel;           // transposed B; null: scalar packing
  void (*small_rows)(const GemmArgs& g);  // M <= kSmallRows, no packing
  SmallCols small_cols;
  MicroKernelRowsA kernel_rows_a;  // null: A is always packed
};
extern const GemmIsa kGemmPortable, kGemmAvx2, kGemmAvx512;

// C for M <= kSmallRows rows, or for a plain A, N <= kSmallCols columns and
// K >= kSmallColsMinK * N^2, without packing (see gemm_small.h). The unpacked path saves
// packing A (about M*K) but pays per output (a sum across lanes, the epilogue), so it wins
// only when K is long for the N: measured on Zen 4 (M = 512) against the packed path, 3.8x
// faster at N = 4, K = 2304; 1.7x at N = 4, K = 128; 1.1x at N = 16, K = 2304 and at
// N = 24; 0.9x at N = 8, K = 128 and N = 16, K = 512 (so not there).
constexpr int64_t kSmallRows = 4;
constexpr int64_t kSmallCols = 24;
constexpr int64_t kSmallColsMinK = 4;

// The scalar store every kernel uses for partial tiles (acc is a full MR x nr tile).
inline void store_tile_scalar(const float* acc, int nr, int mr, int nr_used, float* c, int64_t ldc,
                              const TileStore& s) {
  for (int r = 0; r < mr; ++r) {
    float* cr = c + r * ldc;
    const float rb = s.row_bias ? s.row_bias[r] : 0.0f;
    for (int j = 0; j < nr_used; ++j) {
      float v = s.alpha * acc[r * nr + j];
      if (s.beta != 0.0f) v += s.beta * cr[j];
      v += rb;
      if (s.col_bias) v += s.col_bias[j];
      if (s.relu) v = std::max(v, 0.0f);  // branch-free; NaN stays NaN
      cr[j] = v;
    }
  }
}

}  // namespace gemm_detail
}  // namespace engine
