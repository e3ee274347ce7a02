// AVX2/FMA 6x16 micro-kernel: 12 ymm accumulators, per k one broadcast of each A value
// and two B loads. Compiled with -mavx2 -mfma; called only after the CPUID check.
#include "cpu/gemm_kernel.h"
#include "cpu/gemm_small.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

namespace engine {
namespace gemm_detail {

void gemm_small_rows_avx2(const GemmArgs& g) { gemm_small_rows_impl(g); }

void micro_kernel_avx2(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int mr,
                       int nr, const TileStore& s) {
  // Twelve named accumulators: an array of __m256 would be spilled to the stack by GCC.
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
#define ENGINE_GEMM_ROW(r)                          \
  {                                                 \
    const __m256 av = _mm256_broadcast_ss(a + r);   \
    c##r##0 = _mm256_fmadd_ps(av, b0, c##r##0);     \
    c##r##1 = _mm256_fmadd_ps(av, b1, c##r##1);     \
  }
#pragma GCC unroll 4
  for (int64_t k = 0; k < kc; ++k) {
    const __m256 b0 = _mm256_load_ps(b);
    const __m256 b1 = _mm256_load_ps(b + 8);
    // The next B rows are 256 bytes ahead: fetch them while these FMAs run.
    _mm_prefetch(reinterpret_cast<const char*>(b + 4 * NR), _MM_HINT_T0);
    ENGINE_GEMM_ROW(0)
    ENGINE_GEMM_ROW(1)
    ENGINE_GEMM_ROW(2)
    ENGINE_GEMM_ROW(3)
    ENGINE_GEMM_ROW(4)
    ENGINE_GEMM_ROW(5)
    a += MR;
    b += NR;
  }
#undef ENGINE_GEMM_ROW
  const __m256 acc[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21},
                             {c30, c31}, {c40, c41}, {c50, c51}};

  if (mr != MR || nr != NR) {
    alignas(32) float tile[MR * NR];
#pragma GCC unroll 6
    for (int r = 0; r < MR; ++r) {
      _mm256_store_ps(tile + r * NR, acc[r][0]);
      _mm256_store_ps(tile + r * NR + 8, acc[r][1]);
    }
    store_tile_scalar(tile, mr, nr, c, ldc, s);
    return;
  }

