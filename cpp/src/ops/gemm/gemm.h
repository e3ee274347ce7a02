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

// The GEMM routine of every op built on one (Gemm, MatMul).
struct GemmKernels {
  void (*gemm)(const GemmArgs& args);
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
