// ONNX Gemm:  Y[M,N] = alpha * A'[M,K] * B'[K,N] + beta * C
//   A' = transA ? A^T : A  (A stored [M,K] or [K,M]),  B' = transB ? B^T : B,
//   C optional, unidirectionally broadcast to [M,N]: [], [1], [N], [1,N], [M,1], [M,N].
// Dense layers are Gemm with B = W [IN, OUT] and C = bias [OUT].
//
// Kernels: the shared CPU GEMM (cpu/gemm.h), which picks the packed or the reference
// kernel itself; C's broadcast rides on the GEMM epilogue.
#pragma once

#include "engine/tensor.h"

namespace engine {

struct GemmAttrs {
  float alpha = 1.0f;
  float beta = 1.0f;
  bool trans_a = false;
  bool trans_b = false;
  bool relu = false;  // a Relu fused into Y by the graph planner (not ONNX)
};

// y must be [M, N]; c may be undefined.
void gemm_forward(const Tensor& a, const Tensor& b, const Tensor& c, const GemmAttrs& attrs,
                  Tensor& y);
Tensor gemm_forward(const Tensor& a, const Tensor& b, const Tensor& c, const GemmAttrs& attrs);

// da (A's shape) is overwritten; db (B's shape) and dc (C's shape, summed over C's broadcast
// dims) accumulate. Any of them may be null or undefined: that gradient is skipped.
void gemm_backward(const Tensor& dy, const Tensor& a, const Tensor& b, const Tensor& c,
                   const GemmAttrs& attrs, Tensor* da, Tensor* db, Tensor* dc);

}  // namespace engine
