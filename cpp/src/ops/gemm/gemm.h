// ONNX Gemm:  Y[M,N] = alpha * A'[M,K] * B'[K,N] + beta * C
//   A' = transA ? A^T : A  (A stored [M,K] or [K,M]),  B' = transB ? B^T : B,
//   C optional, unidirectionally broadcast to [M,N]: [], [1], [N], [1,N], [M,1], [M,N].
// Dense layers are Gemm with B = W [IN, OUT] and C = bias [OUT].
//
// Kernels: a GEMM from gemm_kernels() (the packed CPU GEMM, or the naive one as the
// reference); C's broadcast rides on the GEMM epilogue.
#pragma once

#include <string>

#include "cpu/gemm.h"
#include "engine/tensor.h"
#include "core/kernel_table.h"

namespace engine {

// The GEMM routine of every op built on one (Gemm, MatMul), and the two small helpers of
// the Gemm op that touch tensor data (so that they run where the data is).
struct GemmKernels {
  void (*gemm)(const GemmArgs& args);
  // out[i] = scale * x[i * step] for i < n: C's broadcast row or column (or scalar, with
  // step 0) scaled by beta into a bias for the GEMM epilogue.
  void (*scaled_copy)(int64_t n, float scale, const float* x, int64_t step, float* out);
  // dc[rows, cols] += scale * dy[M, N] summed over the dims where C broadcasts (rows == 1
  // or cols == 1; rows == M and cols == N sums nothing).
  void (*sum_to)(const float* dy, int64_t M, int64_t N, int64_t rows, int64_t cols,
                 float scale, float* dc);
};
const KernelTable<GemmKernels>& gemm_kernels();

struct GemmAttrs {
  float alpha = 1.0f;
  float beta = 1.0f;
  bool trans_a = false;
  bool trans_b = false;
  bool relu = false;  // a Relu fused into Y by the graph planner (not ONNX)
};

// [M, N] for these operands (c may be undefined); errors name "Gemm" and the shapes.
Shape gemm_output_shape(const Tensor& a, const Tensor& b, const Tensor& c, const GemmAttrs& attrs,
                        const std::string& op = "Gemm");

// y must be [M, N]; c may be undefined.
void gemm_forward(const Tensor& a, const Tensor& b, const Tensor& c, const GemmAttrs& attrs,
                  Tensor& y);

// da (A's shape) is overwritten; db (B's shape) and dc (C's shape, summed over C's broadcast
// dims) accumulate. Any of them may be null or undefined: that gradient is skipped.
void gemm_backward(const Tensor& dy, const Tensor& a, const Tensor& b, const Tensor& c,
                   const GemmAttrs& attrs, Tensor* da, Tensor* db, Tensor* dc);

}  // namespace engine
