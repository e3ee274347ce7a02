// GEMM for a handful of rows (batch-1..4 Dense layers): packing B would cost more than the
// product, so each row of C is computed straight from B, with loops the compiler
// vectorizes for the ISA of the file that includes this header.
//
// The function has internal linkage on purpose: the AVX2 file and the portable file each
// compile their own copy with their own flags, and the linker must not merge them.
#pragma once

#include <algorithm>
#include <vector>

#include "cpu/gemm.h"

namespace engine {
namespace gemm_detail {
namespace {

// One row of op(A), contiguous (op(A) may be stored transposed).
inline const float* gemm_small_row(const GemmArgs& g, int64_t i, std::vector<float>& scratch) {
  if (!g.trans_a) return g.A + i * g.lda;
  scratch.resize(static_cast<size_t>(g.K));
  for (int64_t k = 0; k < g.K; ++k) scratch[static_cast<size_t>(k)] = g.A[k * g.lda + i];
  return scratch.data();
}

inline float dot_unrolled(int64_t n, const float* a, const float* b) {
  // Eight partial sums: a plain float reduction would not vectorize without reassociation.
  float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t k = 0;
  for (; k + 8 <= n; k += 8)
    for (int u = 0; u < 8; ++u) s[u] += a[k + u] * b[k + u];
  float sum = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
  for (; k < n; ++k) sum += a[k] * b[k];
  return sum;
}

inline void gemm_small_rows_impl(const GemmArgs& g) {
  thread_local std::vector<float> row_scratch, acc;
  acc.resize(static_cast<size_t>(g.N));
  for (int64_t i = 0; i < g.M; ++i) {
    const float* a = gemm_small_row(g, i, row_scratch);
    float* y = acc.data();
    if (g.trans_b) {  // B stored [N, K]: one dot product per output
      for (int64_t j = 0; j < g.N; ++j) y[j] = dot_unrolled(g.K, a, g.B + j * g.ldb);
    } else {  // B stored [K, N]: rows of B scaled and added
      std::fill(y, y + g.N, 0.0f);
      for (int64_t k = 0; k < g.K; ++k) {
        const float ak = a[k];
        const float* b = g.B + k * g.ldb;
        for (int64_t j = 0; j < g.N; ++j) y[j] += ak * b[j];
      }
    }
    float* c = g.C + i * g.ldc;
    const float rb = g.epilogue.row_bias ? g.epilogue.row_bias[i] : 0.0f;
    for (int64_t j = 0; j < g.N; ++j) {
      float v = g.alpha * y[j];
      if (g.beta != 0.0f) v += g.beta * c[j];
      v += rb;
      if (g.epilogue.col_bias) v += g.epilogue.col_bias[j];
      if (g.epilogue.relu && v < 0.0f) v = 0.0f;  // NaN stays NaN
      c[j] = v;
    }
  }
}

}  // namespace
}  // namespace gemm_detail
}  // namespace engine
