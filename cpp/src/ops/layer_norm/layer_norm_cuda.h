// The CUDA kernels of LayerNormalization over a Grid (core/grid.h): DeviceGrid in the CUDA
// plugin (layer_norm_cuda.cu), HostGrid for their emulation in the kernel table.
//
// Each row of [R, L] is reduced by a group of threads as Softmax's rows are (row_groups in
// softmax_cuda.h): the mean, then the variance around it (forward); sum(g) and sum(g * xhat)
// (backward dx). The parameter gradients are column sums: one thread per column, over the
// rows.
#pragma once

#include <cmath>
#include <cstdint>

#include "core/grid.h"
#include "ops/layer_norm/layer_norm.h"
#include "ops/softmax/softmax_cuda.h"

namespace engine {

namespace layer_norm_cuda {

using row_groups::RowGroups;

struct ForwardBody {
  struct Shared {
    float red[row_groups::kThreads];
  };
  struct Local {
    float m;
  };
  RowGroups g;
  float epsilon;
  const float *x, *scale, *bias;
  float *y, *mean, *inv_std;

  template <class Each>
  ENGINE_HD void run_block(int64_t block, int, Shared& sh, Each&& each) const {
    const float n = static_cast<float>(g.len);
    row_groups::for_each_pass(g, block, [&](int64_t first) {
      row_groups::reduce_row<Local>(each, g, first, sh.red, 0.0f, row_groups::SumOp{},
                                    [&](Local&, int64_t i, int64_t) { return x[i]; });
      each([&](int t, Local& l) { l.m = sh.red[g.leader(t)] / n; });
      row_groups::reduce_row<Local>(each, g, first, sh.red, 0.0f, row_groups::SumOp{},
                                    [&](Local& l, int64_t i, int64_t) {
                                      const float d = x[i] - l.m;
                                      return d * d;
                                    });
      each([&](int t, Local& l) {
        const int64_t r = g.row(first, t);
        if (r >= g.rows) return;
        const float inv = 1.0f / std::sqrt(sh.red[g.leader(t)] / n + epsilon);
        const int64_t base = g.start(r);
        for (int64_t k = g.lane(t); k < g.len; k += g.group)
          y[base + k] = (x[base + k] - l.m) * inv * scale[k] + (bias ? bias[k] : 0.0f);
        if (g.lane(t) == 0) {
          mean[r] = l.m;
          inv_std[r] = inv;
        }
      });
    });
  }
};

struct BackwardBody {
  struct Shared {
    float red[row_groups::kThreads];
  };
  struct Local {
    float sg;
  };
  RowGroups g;
  const float *x, *scale, *mean, *inv_std, *dy;
  float* dx;

  template <class Each>
  ENGINE_HD void run_block(int64_t block, int, Shared& sh, Each&& each) const {
    const float n = static_cast<float>(g.len);
    auto row_of = [&](int64_t i) { return i / g.len; };
    row_groups::for_each_pass(g, block, [&](int64_t first) {
      row_groups::reduce_row<Local>(each, g, first, sh.red, 0.0f, row_groups::SumOp{},
                                    [&](Local&, int64_t i, int64_t k) { return dy[i] * scale[k]; });
      each([&](int t, Local& l) { l.sg = sh.red[g.leader(t)]; });
      row_groups::reduce_row<Local>(each, g, first, sh.red, 0.0f, row_groups::SumOp{},
                                    [&](Local&, int64_t i, int64_t k) {
                                      const int64_t r = row_of(i);
                                      return dy[i] * scale[k] * ((x[i] - mean[r]) * inv_std[r]);
                                    });
      each([&](int t, Local& l) {
        const int64_t r = g.row(first, t);
        if (r >= g.rows) return;
        const float a = l.sg / n, b = sh.red[g.leader(t)] / n;
        const float m = mean[r], inv = inv_std[r];
        const int64_t base = g.start(r);
        for (int64_t k = g.lane(t); k < g.len; k += g.group) {
          const int64_t i = base + k;
          dx[i] = inv * (dy[i] * scale[k] - a - (x[i] - m) * inv * b);
        }
      });
    });
  }
};

}  // namespace layer_norm_cuda

template <class Grid>
void layer_norm_forward_grid(const LayerNormGeometry& geo, float epsilon, const float* x,
                             const float* scale, const float* bias, float* y, float* mean,
                             float* inv_std) {
  const auto g = row_groups::plan(geo.rows, geo.len);
  if (g.rows * g.len == 0) return;
  Grid::launch_blocks(g.dims(),
                      layer_norm_cuda::ForwardBody{g, epsilon, x, scale, bias, y, mean, inv_std});
}

template <class Grid>
void layer_norm_backward_grid(const LayerNormGeometry& geo, const float* x, const float* scale,
                              const float* mean, const float* inv_std, const float* dy, float* dx,
                              float* dscale, float* dbias) {
  if (geo.rows * geo.len == 0) return;
  if (dx) {
    const auto g = row_groups::plan(geo.rows, geo.len);
    Grid::launch_blocks(g.dims(),
                        layer_norm_cuda::BackwardBody{g, x, scale, mean, inv_std, dy, dx});
  }
  if (!dscale && !dbias) return;
  const int64_t rows = geo.rows, len = geo.len;
  for_each_index<Grid>(len, [=] ENGINE_HD(int64_t c) {
    float ds = 0.0f, db = 0.0f;
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t i = r * len + c;
      ds += dy[i] * ((x[i] - mean[r]) * inv_std[r]);
      db += dy[i];
    }
    if (dscale) dscale[c] = ds;
    if (dbias) dbias[c] = db;
  });
}

template <class Grid>
LayerNormKernels layer_norm_cuda_kernels() {
  return {layer_norm_forward_grid<Grid>, layer_norm_backward_grid<Grid>};
}

}  // namespace engine
