// ONNX Transpose: y = x with its axes permuted, y.shape[k] = x.shape[perm[k]]; an empty perm
// reverses the axes (the ONNX default). float32 or int64, any rank.
// Backward: dx = transpose(dy, inverse(perm)).
#pragma once

#include <vector>

#include "engine/tensor.h"

namespace engine {

// The checked permutation: `perm` itself, or the reversal of `rank` axes when it is empty.
std::vector<int64_t> transpose_perm(const std::vector<int64_t>& perm, int rank);
std::vector<int64_t> inverse_perm(const std::vector<int64_t>& perm);
Shape transpose_output_shape(const Shape& in, const std::vector<int64_t>& perm);

void transpose_forward(const Tensor& x, const std::vector<int64_t>& perm, Tensor& y);
// dx overwritten; `perm` is the forward's.
void transpose_backward(const Tensor& dy, const std::vector<int64_t>& perm, Tensor& dx);

// Kernels: x contiguous with shape `in`, y contiguous with shape in[perm[k]]; elements of
// `elem_size` bytes (4 or 8).
struct TransposeKernels {
  void (*transpose)(const Shape& in, const std::vector<int64_t>& perm, size_t elem_size,
                    const void* x, void* y);
};
void transpose_cpu(const Shape& in, const std::vector<int64_t>& perm, size_t elem_size,
                   const void* x, void* y);
void transpose_ref(const Shape& in, const std::vector<int64_t>& perm, size_t elem_size,
                   const void* x, void* y);

}  // namespace engine
