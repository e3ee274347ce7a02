// ONNX GatherElements: y[i...] = data[i... with i_axis replaced by indices[i...]].
//   data [D...] float32 (other types compute in float32 at import), indices int64 of the
//   same rank, each dim no larger than data's except along `axis`, values in [-Daxis, Daxis)
//   (negative ones count from the end) -> y with indices' shape.
//   Backward: ddata = zeros, dy added at every gathered position (repeats add up); indices
//   have no gradient. ddata is OVERWRITTEN.
#pragma once

#include <cstdint>

#include "engine/tensor.h"

namespace engine {

constexpr int kGatherElementsMaxRank = 8;

// Where output element k reads: its coordinates in indices' shape, with the axis one taken
// from indices[k].
struct GatherElementsLayout {
  int rank = 0, axis = 0;
  int64_t out_dims[kGatherElementsMaxRank] = {};
  int64_t data_strides[kGatherElementsMaxRank] = {};
  int64_t axis_dim = 0;
  int64_t outputs = 0;
};

GatherElementsLayout gather_elements_layout(const char* op, const Shape& data, const Shape& indices,
                                            int64_t axis);
void gather_elements_forward(const Tensor& data, const Tensor& indices, int64_t axis, Tensor& y);
void gather_elements_backward(const Tensor& dy, const Tensor& indices, int64_t axis, Tensor& ddata);

// The indices are checked on the host before these run.
struct GatherElementsKernels {
  void (*forward)(const GatherElementsLayout& l, const float* data, const int64_t* indices,
                  float* y);
  void (*backward)(const GatherElementsLayout& l, int64_t data_numel, const float* dy,
                   const int64_t* indices, float* ddata);
};
GatherElementsKernels gather_elements_ref_kernels();
GatherElementsKernels gather_elements_cpu_kernels();

}  // namespace engine
