// Reference kernels: one channel at a time, two-pass statistics, double accumulation.
#include <cmath>

#include "ops/batch_norm/batch_norm.h"

namespace engine {

void batch_norm_stats_ref(int64_t N, int64_t C, int64_t S, const float* x, float epsilon,
                          float* mean, float* var, float* inv_std) {
  const double M = double(N) * double(S);
  for (int64_t c = 0; c < C; ++c) {
    double sum = 0.0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t s = 0; s < S; ++s) sum += x[(n * C + c) * S + s];
    const double mu = sum / M;
    double sq = 0.0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t s = 0; s < S; ++s) {
        const double t = x[(n * C + c) * S + s] - mu;
        sq += t * t;
      }
    mean[c] = static_cast<float>(mu);
    var[c] = static_cast<float>(sq / M);
    inv_std[c] = static_cast<float>(1.0 / std::sqrt(sq / M + double(epsilon)));
  }
}

void batch_norm_apply_ref(int64_t N, int64_t C, int64_t S, const float* x, const float* mean,
                          const float* inv_std, const float* scale, const float* bias,
                          float* y) {
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t s = 0; s < S; ++s) {
        const int64_t i = (n * C + c) * S + s;
        y[i] = static_cast<float>((double(x[i]) - mean[c]) * inv_std[c] * scale[c] + bias[c]);
      }
}

void batch_norm_backward_ref(int64_t N, int64_t C, int64_t S, const float* dy, const float* x,
                             const float* scale, const float* mean, const float* inv_std,
                             bool training, float* dx, float* dscale, float* dbias) {
  const double M = double(N) * double(S);
  for (int64_t c = 0; c < C; ++c) {
    double sum_dy = 0.0, sum_dy_xhat = 0.0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t s = 0; s < S; ++s) {
        const int64_t i = (n * C + c) * S + s;
        sum_dy += dy[i];
        sum_dy_xhat += double(dy[i]) * (double(x[i]) - mean[c]) * inv_std[c];
      }
    if (dscale) dscale[c] = static_cast<float>(dscale[c] + sum_dy_xhat);
    if (dbias) dbias[c] = static_cast<float>(dbias[c] + sum_dy);
    if (!dx) continue;
    const double k = double(scale[c]) * inv_std[c];
    for (int64_t n = 0; n < N; ++n)
      for (int64_t s = 0; s < S; ++s) {
        const int64_t i = (n * C + c) * S + s;
        double g = dy[i];
        if (training) {
          const double xhat = (double(x[i]) - mean[c]) * inv_std[c];
          g -= (sum_dy + xhat * sum_dy_xhat) / M;
        }
        dx[i] = static_cast<float>(k * g);
      }
  }
}

void batch_norm_update_running_ref(int64_t C, float momentum, const float* batch_mean,
                                   const float* batch_var, float* running_mean,
                                   float* running_var) {
  const double m = momentum;
  for (int64_t c = 0; c < C; ++c) {
    running_mean[c] = static_cast<float>(m * running_mean[c] + (1.0 - m) * batch_mean[c]);
    running_var[c] = static_cast<float>(m * running_var[c] + (1.0 - m) * batch_var[c]);
  }
}

void batch_norm_inv_std_ref(int64_t C, const float* var, float epsilon, float* inv_std) {
  for (int64_t c = 0; c < C; ++c)
    inv_std[c] = static_cast<float>(1.0 / std::sqrt(double(var[c]) + double(epsilon)));
}

}  // namespace engine
