// GEMM for a handful of rows (batch-1..4 Dense layers) or a handful of columns (the deep
// convolutions of batch-1 inference): packing the big operand would cost more than the
// product, so C is computed straight from it, with loops the compiler vectorizes for the
// ISA of the file that includes this header.
//
// The functions have internal linkage on purpose: each ISA's file compiles its own copy
// with its own flags, and the linker must not merge them.
#pragma once

#include <algorithm>
#include <vector>

#include "cpu/gemm.h"
#include "cpu/gemm_kernel.h"

namespace engine {
namespace gemm_detail {
namespace {

// A W-float vector of the compiler's vector extension: the ISA file's flags decide the
// instructions (one zmm, one ymm, or two xmm for W = 8 without AVX).
template <int W>
struct Vec {
  typedef float type __attribute__((vector_size(W * sizeof(float))));
  // The same at any float's address (unaligned loads; may alias the floats).
  typedef float unaligned
      __attribute__((vector_size(W * sizeof(float)), aligned(sizeof(float)), may_alias));
  static type load(const float* p) { return *reinterpret_cast<const unaligned*>(p); }
  static void store(float* p, type x) { *reinterpret_cast<unaligned*>(p) = x; }
};

// y[r][j0, j0 + CN*W) = sum over k of a[r][k] * B[k, j0 + ...] for R rows at once (B stored
// [K, N]): R*CN accumulators in registers, so each B row segment is loaded once for all the
// rows and no partial sum goes through memory.
template <int W, int R, int CN>
void axpy_tile(int64_t K, const float* const* a, const float* b, int64_t ldb, float* const* y) {
  using V = typename Vec<W>::type;
  V s[R][CN] = {};
  for (int64_t k = 0; k < K; ++k, b += ldb) {
    V av[R];
    for (int r = 0; r < R; ++r) av[r] = V{} + a[r][k];
    for (int j = 0; j < CN; ++j) {
      const V bv = Vec<W>::load(b + j * W);
      for (int r = 0; r < R; ++r) s[r][j] += av[r] * bv;
    }
  }
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < CN; ++j) Vec<W>::store(y[r] + j * W, s[r][j]);
}

// y = op(A) rows times a plain B, R rows at a time: the columns in tiles of CN vectors, the
// rest vector by vector, the last few from a copy padded to a whole vector. Every sum is
// then the blocked kernel's (fused multiply-adds in k order), so the result does not depend
// on how many rows the product has.
template <int W, int R, int CN>
void axpy_rows(int64_t K, int64_t N, const float* const* a, const float* B, int64_t ldb,
               float* const* y) {
  int64_t j = 0;
  float* yr[R];
  auto at = [&](int64_t col) {
    for (int r = 0; r < R; ++r) yr[r] = y[r] + col;
  };
  for (; j + CN * W <= N; j += CN * W) {
    at(j);
    axpy_tile<W, R, CN>(K, a, B + j, ldb, yr);
  }
  for (; j + W <= N; j += W) {
    at(j);
    axpy_tile<W, R, 1>(K, a, B + j, ldb, yr);
  }
  if (j == N) return;
  thread_local std::vector<float> panel;
  panel.assign(static_cast<size_t>(K * W), 0.0f);
  const int64_t left = N - j;
  for (int64_t k = 0; k < K; ++k)
    std::copy(B + k * ldb + j, B + k * ldb + N, panel.begin() + k * W);
  float tail[R][W];
  for (int r = 0; r < R; ++r) yr[r] = tail[r];
  axpy_tile<W, R, 1>(K, a, panel.data(), W, yr);
  for (int r = 0; r < R; ++r) std::copy(tail[r], tail[r] + left, y[r] + j);
}

// acc[r*ld + j] += the lane-wise products of op(A) row r and bt row j (op(B)^T, [N, K])
// over k in [k0, k1) (whole vectors), for R rows of a plain A and CN rows of bt: R*CN
// accumulators of W lanes in registers, each A and bt vector loaded once per step and used
// CN and R times.
template <int W, int R, int CN>
void dot_tile(int64_t k0, int64_t k1, const float* a, int64_t lda, const float* bt, int64_t ldbt,
              typename Vec<W>::type* acc, int64_t ld) {
  using V = typename Vec<W>::type;
  V s[R][CN];
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < CN; ++j) s[r][j] = acc[r * ld + j];
  for (int64_t k = k0; k < k1; k += W) {
    V av[R];
    for (int r = 0; r < R; ++r) av[r] = Vec<W>::load(a + r * lda + k);
    for (int j = 0; j < CN; ++j) {
      const V bv = Vec<W>::load(bt + j * ldbt + k);
      for (int r = 0; r < R; ++r) s[r][j] += av[r] * bv;
    }
  }
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < CN; ++j) acc[r * ld + j] = s[r][j];
}

