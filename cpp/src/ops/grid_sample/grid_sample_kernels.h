// The GridSample kernels, written once over a loop: one output position (all its channels)
// at a time, its taps computed once. The backward adds into dx atomically on a device
// (neighbouring positions share taps); each position writes its own dgrid.
#pragma once

#include "core/grid.h"
#include "ops/grid_sample/grid_sample.h"

namespace engine {

ENGINE_HD inline void grid_sample_forward_at(const GridSampleGeometry& g, const float* x,
                                             const float* grid, float* y, int64_t q) {
  const int64_t b = q / g.out_points, p = q % g.out_points;
  int64_t at[GridSampleGeometry::kMaxTaps];
  float w[GridSampleGeometry::kMaxTaps],
      dw[GridSampleGeometry::kMaxDims][GridSampleGeometry::kMaxTaps];
  const int n = g.taps(grid + q * g.dims, at, w, dw);
  for (int64_t c = 0; c < g.channels; ++c) {
    const float* image = x + (b * g.channels + c) * g.in_points;
    float acc = 0.0f;
    for (int t = 0; t < n; ++t)
      if (at[t] >= 0) acc += w[t] * image[at[t]];
    y[(b * g.channels + c) * g.out_points + p] = acc;
  }
}

ENGINE_HD inline void grid_sample_backward_at(const GridSampleGeometry& g, const float* x,
                                              const float* grid, const float* dy, float* dx,
                                              float* dgrid, int64_t q) {
  const int64_t b = q / g.out_points, p = q % g.out_points;
  int64_t at[GridSampleGeometry::kMaxTaps];
  float w[GridSampleGeometry::kMaxTaps],
      dw[GridSampleGeometry::kMaxDims][GridSampleGeometry::kMaxTaps];
  const int n = g.taps(grid + q * g.dims, at, w, dw);
  float dg[GridSampleGeometry::kMaxDims] = {};
  for (int64_t c = 0; c < g.channels; ++c) {
    const int64_t image = (b * g.channels + c) * g.in_points;
    const float d = dy[(b * g.channels + c) * g.out_points + p];
    for (int t = 0; t < n; ++t) {
      if (at[t] < 0) continue;
      if (dx) atomic_add(dx + image + at[t], w[t] * d);
      if (dgrid)
        for (int k = 0; k < g.dims; ++k) dg[k] += d * dw[k][t] * x[image + at[t]];
    }
  }
  if (dgrid)
    for (int k = 0; k < g.dims; ++k) dgrid[q * g.dims + k] = dg[k];
}

template <class Grid>
void grid_sample_forward_grid(const GridSampleGeometry& g, const float* x, const float* grid,
                              float* y) {
  for_each_index<Grid>(g.batch * g.out_points,
                       [=] ENGINE_HD(int64_t q) { grid_sample_forward_at(g, x, grid, y, q); });
}

template <class Grid>
void grid_sample_backward_grid(const GridSampleGeometry& g, const float* x, const float* grid,
                               const float* dy, float* dx, float* dgrid) {
  if (dx)
    for_each_index<Grid>(g.batch * g.channels * g.in_points,
                         [=] ENGINE_HD(int64_t i) { dx[i] = 0.0f; });
  for_each_index<Grid>(g.batch * g.out_points, [=] ENGINE_HD(int64_t q) {
    grid_sample_backward_at(g, x, grid, dy, dx, dgrid, q);
  });
}

template <class Grid>
GridSampleKernels grid_sample_grid_kernels() {
  GridSampleKernels kernels;  // member by member: nvcc cannot resolve templates in a braced list
  kernels.forward = &grid_sample_forward_grid<Grid>;
  kernels.backward = &grid_sample_backward_grid<Grid>;
  return kernels;
}

}  // namespace engine
