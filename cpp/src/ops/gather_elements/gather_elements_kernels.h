// The GatherElements kernels, written once: the forward over a loop policy (broadcast_loop.h),
// the backward over a Grid-style loop whose adds are atomic on a device (repeated indices
// add into one place), so the host runs it one element at a time.
#pragma once

#include "core/grid.h"
#include "ops/broadcast_loop.h"
#include "ops/gather_elements/gather_elements.h"

namespace engine {

// The offset in data that output element k reads, or -1 for an out-of-range index.
ENGINE_HD inline int64_t gather_elements_source(const GatherElementsLayout& l,
                                                const int64_t* indices, int64_t k) {
  int64_t rest = k, offset = 0;
  for (int d = l.rank - 1; d >= 0; --d) {
    int64_t coord = rest % l.out_dims[d];
    rest /= l.out_dims[d];
    if (d == l.axis) {
      coord = indices[k];
      if (coord < 0) coord += l.axis_dim;
      if (coord < 0 || coord >= l.axis_dim) return -1;
    }
    offset += coord * l.data_strides[d];
  }
  return offset;
}

template <class Loop>
void gather_elements_forward_loop(const GatherElementsLayout& l, const float* data,
                                  const int64_t* indices, float* y) {
  Loop::run(l.outputs, [=] ENGINE_HD(int64_t k) {
    const int64_t s = gather_elements_source(l, indices, k);
    y[k] = s < 0 ? 0.0f : data[s];
  });
}

template <class Loop>
void gather_elements_backward_loop(const GatherElementsLayout& l, int64_t data_numel,
                                   const float* dy, const int64_t* indices, float* ddata) {
  Loop::run(data_numel, [=] ENGINE_HD(int64_t i) { ddata[i] = 0.0f; });
  Loop::run(l.outputs, [=] ENGINE_HD(int64_t k) {
    const int64_t s = gather_elements_source(l, indices, k);
    if (s >= 0) atomic_add(ddata + s, dy[k]);
  });
}

template <class Loop, class BackwardLoop>
GatherElementsKernels gather_elements_kernels_for() {
  GatherElementsKernels
      kernels;  // member by member: nvcc cannot resolve the templates in a braced list
  kernels.forward = &gather_elements_forward_loop<Loop>;
  kernels.backward = &gather_elements_backward_loop<BackwardLoop>;
  return kernels;
}

}  // namespace engine
