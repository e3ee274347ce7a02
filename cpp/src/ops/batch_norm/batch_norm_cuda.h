// The CUDA kernels of BatchNormalization over a Grid (core/grid.h): DeviceGrid in the CUDA
// plugin (batch_norm_cuda.cu), HostGrid for their emulation in the kernel table.
//
// Statistics and backward: one block per channel. Its threads stride over the channel's
// M = N * S values, each summing its share in float, and a tree reduction in shared memory
// combines the partial sums (short chains: the error grows with log M, not M). The
// variance is a second pass around the mean, as in the CPU kernels: no cancellation when
// |mean| >> std (StatsBody). Apply, the running-statistics update and inv_std are one thread per value.
#pragma once

#include <cmath>
#include <cstdint>

#include "core/grid.h"
#include "ops/batch_norm/batch_norm.h"

namespace engine {
namespace batch_norm_cuda {

constexpr int kMaxThreads = 256;

// Threads per channel block: a power of two in [32, 256], no more than the values need.
inline int channel_threads(int64_t m) {
  int t = 32;
  while (t < kMaxThreads && t < m) t *= 2;
  return t;
}

// Value j in [0, N * S) of channel c in [N, C, S] data.
ENGINE_HD inline int64_t channel_at(int64_t C, int64_t S, int64_t c, int64_t j) {
  return (j / S * C + c) * S + j % S;
}

// Mean and variance of channel c. The second pass sums d = x - mean and d^2 around the
// first mean: sum(d) / M corrects that mean's rounding (a float sum over M values is off by
// a few ulp, which would shift every x - mean alike), and var = (sum(d^2) - sum(d)^2 / M) / M
// is the corrected two-pass formula (Chan, Golub and LeVeque).
struct StatsBody {
  struct Shared {
    float sum[kMaxThreads];
    float sq[kMaxThreads];
  };
  struct Local {
    float mean;
  };
  int64_t N, C, S;
  const float* x;
  float epsilon;
  float *mean, *var, *inv_std;

  template <class Each>
  ENGINE_HD void run_block(int64_t c, int threads, Shared& sh, Each&& each) const {
    const int64_t M = N * S;
    each([&](int t, Local&) {
      float s = 0.0f;
      for (int64_t j = t; j < M; j += threads) s += x[channel_at(C, S, c, j)];
      sh.sum[t] = s;
    });
    tree_fold<Local>(each, threads, [&](int a, int b) { sh.sum[a] += sh.sum[b]; });
    each([&](int, Local& l) { l.mean = sh.sum[0] / static_cast<float>(M); });
    each([&](int t, Local& l) {
      float s = 0.0f, q = 0.0f;
      for (int64_t j = t; j < M; j += threads) {
        const float d = x[channel_at(C, S, c, j)] - l.mean;
        s += d;
        q += d * d;
      }
      sh.sum[t] = s;
      sh.sq[t] = q;
    });
    tree_fold<Local>(each, threads, [&](int a, int b) {
      sh.sum[a] += sh.sum[b];
      sh.sq[a] += sh.sq[b];
    });
    each([&](int t, Local& l) {
      if (t != 0) return;
      const float m = static_cast<float>(M), d = sh.sum[0];
      const float v = (sh.sq[0] - d * d / m) / m;
      mean[c] = l.mean + d / m;
      var[c] = v > 0.0f ? v : 0.0f;
      inv_std[c] = static_cast<float>(1.0 / std::sqrt(double(var[c]) + double(epsilon)));
    });
  }
};

// dscale, dbias (accumulated) and dx (overwritten; any may be null) of channel c from the
// channel sums of dy and dy * (x - mean), with the CPU kernels' formulas.
struct BackwardBody {
  struct Shared {
    float dy[kMaxThreads];
    float dy_xc[kMaxThreads];
  };
  struct Local {
    float k, a, b;  // dx = k * dy - a - b * (x - mean)
  };
  int64_t N, C, S;
  const float *dy, *x, *scale, *mean, *inv_std;
  bool training;
  float *dx, *dscale, *dbias;

