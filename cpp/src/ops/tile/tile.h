// ONNX Tile: x [D0, ..., Dr-1] repeated along every axis: `repeats` (a constant 1-D int64
// input of r values >= 0) -> y [D0 R0, ..., Dr-1 Rr-1]. Any dtype.
// Both passes see y as [R0, D0, R1, D1, ...]: forward reads x through a view with stride 0
// along the repeats (Slice's strided copy), backward sums dy over them (Add's reduction,
// ops/binary); dx OVERWRITTEN.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/tensor.h"

namespace engine {

Shape tile_output_shape(const Shape& in, const std::vector<int64_t>& repeats);

void tile_forward(const Tensor& x, const std::vector<int64_t>& repeats, Tensor& y);
// dx has x's shape.
void tile_backward(const Tensor& dy, const std::vector<int64_t>& repeats, Tensor& dx);

}  // namespace engine
