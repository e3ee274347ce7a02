// Naive GEMM: the oracle the packed kernel is diffed against. Accumulates in double.
#include "cpu/gemm.h"

namespace engine {

void gemm_ref(const GemmArgs& g) {
  for (int64_t i = 0; i < g.M; ++i) {
    for (int64_t j = 0; j < g.N; ++j) {
      double acc = 0.0;
      for (int64_t k = 0; k < g.K; ++k) {
        const float a = g.trans_a ? g.A[k * g.lda + i] : g.A[i * g.lda + k];
        const float b = g.trans_b ? g.B[j * g.ldb + k] : g.B[k * g.ldb + j];
        acc += double(a) * double(b);
      }
      float& c = g.C[i * g.ldc + j];
      double v = double(g.alpha) * acc;
      if (g.beta != 0.0f) v += double(g.beta) * double(c);
      if (g.epilogue.row_bias) v += g.epilogue.row_bias[i];
      if (g.epilogue.col_bias) v += g.epilogue.col_bias[j];
      if (g.epilogue.relu && v < 0.0) v = 0.0;
      c = static_cast<float>(v);
    }
  }
}

}  // namespace engine
