// CPU kernels: the forward's output positions split over threads; the backward's images
// (positions of one image add into the same dx, those of different images never do).
#include <algorithm>

#include "engine/threads.h"
#include "ops/grid_sample/grid_sample_kernels.h"

namespace engine {

namespace {
void forward_cpu(const GridSampleGeometry& g, const float* x, const float* grid, float* y) {
  const int64_t grain = std::max<int64_t>(1, (1 << 12) / std::max<int64_t>(1, g.channels));
  parallel_for(g.batch * g.out_points, grain, [&](int64_t begin, int64_t end) {
    for (int64_t q = begin; q < end; ++q) grid_sample_forward_at(g, x, grid, y, q);
  });
}

void backward_cpu(const GridSampleGeometry& g, const float* x, const float* grid, const float* dy,
                  float* dx, float* dgrid) {
  parallel_for(g.batch, 1, [&](int64_t begin, int64_t end) {
    if (dx)
      std::fill(dx + begin * g.channels * g.in_points, dx + end * g.channels * g.in_points, 0.0f);
    for (int64_t q = begin * g.out_points; q < end * g.out_points; ++q)
      grid_sample_backward_at(g, x, grid, dy, dx, dgrid, q);
  });
}
}  // namespace

GridSampleKernels grid_sample_cpu_kernels() { return {forward_cpu, backward_cpu}; }

}  // namespace engine
