// The CUDA kernels of Resize over a Grid (core/grid.h): DeviceGrid in the CUDA plugin
// (resize_cuda.cu), HostGrid for their emulation in the kernel table. One thread per output
// element; the backward adds atomically (neighbouring outputs share taps).
#pragma once

#include "core/grid.h"
#include "ops/resize/resize.h"

namespace engine {

template <class Grid>
void resize_forward_grid(const ResizeGeometry& g, const float* x, float* y) {
  for_each_index<Grid>(g.out_numel, [=] ENGINE_HD(int64_t o) { y[o] = g.value(o, x); });
}

template <class Grid>
void resize_backward_grid(const ResizeGeometry& g, int64_t in_numel, const float* dy, float* dx) {
  for_each_index<Grid>(in_numel, [=] ENGINE_HD(int64_t i) { dx[i] = 0.0f; });
  for_each_index<Grid>(g.out_numel, [=] ENGINE_HD(int64_t o) {
    int64_t src[ResizeGeometry::kMaxTaps];
    float w[ResizeGeometry::kMaxTaps];
    const int n = g.taps(o, src, w);
    for (int t = 0; t < n; ++t) atomic_add(dx + src[t], w[t] * dy[o]);
  });
}

template <class Grid>
ResizeKernels resize_cuda_kernels() {
  return {resize_forward_grid<Grid>, resize_backward_grid<Grid>};
}

}  // namespace engine
