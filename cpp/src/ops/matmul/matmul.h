// ONNX MatMul (numpy matmul semantics):  Y[..., M, N] = A[..., M, K] * B[..., K, N]
//   A of rank 1 ([K]) is taken as [1, K] and B of rank 1 ([K]) as [K, 1]; the added dim
//   is dropped from Y. The leading (batch) dims broadcast numpy-style.
// Kernels: the GEMM of gemm_kernels() (ops/gemm), one call per batch, or a single call
// when B has no batch and A's batch folds into M.
#pragma once

#include "engine/tensor.h"

namespace engine {

// Validates the operands and returns Y's shape.
Shape matmul_output_shape(const Tensor& a, const Tensor& b);

void matmul_forward(const Tensor& a, const Tensor& b, Tensor& y);

// dA (A's shape) is overwritten; dB (B's shape, the weight of a MatMul dense layer)
// accumulates. Both are summed over the batch dims their operand was broadcast along.
// Either may be null or undefined: that gradient is skipped.
void matmul_backward(const Tensor& dy, const Tensor& a, const Tensor& b, Tensor* da, Tensor* db);

}  // namespace engine
