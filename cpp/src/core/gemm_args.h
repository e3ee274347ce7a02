// The arguments of a GEMM, shared by every backend's GEMM (cpu/gemm.h, the CUDA plugin's):
//
//   C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C (+ epilogue)
//
// Row-major with leading dimensions in elements; op(X) = X or X^T. When beta == 0, C is
// never read (it may hold NaN).
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
inline GemmArgs gemm_args(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda,
                          const float* B, int64_t ldb, float* C, int64_t ldc) {
  GemmArgs g;
  g.M = M;
  g.N = N;
  g.K = K;
  g.A = A;
  g.lda = lda;
  g.B = B;
  g.ldb = ldb;
  g.C = C;
  g.ldc = ldc;
  return g;
}

// C = alpha * op(A) * op(B) + beta * C with packed leading dimensions (no epilogue).
inline GemmArgs packed_gemm_args(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                                 float alpha, const float* A, const float* B, float beta,
                                 float* C) {
  GemmArgs g = gemm_args(M, N, K, A, trans_a ? M : K, B, trans_b ? K : N, C, N);
  g.trans_a = trans_a;
  g.trans_b = trans_b;
  g.alpha = alpha;
  g.beta = beta;
  return g;
}

}  // namespace engine
