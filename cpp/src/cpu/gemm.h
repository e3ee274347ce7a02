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

namespace engine {

void gemm_cpu(const GemmArgs& args);
void gemm_ref(const GemmArgs& args);

}  // namespace engine
