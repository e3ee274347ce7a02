// The CUDA kernels of ConvTranspose, over a Grid (core/grid.h): Conv's grid kernels
// (conv_cuda.h) with the roles of x and y swapped (see conv_transpose.h), plus one thread
// per output element for the bias. DeviceGrid in the CUDA plugin (conv_transpose_cuda.cu),
// HostGrid for their emulation in the kernel table.
#pragma once

#include "ops/conv/conv_cuda.h"
#include "ops/conv_transpose/conv_transpose.h"

namespace engine {

template <class Grid>
void conv_transpose_forward_grid(const ConvShape& s, const float* x, const float* w,
                                 const float* b, float* y) {
  conv_backward_data_grid<Grid>(s, /*dy=*/x, w, /*dx=*/y);
  if (!b) return;
  const int64_t C = s.C, P = s.win.in_size();
  for_each_index<Grid>(s.N * C * P, [=] ENGINE_HD(int64_t e) { y[e] += b[e / P % C]; });
}

template <class Grid>
void conv_transpose_backward_grid(const ConvShape& s, const float* dy, const float* x,
                                  const float* w, float* dx, float* dw, float* db) {
  if (dx) conv_forward_grid<Grid>(s, dy, w, nullptr, dx);
  if (dw) conv_backward_weight_grid<Grid>(s, /*dy=*/x, /*x=*/dy, dw);
  if (db)
    block_sums<Grid>(s.C, s.N * s.win.in_size(), 1.0f, true, db,
                     ConvBiasTerm{dy, s.C, s.win.in_size()});
}

template <class Grid>
ConvTransposeKernels conv_transpose_cuda_kernels() {
  return {conv_transpose_forward_grid<Grid>, conv_transpose_backward_grid<Grid>};
}

}  // namespace engine