// dot_tile for n <= CN columns (a switch on the count).
template <int W, int R, int CN>
void dot_tile_cols(int n, int64_t k0, int64_t k1, const float* a, int64_t lda, const float* bt,
                   int64_t ldbt, typename Vec<W>::type* acc, int64_t ld) {
  if constexpr (CN > 1) {
    if (n < CN) return dot_tile_cols<W, R, CN - 1>(n, k0, k1, a, lda, bt, ldbt, acc, ld);
  }
  dot_tile<W, R, CN>(k0, k1, a, lda, bt, ldbt, acc, ld);
}

// dot_tile over all of K for R rows of A and every column of bt (op(B)^T, [N, K]), CN at a
// time: y[r][j] = the sum of a[r*lda + k] * bt[j*ldbt + k].
template <int W, int R, int CN>
void dot_rows(int64_t K, int64_t N, const float* a, int64_t lda, const float* bt, int64_t ldbt,
              float* const* y) {
  using V = typename Vec<W>::type;
  const int64_t k_vec = K / W * W;
  for (int64_t j0 = 0; j0 < N; j0 += CN) {
    const int cols = static_cast<int>(std::min<int64_t>(CN, N - j0));
    V acc[R * CN] = {};
    dot_tile_cols<W, R, CN>(cols, 0, k_vec, a, lda, bt + j0 * ldbt, ldbt, acc, CN);
    for (int r = 0; r < R; ++r)
      for (int j = 0; j < cols; ++j) {
        float sum = 0.0f;
        for (int l = 0; l < W; ++l) sum += acc[r * CN + j][l];
        for (int64_t k = k_vec; k < K; ++k) sum += a[r * lda + k] * bt[(j0 + j) * ldbt + k];
        y[r][j0 + j] = sum;
      }
  }
}

// C for M <= kSmallRows rows, every row of A at once against the unpacked B: B stored
// [K, N] has its rows scaled and added, B stored [N, K] gives dot products; either way the
// sums stay in registers and each B element is loaded once for all the rows.
inline void gemm_small_rows_impl(const GemmArgs& g) {
  if (g.M == 0) return;
  thread_local std::vector<float> rows, acc;
  const float* a = g.A;
  int64_t lda = g.lda;
  if (g.trans_a) {  // stored [K, M]: the rows gathered
    rows.resize(static_cast<size_t>(g.M * g.K));
    for (int64_t i = 0; i < g.M; ++i)
      for (int64_t k = 0; k < g.K; ++k) rows[static_cast<size_t>(i * g.K + k)] = g.A[k * g.lda + i];
    a = rows.data();
    lda = g.K;
  }
  acc.resize(static_cast<size_t>(g.N * g.M));
  const float* ar[kSmallRows];
  float* y[kSmallRows];
  for (int64_t i = 0; i < g.M; ++i) {
    ar[i] = a + i * lda;
    y[i] = acc.data() + i * g.N;
  }
  constexpr int W = 8;  // a ymm, or two xmm; the tiles keep 8-16 accumulators
  if (g.trans_b) {
    switch (g.M) {
      case 1:
        dot_rows<W, 1, 8>(g.K, g.N, a, lda, g.B, g.ldb, y);
        break;
      case 2:
        dot_rows<W, 2, 6>(g.K, g.N, a, lda, g.B, g.ldb, y);
        break;
      case 3:
        dot_rows<W, 3, 4>(g.K, g.N, a, lda, g.B, g.ldb, y);
        break;
      default:
        dot_rows<W, 4, 2>(g.K, g.N, a, lda, g.B, g.ldb, y);
        break;
    }
  } else {
    switch (g.M) {
      case 1:
        axpy_rows<W, 1, 8>(g.K, g.N, ar, g.B, g.ldb, y);
        break;
      case 2:
        axpy_rows<W, 2, 6>(g.K, g.N, ar, g.B, g.ldb, y);
        break;
      case 3:
        axpy_rows<W, 3, 4>(g.K, g.N, ar, g.B, g.ldb, y);
        break;
      default:
        axpy_rows<W, 4, 3>(g.K, g.N, ar, g.B, g.ldb, y);
        break;
    }
  }
  for (int64_t i = 0; i < g.M; ++i) {
    const float* yi = y[i];
    float* c = g.C + i * g.ldc;
    const float rb = g.epilogue.row_bias ? g.epilogue.row_bias[i] : 0.0f;
    for (int64_t j = 0; j < g.N; ++j) {
      float v = g.alpha * yi[j];
      if (g.beta != 0.0f) v += g.beta * c[j];
      v += rb;
      if (g.epilogue.col_bias) v += g.epilogue.col_bias[j];
      if (g.epilogue.relu) v = std::max(v, 0.0f);  // branch-free; NaN stays NaN
      c[j] = v;
    }
  }
}

