// The x86 micro-kernel and panel packing, written once over a vector type and included by
// each x86 ISA's file (gemm_kernel_avx2.cpp: __m256, gemm_kernel_avx512.cpp: __m512),
// which compiles it with its own flags. Internal linkage, as in gemm_small.h.
//
// The tile is MR x 2W (W floats per vector): 12 accumulators, per k one broadcast of each
// A value and two B loads.
#pragma once

#include <immintrin.h>

#include "cpu/gemm_kernel.h"

namespace engine {
namespace gemm_detail {
namespace {

// V is a struct of static functions over one vector type (see the ISA files):
// T, W, zero(), load(p) (aligned), loadu(p), storeu(p, x), store(p, x) (aligned), set1(x),
// fmadd(a, b, c) = a*b + c, mul, add, max.
// kRowsA: A read in place, row r of the panel at a + r*lda (the same sums in the same order
// as from a packed panel); otherwise a packed panel, a[k*MR + r] (lda unused).
template <class V, bool kRowsA>
void micro_kernel_x86_impl(int64_t kc, const float* a, int64_t lda, const float* b, float* c,
                           int64_t ldc, int mr, int nr, const TileStore& s) {
  using T = typename V::T;
  constexpr int W = V::W, NR = 2 * W;
  const int64_t row_step = kRowsA ? lda : 1;
  constexpr int64_t k_step = kRowsA ? 1 : MR;
  const float* a0 = a;
  const float* a1 = a + row_step;
  const float* a2 = a + 2 * row_step;
  const float* a3 = a + 3 * row_step;
  const float* a4 = a + 4 * row_step;
  const float* a5 = a + 5 * row_step;
  // Twelve named accumulators: an array of vectors would be spilled to the stack by GCC.
  T c00 = V::zero(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  T c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
#define ENGINE_GEMM_ROW(r)               \
  {                                      \
    const T av = V::set1(*a##r);         \
    a##r += k_step;                      \
    c##r##0 = V::fmadd(av, b0, c##r##0); \
    c##r##1 = V::fmadd(av, b1, c##r##1); \
  }
#pragma GCC unroll 4
  for (int64_t k = 0; k < kc; ++k) {
    const T b0 = V::load(b);
    const T b1 = V::load(b + W);
    // The B rows four steps ahead: fetch them while these FMAs run.
    _mm_prefetch(reinterpret_cast<const char*>(b + 4 * NR), _MM_HINT_T0);
    if (NR * 4 > 64) _mm_prefetch(reinterpret_cast<const char*>(b + 4 * NR + 16), _MM_HINT_T0);
    ENGINE_GEMM_ROW(0)
    ENGINE_GEMM_ROW(1)
    ENGINE_GEMM_ROW(2)
    ENGINE_GEMM_ROW(3)
    ENGINE_GEMM_ROW(4)
    ENGINE_GEMM_ROW(5)
    b += NR;
  }
#undef ENGINE_GEMM_ROW
  static_assert(MR == 6, "the accumulators above hold six rows");
  const T acc[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};

  if (mr != MR || nr != NR) {
    alignas(64) float tile[MR * NR];
#pragma GCC unroll 6
    for (int r = 0; r < MR; ++r) {
      V::store(tile + r * NR, acc[r][0]);
      V::store(tile + r * NR + W, acc[r][1]);
    }
    store_tile_scalar(tile, NR, mr, nr, c, ldc, s);
    return;
  }

  const T alpha = V::set1(s.alpha);
  const T beta = V::set1(s.beta);
  const T zero = V::zero();
  const T cb0 = s.col_bias ? V::loadu(s.col_bias) : zero;
  const T cb1 = s.col_bias ? V::loadu(s.col_bias + W) : zero;
  for (int r = 0; r < MR; ++r) {
    float* cr = c + r * ldc;
    T x0 = V::mul(alpha, acc[r][0]);
    T x1 = V::mul(alpha, acc[r][1]);
    if (s.beta != 0.0f) {
      x0 = V::fmadd(beta, V::loadu(cr), x0);
      x1 = V::fmadd(beta, V::loadu(cr + W), x1);
    }
    if (s.row_bias) {
      const T rb = V::set1(s.row_bias[r]);
      x0 = V::add(x0, rb);
      x1 = V::add(x1, rb);
    }
    if (s.col_bias) {
      x0 = V::add(x0, cb0);
      x1 = V::add(x1, cb1);
    }
    if (s.relu) {  // max(0, x) returns x when x is NaN: errors stay visible
      x0 = V::max(zero, x0);
      x1 = V::max(zero, x1);
    }
    V::storeu(cr, x0);
    V::storeu(cr + W, x1);
  }
}

template <class V>
void micro_kernel_x86(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int mr,
                      int nr, const TileStore& s) {
  micro_kernel_x86_impl<V, false>(kc, a, 0, b, c, ldc, mr, nr, s);
}
template <class V>
void micro_kernel_rows_a_x86(int64_t kc, const float* a, int64_t lda, const float* b, float* c,
                             int64_t ldc, int mr, int nr, const TileStore& s) {
  micro_kernel_x86_impl<V, true>(kc, a, lda, b, c, ldc, mr, nr, s);
}

// 8x8 transpose of r[0..7] (AVX): interleave pairs, then quads, then the caller swaps
// 128-bit halves (row j of the result: low half of r[j] and of r[j + 4], for j < 4, etc.).
inline void transpose8x8_lanes(__m256 r[8]) {
  __m256 t[8];
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
}

// Packs one full NR-column panel of a transposed B (stored [N, K], row j of B is column j
// of op(B)) for kc steps: dst[k*NR + j] = src[j*ldb + k]. 8x8 register transposes.
template <int NR>
void pack_b_trans_panel_x86(const float* src, int64_t ldb, int64_t kc, float* dst) {
  int64_t k = 0;
  for (; k + 8 <= kc; k += 8) {
    for (int part = 0; part < NR / 8; ++part) {
      const float* s = src + part * 8 * ldb + k;
      __m256 r[8];
      for (int j = 0; j < 8; ++j) r[j] = _mm256_loadu_ps(s + j * ldb);
      transpose8x8_lanes(r);
      float* d = dst + k * NR + part * 8;
      for (int j = 0; j < 4; ++j) {
        _mm256_storeu_ps(d + j * NR, _mm256_permute2f128_ps(r[j], r[j + 4], 0x20));
        _mm256_storeu_ps(d + (j + 4) * NR, _mm256_permute2f128_ps(r[j], r[j + 4], 0x31));
      }
    }
  }
  for (; k < kc; ++k)
    for (int j = 0; j < NR; ++j) dst[k * NR + j] = src[j * ldb + k];
}

// Packs one full MR-row panel of a plain A (stored [M, K]) for kc steps:
// dst[k*MR + r] = src[r*lda + k]. 8x8 register transposes (two rows of zeros).
inline void pack_a_panel_x86(const float* src, int64_t lda, int64_t kc, float* dst) {
  static_assert(MR == 6, "the transpose below fills six rows");
  int64_t k = 0;
  for (; k + 8 <= kc; k += 8) {
    __m256 r[8];
    for (int j = 0; j < MR; ++j) r[j] = _mm256_loadu_ps(src + j * lda + k);
    r[6] = r[7] = _mm256_setzero_ps();
    transpose8x8_lanes(r);
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

}  // namespace
}  // namespace gemm_detail
}  // namespace engine
