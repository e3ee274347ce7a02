// Private to the packed GEMM: the micro-kernel contract shared by every ISA.
//
// A micro-kernel multiplies one packed A panel (MR rows, kc deep: a[k*MR + r]) by one
// packed B panel (kc deep, NR columns: b[k*NR + j]) and writes the mr x nr top-left part of
// the MR x NR product into C. Panels are zero-padded to full MR / NR, so kernels always
// compute a whole tile and only the store looks at mr and nr.
#pragma once

#include <cstdint>

#include "cpu/gemm.h"

namespace engine {
namespace gemm_detail {

constexpr int MR = 6;   // rows of the register tile
constexpr int NR = 16;  // columns: two 8-float AVX vectors

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

void micro_kernel_avx2(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int mr,
                       int nr, const TileStore& s);
void micro_kernel_portable(int64_t kc, const float* a, const float* b, float* c, int64_t ldc,
                           int mr, int nr, const TileStore& s);

// C for M <= kSmallRows rows without packing (see gemm_small.h), per ISA.
constexpr int64_t kSmallRows = 4;
void gemm_small_rows_avx2(const GemmArgs& g);
void gemm_small_rows_portable(const GemmArgs& g);

// Packs one full NR-column panel of a transposed B (stored [N, K], row j of B is column j
// of op(B)) for kc steps: dst[k*NR + j] = src[j*ldb + k]. 8x8 register transposes.
void pack_b_trans_panel_avx2(const float* src, int64_t ldb, int64_t kc, float* dst);
// Packs one full MR-row panel of a plain A (stored [M, K]) for kc steps:
// dst[k*MR + r] = src[r*lda + k]. 8x8 register transposes (two rows of zeros).
void pack_a_panel_avx2(const float* src, int64_t lda, int64_t kc, float* dst);

// The scalar store every kernel uses for partial tiles (acc is a full MR x NR tile).
inline void store_tile_scalar(const float* acc, int mr, int nr, float* c, int64_t ldc,
                              const TileStore& s) {
  for (int r = 0; r < mr; ++r) {
    float* cr = c + r * ldc;
    const float rb = s.row_bias ? s.row_bias[r] : 0.0f;
    for (int j = 0; j < nr; ++j) {
      float v = s.alpha * acc[r * NR + j];
      if (s.beta != 0.0f) v += s.beta * cr[j];
      v += rb;
      if (s.col_bias) v += s.col_bias[j];
      if (s.relu && v < 0.0f) v = 0.0f;  // NaN stays NaN
      cr[j] = v;
    }
  }
}

}  // namespace gemm_detail
}  // namespace engine
