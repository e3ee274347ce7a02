// ONNX Squeeze (opset 13 form: axes from an optional constant input): removes size-1 dims.
//   x [D...] (rank r) -> y without the dims listed in `axes` (in [-r, r-1], each of size 1,
//   no repeats); empty `axes` removes every size-1 dim.
//   Backward: dx = dy with x's shape.
// Shape-only: the data keeps its order and is copied (see ops/reshape); any dtype.
#pragma once

#include <vector>

#include "engine/tensor.h"

namespace engine {

Shape squeeze_output_shape(const Shape& in, const std::vector<int64_t>& axes);

// y's shape must be squeeze_output_shape(x, axes).
void squeeze_forward(const Tensor& x, const std::vector<int64_t>& axes, Tensor& y);

}  // namespace engine
