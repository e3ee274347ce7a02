// ONNX CumSum and CumProd: the running sum (product) of x along `axis` (an int64 scalar
// input, known when the graph is planned; negative counts from the end). exclusive=1 leaves
// the element itself out (the first sum is 0, the first product 1); reverse=1 runs from the
// end of the axis.
//   x [D...] float32 or int64 (other integer types compute in int64 at import) -> y, x's shape.
//   Backward (float32), dx OVERWRITTEN:
//     CumSum: dx = the cumulative sum of dy in the other direction, with the same `exclusive`.
//     CumProd: dx[j] = sum over the y[i] that x[j] enters of dy[i] times the product of the
//     other factors of y[i], formed without dividing (exact where x has zeros).
//
// Kernels see x as [outer, n, inner], n the axis; one line (outer, inner) per work item.
#pragma once

#include <cstdint>

#include "engine/tensor.h"

namespace engine {

struct CumSumAttrs {
  int64_t axis = 0;
  bool exclusive = false, reverse = false;
  bool product = false;  // CumProd
};

struct CumSumLayout {
  int64_t outer = 1, n = 1, inner = 1;
  bool exclusive = false, reverse = false;
};

void cumsum_forward(const Tensor& x, const CumSumAttrs& attrs, Tensor& y);
// x is read by CumProd's backward only.
void cumsum_backward(const Tensor& dy, const Tensor& x, const CumSumAttrs& attrs, Tensor& dx);

template <class T>
struct CumSumTypedKernels {
  void (*sum)(const CumSumLayout& l, const T* x, T* y);
  void (*product)(const CumSumLayout& l, const T* x, T* y);
};
struct CumSumKernels {
  CumSumTypedKernels<float> f32;
  CumSumTypedKernels<int64_t> i64;
  void (*product_backward)(const CumSumLayout& l, const float* x, const float* dy, float* dx);
};
CumSumKernels cumsum_ref_kernels();
CumSumKernels cumsum_cpu_kernels();

}  // namespace engine
