#include "cpu/gemm.h"

#include "engine/engine.h"

namespace engine {

void gemm(const GemmArgs& args) {
  if (args.M <= 0 || args.N <= 0) return;
  if (get_kernel_impl() == KernelImpl::Reference)
    gemm_ref(args);
  else
    gemm_cpu(args);
}

void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
          const float* A, const float* B, float beta, float* C) {
  GemmArgs g;
  g.trans_a = trans_a;
  g.trans_b = trans_b;
  g.M = M;
  g.N = N;
  g.K = K;
  g.alpha = alpha;
  g.A = A;
  g.lda = trans_a ? M : K;
  g.B = B;
  g.ldb = trans_b ? K : N;
  g.beta = beta;
  g.C = C;
  g.ldc = N;
  gemm(g);
}

}  // namespace engine
