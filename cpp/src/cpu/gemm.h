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

#include "core/gemm_args.h"
#include "cpu/workspace.h"

namespace engine {

void gemm_cpu(const GemmArgs& args);
void gemm_ref(const GemmArgs& args);

// op(B) packed once for several products that share it (a recurrent weight, used at every
// time step): pack() reads B, ldb, trans_b, K and N of `args`; gemm_cpu_packed(args, b)
// then computes exactly what gemm_cpu(args) does (same blocks, same order of sums) for any
// args with that op(B), without packing it again. The packed copy does not follow B's
// later changes.
class GemmPackedB {
 public:
  void pack(const GemmArgs& args);

 private:
  friend void gemm_cpu_packed(const GemmArgs& args, const GemmPackedB& b);
  Workspace panels_;
  const float* data_ = nullptr;
  const float* source_ = nullptr;
  int64_t K_ = 0, N_ = 0;
  bool trans_ = false;
};
void gemm_cpu_packed(const GemmArgs& args, const GemmPackedB& b);

}  // namespace engine
