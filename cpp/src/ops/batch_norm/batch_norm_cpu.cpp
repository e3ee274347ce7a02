// CPU kernels. Threads split the channels (statistics and backward) or the [N*C] rows (apply);
// within a row of S values the sums run in 8 float lanes, rows accumulate in double.
#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/threads.h"
#include "ops/batch_norm/batch_norm.h"

namespace engine {

namespace {

constexpr int64_t kWork = 1 << 15;  // values per thread chunk, at least

// sum over s in [0, S) of f(s), in 8 independent float lanes (vectorisable, and the
// shorter chains lose less precision than one running float sum).
template <class F>
double row_sum(int64_t S, F f) {
  float lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t s = 0;
  for (; s + 8 <= S; s += 8)
    for (int k = 0; k < 8; ++k) lane[k] += f(s + k);
  double total = 0.0;
  for (; s < S; ++s) total += f(s);
  for (int k = 0; k < 8; ++k) total += lane[k];
  return total;
}

// Chunks of at least 1 and about kWork / (values per item) items.
int64_t grain_for(int64_t values_per_item) {
  return std::max<int64_t>(1, kWork / std::max<int64_t>(1, values_per_item));
}

// acc[c - c0] += sum over n, s of f(row of (n, c), s) for c in [c0, c1).
template <class F>
void channel_sums(int64_t N, int64_t C, int64_t S, int64_t c0, int64_t c1, double* acc, F f) {
  if (S == 1) {  // [N, C]: rows of single values, sum straight across the channels
    for (int64_t n = 0; n < N; ++n)
      for (int64_t c = c0; c < c1; ++c) acc[c - c0] += f(c, n * C + c);
    return;
  }
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = c0; c < c1; ++c) {
      const int64_t base = (n * C + c) * S;
      acc[c - c0] += row_sum(S, [&](int64_t s) { return f(c, base + s); });
    }
}

}  // namespace

void batch_norm_stats_cpu(int64_t N, int64_t C, int64_t S, const float* x, float epsilon,
                          float* mean, float* var, float* inv_std) {
  const double M = double(N) * double(S);
  parallel_for(C, grain_for(N * S), [&](int64_t c0, int64_t c1) {
    std::vector<double> sum(c1 - c0, 0.0), sq(c1 - c0, 0.0);
    channel_sums(N, C, S, c0, c1, sum.data(), [&](int64_t, int64_t i) { return x[i]; });
    for (int64_t c = c0; c < c1; ++c) mean[c] = static_cast<float>(sum[c - c0] / M);
    // Second pass around the mean: no cancellation when |mean| >> std.
    channel_sums(N, C, S, c0, c1, sq.data(), [&](int64_t c, int64_t i) {
      const float t = x[i] - mean[c];
      return t * t;
    });
    for (int64_t c = c0; c < c1; ++c) {
      const double v = sq[c - c0] / M;
      var[c] = static_cast<float>(v);
      inv_std[c] = static_cast<float>(1.0 / std::sqrt(v + double(epsilon)));
    }
  });
}

void batch_norm_apply_cpu(int64_t N, int64_t C, int64_t S, const float* x, const float* mean,
                          const float* inv_std, const float* scale, const float* bias,
                          float* y) {
  std::vector<float> k(C);
  for (int64_t c = 0; c < C; ++c) k[c] = inv_std[c] * scale[c];
  if (S == 1) {
    parallel_for(N, grain_for(C), [&](int64_t n0, int64_t n1) {
      for (int64_t n = n0; n < n1; ++n)
        for (int64_t c = 0; c < C; ++c) y[n * C + c] = (x[n * C + c] - mean[c]) * k[c] + bias[c];
    });
    return;
  }
  parallel_for(N * C, grain_for(S), [&](int64_t r0, int64_t r1) {
    int64_t c = r0 % C;
    for (int64_t r = r0; r < r1; ++r) {
      const float m = mean[c], kc = k[c], b = bias[c];
      const float* xr = x + r * S;
      float* yr = y + r * S;
      for (int64_t s = 0; s < S; ++s) yr[s] = (xr[s] - m) * kc + b;
      if (++c == C) c = 0;
    }
  });
}

void batch_norm_backward_cpu(int64_t N, int64_t C, int64_t S, const float* dy, const float* x,
                             const float* scale, const float* mean, const float* inv_std,
                             bool training, float* dx, float* dscale, float* dbias) {
  const double M = double(N) * double(S);
  const bool need_sums = dscale || dbias || (dx && training);
  parallel_for(C, grain_for(N * S), [&](int64_t c0, int64_t c1) {
    const int64_t nc = c1 - c0;
    std::vector<double> sum_dy(nc, 0.0), sum_dy_xc(nc, 0.0);  // xc = x - mean
    if (need_sums) {
      channel_sums(N, C, S, c0, c1, sum_dy.data(), [&](int64_t, int64_t i) { return dy[i]; });
      channel_sums(N, C, S, c0, c1, sum_dy_xc.data(),
                   [&](int64_t c, int64_t i) { return dy[i] * (x[i] - mean[c]); });
    }
    for (int64_t c = c0; c < c1; ++c) {
      if (dscale) dscale[c] = static_cast<float>(dscale[c] + sum_dy_xc[c - c0] * inv_std[c]);
      if (dbias) dbias[c] = static_cast<float>(dbias[c] + sum_dy[c - c0]);
    }
    if (!dx) return;
    // dx = k * dy - a - b * (x - mean), with k = scale * inv_std; a and b vanish when frozen.
    std::vector<float> k(nc), a(nc), b(nc);
    for (int64_t c = c0; c < c1; ++c) {
      const double kc = double(scale[c]) * inv_std[c];
      k[c - c0] = static_cast<float>(kc);
      a[c - c0] = training ? static_cast<float>(kc * sum_dy[c - c0] / M) : 0.0f;
      b[c - c0] = training ? static_cast<float>(kc * double(inv_std[c]) * inv_std[c] *
                                                sum_dy_xc[c - c0] / M)
                           : 0.0f;
    }
    if (S == 1) {
      for (int64_t n = 0; n < N; ++n)
        for (int64_t c = c0; c < c1; ++c) {
          const int64_t i = n * C + c;
          dx[i] = k[c - c0] * dy[i] - a[c - c0] - b[c - c0] * (x[i] - mean[c]);
        }
      return;
    }
    for (int64_t n = 0; n < N; ++n)
      for (int64_t c = c0; c < c1; ++c) {
        const int64_t base = (n * C + c) * S;
        const float kc = k[c - c0], ac = a[c - c0], bc = b[c - c0], m = mean[c];
        for (int64_t s = 0; s < S; ++s)
          dx[base + s] = kc * dy[base + s] - ac - bc * (x[base + s] - m);
      }
  });
}

}  // namespace engine
