// The CUDA kernels of Pad over a Grid (core/grid.h): DeviceGrid in the CUDA plugin
// (pad_cuda.cu), HostGrid for their emulation in the kernel table. One thread per output
// element; the backward adds atomically (reflect and edge read an input several times).
#pragma once

#include "core/grid.h"
#include "ops/pad/pad.h"

namespace engine {

template <class Grid>
void pad_forward_grid(const PadGeometry& g, const float* x, float value, float* y) {
  for_each_index<Grid>(g.out_numel, [=] ENGINE_HD(int64_t o) {
    const int64_t s = g.source(o);
    y[o] = s < 0 ? value : x[s];
  });
}

template <class Grid>
void pad_backward_grid(const PadGeometry& g, int64_t in_numel, const float* dy, float* dx) {
  for_each_index<Grid>(in_numel, [=] ENGINE_HD(int64_t i) { dx[i] = 0.0f; });
  for_each_index<Grid>(g.out_numel, [=] ENGINE_HD(int64_t o) {
    const int64_t s = g.source(o);
    if (s >= 0) atomic_add(dx + s, dy[o]);
  });
}

template <class Grid>
PadKernels pad_cuda_kernels() {
  return {pad_forward_grid<Grid>, pad_backward_grid<Grid>};
}

}  // namespace engine