  const __m256 alpha = _mm256_set1_ps(s.alpha);
  const __m256 beta = _mm256_set1_ps(s.beta);
  const __m256 zero = _mm256_setzero_ps();
  const __m256 cb0 = s.col_bias ? _mm256_loadu_ps(s.col_bias) : zero;
  const __m256 cb1 = s.col_bias ? _mm256_loadu_ps(s.col_bias + 8) : zero;
  for (int r = 0; r < MR; ++r) {
    float* cr = c + r * ldc;
    __m256 x0 = _mm256_mul_ps(alpha, acc[r][0]);
    __m256 x1 = _mm256_mul_ps(alpha, acc[r][1]);
    if (s.beta != 0.0f) {
      x0 = _mm256_fmadd_ps(beta, _mm256_loadu_ps(cr), x0);
      x1 = _mm256_fmadd_ps(beta, _mm256_loadu_ps(cr + 8), x1);
    }
    if (s.row_bias) {
      const __m256 rb = _mm256_set1_ps(s.row_bias[r]);
      x0 = _mm256_add_ps(x0, rb);
      x1 = _mm256_add_ps(x1, rb);
    }
    if (s.col_bias) {
      x0 = _mm256_add_ps(x0, cb0);
      x1 = _mm256_add_ps(x1, cb1);
    }
    if (s.relu) {  // max(0, x) returns x when x is NaN: errors stay visible
      x0 = _mm256_max_ps(zero, x0);
      x1 = _mm256_max_ps(zero, x1);
    }
    _mm256_storeu_ps(cr, x0);
    _mm256_storeu_ps(cr + 8, x1);
  }
}

void pack_b_trans_panel_avx2(const float* src, int64_t ldb, int64_t kc, float* dst) {
  int64_t k = 0;
  for (; k + 8 <= kc; k += 8) {
    for (int half = 0; half < 2; ++half) {
      const float* s = src + half * 8 * ldb + k;
      __m256 r[8], t[8];
      for (int j = 0; j < 8; ++j) r[j] = _mm256_loadu_ps(s + j * ldb);
      // 8x8 transpose: interleave pairs, then quads, then swap 128-bit halves.
      for (int j = 0; j < 8; j += 2) {
        t[j] = _mm256_unpacklo_ps(r[j], r[j + 1]);
        t[j + 1] = _mm256_unpackhi_ps(r[j], r[j + 1]);
      }
      for (int j = 0; j < 8; j += 4) {
        r[j] = _mm256_shuffle_ps(t[j], t[j + 2], _MM_SHUFFLE(1, 0, 1, 0));
        r[j + 1] = _mm256_shuffle_ps(t[j], t[j + 2], _MM_SHUFFLE(3, 2, 3, 2));
        r[j + 2] = _mm256_shuffle_ps(t[j + 1], t[j + 3], _MM_SHUFFLE(1, 0, 1, 0));
        r[j + 3] = _mm256_shuffle_ps(t[j + 1], t[j + 3], _MM_SHUFFLE(3, 2, 3, 2));
      }
      float* d = dst + k * NR + half * 8;
      for (int j = 0; j < 4; ++j) {
        _mm256_store_ps(d + j * NR, _mm256_permute2f128_ps(r[j], r[j + 4], 0x20));
        _mm256_store_ps(d + (j + 4) * NR, _mm256_permute2f128_ps(r[j], r[j + 4], 0x31));
      }
    }
  }
  for (; k < kc; ++k)
    for (int j = 0; j < NR; ++j) dst[k * NR + j] = src[j * ldb + k];
}

void pack_a_panel_avx2(const float* src, int64_t lda, int64_t kc, float* dst) {
  static_assert(MR == 6, "the transpose below fills six rows");
  int64_t k = 0;
  for (; k + 8 <= kc; k += 8) {
    __m256 r[8], t[8];
    for (int j = 0; j < MR; ++j) r[j] = _mm256_loadu_ps(src + j * lda + k);
    r[6] = r[7] = _mm256_setzero_ps();
    for (int j = 0; j < 8; j += 2) {
      t[j] = _mm256_unpacklo_ps(r[j], r[j + 1]);
      t[j + 1] = _mm256_unpackhi_ps(r[j], r[j + 1]);
    }
    for (int j = 0; j < 8; j += 4) {
      r[j] = _mm256_shuffle_ps(t[j], t[j + 2], _MM_SHUFFLE(1, 0, 1, 0));
      r[j + 1] = _mm256_shuffle_ps(t[j], t[j + 2], _MM_SHUFFLE(3, 2, 3, 2));
      r[j + 2] = _mm256_shuffle_ps(t[j + 1], t[j + 3], _MM_SHUFFLE(1, 0, 1, 0));
      r[j + 3] = _mm256_shuffle_ps(t[j + 1], t[j + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    // Column k + j of the panel: rows 0-3 in r[j]'s low half, rows 4-5 in r[j + 4]'s.
    float* d = dst + k * MR;
    for (int j = 0; j < 4; ++j) {
      const __m256 lo = _mm256_permute2f128_ps(r[j], r[j + 4], 0x20);  // column j
      const __m256 hi = _mm256_permute2f128_ps(r[j], r[j + 4], 0x31);  // column j + 4
      _mm_storeu_ps(d + j * MR, _mm256_castps256_ps128(lo));
      _mm_storel_pi(reinterpret_cast<__m64*>(d + j * MR + 4), _mm256_extractf128_ps(lo, 1));
      _mm_storeu_ps(d + (j + 4) * MR, _mm256_castps256_ps128(hi));
      _mm_storel_pi(reinterpret_cast<__m64*>(d + (j + 4) * MR + 4), _mm256_extractf128_ps(hi, 1));
    }
  }
  for (; k < kc; ++k)
    for (int r = 0; r < MR; ++r) dst[k * MR + r] = src[r * lda + k];
}

}  // namespace gemm_detail
}  // namespace engine

#else  // built without AVX2 flags (non-x86): never selected, keep the symbol defined

namespace engine {
namespace gemm_detail {
void gemm_small_rows_avx2(const GemmArgs& g) { gemm_small_rows_portable(g); }
void micro_kernel_avx2(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int mr,
                       int nr, const TileStore& s) {
  micro_kernel_portable(kc, a, b, c, ldc, mr, nr, s);
}
void pack_b_trans_panel_avx2(const float* src, int64_t ldb, int64_t kc, float* dst) {
  for (int64_t k = 0; k < kc; ++k)
    for (int j = 0; j < NR; ++j) dst[k * NR + j] = src[j * ldb + k];
}
void pack_a_panel_avx2(const float* src, int64_t lda, int64_t kc, float* dst) {
  for (int64_t k = 0; k < kc; ++k)
    for (int r = 0; r < MR; ++r) dst[k * MR + r] = src[r * lda + k];
}
}  // namespace gemm_detail
}  // namespace engine

#endif
