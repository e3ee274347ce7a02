// The CPU GEMM every dense and convolution kernel stands on.
//
//   C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C (+ epilogue)
//
// Row-major with leading dimensions in elements; op(X) = X or X^T. When beta == 0, C is
// never read (it may hold NaN). gemm_cpu is the packed, cache-blocked, threaded kernel
// (AVX2/FMA micro-kernel picked by CPUID, portable fallback); gemm_ref is the naive
// oracle, kept forever. The ops that call a GEMM pick one from their kernel table.
#pragma once

#include <cstdint>

namespace engine {

// Applied to each output element after the product, in this order:
//   c += row_bias[i] (per output row) ; c += col_bias[j] (per output column) ; relu.
struct GemmEpilogue {
  const float* row_bias = nullptr;
  const float* col_bias = nullptr;
  bool relu = false;
};

struct GemmArgs {
  bool trans_a = false, trans_b = false;
  int64_t M = 0, N = 0, K = 0;
  float alpha = 1.0f;
  const float* A = nullptr;
  int64_t lda = 0;
  const float* B = nullptr;
  int64_t ldb = 0;
  float beta = 0.0f;
  float* C = nullptr;
  int64_t ldc = 0;
  GemmEpilogue epilogue;
};

// C[M,N] = A[M,K] * B[K,N] with the given leading dimensions (no transposes, alpha 1,
// beta 0, no epilogue): the common starting point, adjusted field by field by callers.
GemmArgs gemm_args(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B,
                   int64_t ldb, float* C, int64_t ldc);

// C = alpha * op(A) * op(B) + beta * C with packed leading dimensions (no epilogue).
GemmArgs packed_gemm_args(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                          float alpha, const float* A, const float* B, float beta, float* C);

void gemm_cpu(const GemmArgs& args);
void gemm_ref(const GemmArgs& args);

}  // namespace engine
