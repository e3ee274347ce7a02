// The CUDA kernels of Clip, over a Grid (core/grid.h): DeviceGrid in the CUDA plugin
// (clip_cuda.cu), HostGrid for their emulation in the kernel table. One thread per element,
// the formulas of clip.h.
#pragma once

#include "core/grid.h"
#include "ops/clip/clip.h"

namespace engine {

template <class Grid>
void clip_forward_grid(int64_t n, const float* x, ClipBounds b, float* y) {
  for_each_index<Grid>(n, [=] ENGINE_HD(int64_t i) { y[i] = clip_value(x[i], b); });
}

template <class Grid>
void clip_backward_grid(int64_t n, const float* dy, const float* x, ClipBounds b, float* dx) {
  for_each_index<Grid>(n, [=] ENGINE_HD(int64_t i) { dx[i] = clip_gradient(dy[i], x[i], b); });
}

template <class Grid>
ClipKernels clip_cuda_kernels() {
  return {clip_forward_grid<Grid>, clip_backward_grid<Grid>};
}

}  // namespace engine