// Rows [i_begin, i_end) of C for a plain A and N <= kSmallCols columns: bt holds op(B)^T
// ([N, K], leading dimension ldbt). R rows at a time, against all N columns in tiles of CN,
// K in steps whose A rows and bt rows fit L1 together: every A row is read once from memory
// and then from L1 by the other column tiles; the vector sums wait in `acc` between steps.
template <int W, int R, int CN>
void gemm_small_cols_impl(const GemmArgs& g, const float* bt, int64_t ldbt, int64_t i_begin,
                          int64_t i_end) {
  using V = typename Vec<W>::type;
  const int64_t N = g.N, K = g.K, k_vec = K / W * W;
  const int64_t k_step = std::max<int64_t>(4 * W, 6144 / (R + N) / W * W);  // 24 KiB of L1
  V acc[R * kSmallCols];
  for (int64_t i0 = i_begin; i0 < i_end; i0 += R) {
    const int rows = static_cast<int>(std::min<int64_t>(R, i_end - i0));
    const float* a = g.A + i0 * g.lda;
    for (int64_t t = 0; t < rows * N; ++t) acc[t] = V{};
    for (int64_t k0 = 0; k0 < k_vec; k0 += k_step) {
      const int64_t k1 = std::min(k_vec, k0 + k_step);
      for (int64_t j0 = 0; j0 < N; j0 += CN) {
        const int cols = static_cast<int>(std::min<int64_t>(CN, N - j0));
        const float* b = bt + j0 * ldbt;
        if (rows == R)
          dot_tile_cols<W, R, CN>(cols, k0, k1, a, g.lda, b, ldbt, acc + j0, N);
        else  // the last rows one at a time
          for (int r = 0; r < rows; ++r)
            dot_tile_cols<W, 1, CN>(cols, k0, k1, a + r * g.lda, g.lda, b, ldbt, acc + r * N + j0,
                                    N);
      }
    }
    for (int r = 0; r < rows; ++r) {
      const float* ar = a + r * g.lda;
      float* c = g.C + (i0 + r) * g.ldc;
      const float rb = g.epilogue.row_bias ? g.epilogue.row_bias[i0 + r] : 0.0f;
      for (int64_t j = 0; j < N; ++j) {
        float sum = 0.0f;
        for (int l = 0; l < W; ++l) sum += acc[r * N + j][l];
        for (int64_t k = k_vec; k < K; ++k) sum += ar[k] * bt[j * ldbt + k];
        float v = g.alpha * sum;
        if (g.beta != 0.0f) v += g.beta * c[j];
        v += rb;
        if (g.epilogue.col_bias) v += g.epilogue.col_bias[j];
        if (g.epilogue.relu) v = std::max(v, 0.0f);  // branch-free; NaN stays NaN
        c[j] = v;
      }
    }
  }
}

}  // namespace
}  // namespace gemm_detail
}  // namespace engine
