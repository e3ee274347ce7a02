#include "cpu/gemm.h"

namespace engine {

GemmArgs gemm_args(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B,
                   int64_t ldb, float* C, int64_t ldc) {
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

GemmArgs packed_gemm_args(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                          float alpha, const float* A, const float* B, float beta, float* C) {
  GemmArgs g = gemm_args(M, N, K, A, trans_a ? M : K, B, trans_b ? K : N, C, N);
  g.trans_a = trans_a;
  g.trans_b = trans_b;
  g.alpha = alpha;
  g.beta = beta;
  return g;
}

}  // namespace engine
