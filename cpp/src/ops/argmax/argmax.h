// ONNX ArgMax and ArgMin: the index of the largest (smallest) element along `axis`.
//   x [D0, ..., Dr-1] float32 (other types compute in float32 at import) -> y int64, x's
//   shape with Daxis kept as 1 (keepdims, the default) or removed. Ties give the first
//   index, or the last with select_last_index=1. NaN loses every comparison. No gradient.
#pragma once

#include <cstdint>
#include <string>

#include "engine/tensor.h"

namespace engine {

struct ArgmaxAttrs {
  bool largest = true;  // ArgMax; false: ArgMin
  int64_t axis = 0;
  bool keepdims = true;
  bool select_last_index = false;
};

Shape argmax_output_shape(const char* op, const Shape& x, const ArgmaxAttrs& attrs);
void argmax_forward(const Tensor& x, const ArgmaxAttrs& attrs, Tensor& y);

// x viewed as [outer, n, inner]: y[o, i] = the chosen index along n.
struct ArgmaxKernels {
  void (*find)(int64_t outer, int64_t n, int64_t inner, const float* x, bool largest, bool last,
               int64_t* y);
};
ArgmaxKernels argmax_ref_kernels();
ArgmaxKernels argmax_cpu_kernels();

}  // namespace engine