  template <class Each>
  ENGINE_HD void run_block(int64_t c, int threads, Shared& sh, Each&& each) const {
    const int64_t M = N * S;
    const float m = mean[c];
    each([&](int t, Local&) {
      float s = 0.0f, sx = 0.0f;
      for (int64_t j = t; j < M; j += threads) {
        const int64_t i = channel_at(C, S, c, j);
        s += dy[i];
        sx += dy[i] * (x[i] - m);
      }
      sh.dy[t] = s;
      sh.dy_xc[t] = sx;
    });
    tree_fold<Local>(each, threads, [&](int a, int b) {
      sh.dy[a] += sh.dy[b];
      sh.dy_xc[a] += sh.dy_xc[b];
    });
    each([&](int t, Local& l) {
      const float sum_dy = sh.dy[0], sum_dy_xc = sh.dy_xc[0], inv = inv_std[c];
      if (t == 0 && dscale) dscale[c] += sum_dy_xc * inv;
      if (t == 0 && dbias) dbias[c] += sum_dy;
      l.k = scale[c] * inv;
      l.a = training ? l.k * sum_dy / static_cast<float>(M) : 0.0f;
      l.b = training ? l.k * inv * inv * sum_dy_xc / static_cast<float>(M) : 0.0f;
    });
    each([&](int t, Local& l) {
      if (!dx) return;
      for (int64_t j = t; j < M; j += threads) {
        const int64_t i = channel_at(C, S, c, j);
        dx[i] = l.k * dy[i] - l.a - l.b * (x[i] - m);
      }
    });
  }
};

}  // namespace batch_norm_cuda

template <class Grid>
void batch_norm_stats_grid(int64_t N, int64_t C, int64_t S, const float* x, float epsilon,
                           float* mean, float* var, float* inv_std) {
  if (C <= 0) return;
  Grid::launch_blocks(GridDims{C, batch_norm_cuda::channel_threads(N * S)},
                      batch_norm_cuda::StatsBody{N, C, S, x, epsilon, mean, var, inv_std});
}

template <class Grid>
void batch_norm_apply_grid(int64_t N, int64_t C, int64_t S, const float* x, const float* mean,
                           const float* inv_std, const float* scale, const float* bias,
                           float* y) {
  for_each_index<Grid>(N * C * S, [=] ENGINE_HD(int64_t i) {
    const int64_t c = i / S % C;
    y[i] = (x[i] - mean[c]) * (inv_std[c] * scale[c]) + bias[c];
  });
}

template <class Grid>
void batch_norm_backward_grid(int64_t N, int64_t C, int64_t S, const float* dy, const float* x,
                              const float* scale, const float* mean, const float* inv_std,
                              bool training, float* dx, float* dscale, float* dbias) {
  if (C <= 0 || (!dx && !dscale && !dbias)) return;
  Grid::launch_blocks(GridDims{C, batch_norm_cuda::channel_threads(N * S)},
                      batch_norm_cuda::BackwardBody{N, C, S, dy, x, scale, mean, inv_std,
                                                    training, dx, dscale, dbias});
}

template <class Grid>
void batch_norm_update_running_grid(int64_t C, float momentum, const float* batch_mean,
                                    const float* batch_var, float* running_mean,
                                    float* running_var) {
  const double m = momentum;
  for_each_index<Grid>(C, [=] ENGINE_HD(int64_t c) {
    running_mean[c] = static_cast<float>(m * running_mean[c] + (1.0 - m) * batch_mean[c]);
    running_var[c] = static_cast<float>(m * running_var[c] + (1.0 - m) * batch_var[c]);
  });
}

template <class Grid>
void batch_norm_inv_std_grid(int64_t C, const float* var, float epsilon, float* inv_std) {
  for_each_index<Grid>(C, [=] ENGINE_HD(int64_t c) {
    inv_std[c] = static_cast<float>(1.0 / std::sqrt(double(var[c]) + double(epsilon)));
  });
}

template <class Grid>
BatchNormKernels batch_norm_cuda_kernels() {
  return {batch_norm_stats_grid<Grid>, batch_norm_apply_grid<Grid>,
          batch_norm_backward_grid<Grid>, batch_norm_update_running_grid<Grid>,
          batch_norm_inv_std_grid<Grid>};
}

}  // namespace engine
