// ONNX Expand: x [X...] broadcast against `shape` (a constant 1-D int64 input of dims >= 0)
// the way numpy broadcasts two shapes: aligned on the right, each pair of dims equal or one
// of them 1. y has the broadcast shape, so a 1 in `shape` keeps x's dim and `shape` may be
// shorter than x's rank. Any dtype.
// Forward reads x through a view with stride 0 along the broadcast axes (Slice's strided
// copy); backward sums dy over those axes (Add's reduction, ops/binary); dx OVERWRITTEN.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/ir.h"
#include "engine/tensor.h"

namespace engine {

class OnnxImportContext;
// A target shape that holds the (symbolic) batch size is refused (expand_onnx.cpp).
void translate_expand_onnx(Node& node, OnnxImportContext& ctx);

Shape expand_output_shape(const Shape& in, const std::vector<int64_t>& shape);

void expand_forward(const Tensor& x, const std::vector<int64_t>& shape, Tensor& y);
// dx has x's shape.
void expand_backward(const Tensor& dy, const std::vector<int64_t>& shape, Tensor& dx);

}  // namespace engine
