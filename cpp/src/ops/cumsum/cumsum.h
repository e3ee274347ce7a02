// ONNX CumSum: the running sum of x along `axis` (an int64 scalar input, known when the graph
// is planned; negative counts from the end). exclusive=1 leaves the element itself out (the
// first sum is 0); reverse=1 sums from the end of the axis.
//   x [D...] float32 or int64 (other integer types compute in int64 at import) -> y, x's shape.
//   Backward (float32): dx = the cumulative sum of dy in the other direction, with the same
//   `exclusive`. dx OVERWRITTEN.
//
// Kernels see x as [outer, n, inner], n the axis; one line (outer, inner) per work item.
#pragma once

#include <cstdint>

#include "engine/tensor.h"

namespace engine {

struct CumSumAttrs {
  int64_t axis = 0;
  bool exclusive = false, reverse = false;
};

struct CumSumLayout {
  int64_t outer = 1, n = 1, inner = 1;
  bool exclusive = false, reverse = false;
};

void cumsum_forward(const Tensor& x, const CumSumAttrs& attrs, Tensor& y);
void cumsum_backward(const Tensor& dy, const CumSumAttrs& attrs, Tensor& dx);

struct CumSumKernels {
  void (*f32)(const CumSumLayout& l, const float* x, float* y);
  void (*i64)(const CumSumLayout& l, const int64_t* x, int64_t* y);
};
CumSumKernels cumsum_ref_kernels();
CumSumKernels cumsum_cpu_kernels();

}  // namespace engine
