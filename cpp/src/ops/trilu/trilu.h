// ONNX Trilu: the upper (upper=1, the default) or lower triangle of the last two dims of x,
// the rest zero. Element [i, j] of a matrix is kept when j - i >= k (upper) or j - i <= k
// (lower); k (an optional constant int64 scalar input, default 0) moves the diagonal.
//   x [..., M, N] float32 (other types compute in float32 at import) -> y, x's shape.
//   Backward: dx = dy where kept, else 0. dx OVERWRITTEN.
#pragma once

#include <cstdint>

#include "engine/tensor.h"

namespace engine {

struct TriluAttrs {
  bool upper = true;
  int64_t k = 0;
};

// y = x masked (forward) or dx = dy masked (backward): the same selection.
void trilu_apply(const Tensor& in, const TriluAttrs& attrs, Tensor& out, const char* op);

struct TriluKernels {
  void (*apply)(int64_t n, int64_t rows, int64_t cols, bool upper, int64_t k, const float* in,
                float* out);
};
TriluKernels trilu_ref_kernels();
TriluKernels trilu_cpu_kernels();

}  // namespace engine
