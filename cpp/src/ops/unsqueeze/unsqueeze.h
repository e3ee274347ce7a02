// ONNX Unsqueeze (opset 13 form: axes from a constant input): inserts size-1 dims.
//   x [D...] (rank r) -> y of rank r + len(axes) with a 1 at every entry of `axes`, which
//   index the OUTPUT, may be negative (in [-(r + k), r + k - 1]) and must not repeat.
//   Backward: dx = dy with x's shape.
// Shape-only: the data keeps its order and is copied (see ops/reshape); any dtype.
#pragma once

#include <vector>

#include "engine/tensor.h"

namespace engine {

Shape unsqueeze_output_shape(const Shape& in, const std::vector<int64_t>& axes);

// y's shape must be unsqueeze_output_shape(x, axes).
void unsqueeze_forward(const Tensor& x, const std::vector<int64_t>& axes, Tensor& y);

}  // namespace engine
