// ONNX Sum: the elementwise sum of n >= 1 inputs with numpy (multidirectional) broadcasting.
//   x_0 [X0...], ..., x_{n-1} -> y [Y...], Y = the broadcast of all input shapes.
//   Backward: dx_i = dy summed over the axes x_i was broadcast along (each OVERWRITTEN;
//   a null dx_i is skipped).
// Built on the binary Add kernels (reference or optimized as selected), so Sum needs no
// kernels of its own: a chain of Adds, left to right, as onnxruntime evaluates it.
#pragma once

#include <vector>

#include "engine/tensor.h"

namespace engine {

Shape sum_output_shape(const std::vector<Shape>& shapes);

// y must have sum_output_shape(...) of the inputs' shapes.
void sum_forward(const std::vector<Tensor>& xs, Tensor& y);
// dxs[i] (may be null) receives the gradient of xs[i]; only the inputs' shapes are read.
void sum_backward(const Tensor& dy, const std::vector<Tensor>& xs,
                  const std::vector<Tensor*>& dxs);

}  // namespace engine
