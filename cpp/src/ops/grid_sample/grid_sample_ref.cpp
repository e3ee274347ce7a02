// Reference kernels: one output position at a time, in order.
#include "ops/grid_sample/grid_sample_kernels.h"

namespace engine {

namespace {
void forward_ref(const GridSampleGeometry& g, const float* x, const float* grid, float* y) {
  for (int64_t q = 0; q < g.batch * g.out_points; ++q) grid_sample_forward_at(g, x, grid, y, q);
}

void backward_ref(const GridSampleGeometry& g, const float* x, const float* grid, const float* dy,
                  float* dx, float* dgrid) {
  if (dx)
    for (int64_t i = 0; i < g.batch * g.channels * g.in_points; ++i) dx[i] = 0.0f;
  for (int64_t q = 0; q < g.batch * g.out_points; ++q)
    grid_sample_backward_at(g, x, grid, dy, dx, dgrid, q);
}
}  // namespace

GridSampleKernels grid_sample_ref_kernels() { return {forward_ref, backward_ref}; }

}  // namespace engine
