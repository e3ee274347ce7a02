// ONNX Gather (the Embedding lookup): data [D0, ..., A, ..., Dr-1] (rank r >= 1, A at
// `axis`, negative counting from the end), indices [I...] int64 of any shape (a scalar too)
//   -> y [D0, ..., D(axis-1), I..., D(axis+1), ..., Dr-1],
//   y[o..., k..., e...] = data[o..., indices[k...], e...]. An index in [-A, 0) counts from the
//   end; any index outside [-A, A) is an error naming it and its position. float32 or int64
//   data.
//   Backward: dx = zeros, then each row of dy added into the row of dx its index picks
//   (repeated indices add up), in the order of the indices; OVERWRITTEN. The indices get no
//   gradient.
//
// Kernels see data as [outer, A, inner] and y as [outer, count, inner].
#pragma once

#include <cstdint>

#include "engine/tensor.h"

namespace engine {

Shape gather_output_shape(const Shape& data, const Shape& indices, int64_t axis);

void gather_forward(const Tensor& data, const Tensor& indices, int64_t axis, Tensor& y);
// dx has the data's shape.
void gather_backward(const Tensor& dy, const Tensor& indices, int64_t axis, Tensor& dx);

struct GatherLayout {
  int64_t outer = 1, axis_dim = 0, count = 0, inner = 1;
};

struct GatherKernels {
  // bad[0]: the first position k whose index lies outside [-axis_dim, axis_dim), or -1;
  // bad[1]: that index. `bad` is memory of the indices' device.
  void (*check)(int64_t count, const int64_t* indices, int64_t axis_dim, int64_t* bad);
  void (*forward)(const GatherLayout& l, size_t elem_size, const void* data,
                  const int64_t* indices, void* y);
  // Adds into dx (zeroed by the caller).
  void (*backward)(const GatherLayout& l, const float* dy, const int64_t* indices, float* dx);
};
void gather_check_ref(int64_t count, const int64_t* indices, int64_t axis_dim, int64_t* bad);
void gather_forward_ref(const GatherLayout& l, size_t elem_size, const void* data,
                        const int64_t* indices, void* y);
void gather_backward_ref(const GatherLayout& l, const float* dy, const int64_t* indices, float* dx);
void gather_forward_cpu(const GatherLayout& l, size_t elem_size, const void* data,
                        const int64_t* indices, void* y);
void gather_backward_cpu(const GatherLayout& l, const float* dy, const int64_t* indices, float* dx);

}  // namespace engine
