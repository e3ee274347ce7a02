// Reference kernels: one row at a time, in double.
#include <cmath>
#include <vector>

#include "ops/layer_norm/layer_norm.h"

namespace engine {

void layer_norm_forward_ref(const LayerNormGeometry& g, float epsilon, const float* x,
                            const float* scale, const float* bias, float* y, float* mean,
                            float* inv_std) {
  for (int64_t r = 0; r < g.rows; ++r) {
    const float* xr = x + r * g.len;
    double m = 0.0, v = 0.0;
    for (int64_t l = 0; l < g.len; ++l) m += xr[l];
    m /= double(g.len);
    for (int64_t l = 0; l < g.len; ++l) v += (xr[l] - m) * (xr[l] - m);
    const double inv = 1.0 / std::sqrt(v / double(g.len) + double(epsilon));
    for (int64_t l = 0; l < g.len; ++l)
      y[r * g.len + l] =
          static_cast<float>((xr[l] - m) * inv * scale[l] + (bias ? double(bias[l]) : 0.0));
    mean[r] = static_cast<float>(m);
    inv_std[r] = static_cast<float>(inv);
  }
}

void layer_norm_backward_ref(const LayerNormGeometry& g, const float* x, const float* scale,
                             const float* mean, const float* inv_std, const float* dy, float* dx,
                             float* dscale, float* dbias) {
  std::vector<double> ds(static_cast<size_t>(g.len), 0.0), db(static_cast<size_t>(g.len), 0.0);
  for (int64_t r = 0; r < g.rows; ++r) {
    const int64_t o = r * g.len;
    double sg = 0.0, sgx = 0.0;  // sum(g), sum(g * xhat), g = dy * scale
    for (int64_t l = 0; l < g.len; ++l) {
      const double xhat = (double(x[o + l]) - mean[r]) * inv_std[r];
      const double gl = double(dy[o + l]) * scale[l];
      sg += gl;
      sgx += gl * xhat;
      ds[l] += double(dy[o + l]) * xhat;
      db[l] += dy[o + l];
    }
    if (!dx) continue;
    for (int64_t l = 0; l < g.len; ++l) {
      const double xhat = (double(x[o + l]) - mean[r]) * inv_std[r];
      const double gl = double(dy[o + l]) * scale[l];
      dx[o + l] = static_cast<float>(inv_std[r] * (gl - (sg + xhat * sgx) / double(g.len)));
    }
  }
  for (int64_t l = 0; l < g.len; ++l) {
    if (dscale) dscale[l] = static_cast<float>(ds[l]);
    if (dbias) dbias[l] = static_cast<float>(db[l]);
  }
}

}  // namespace engine
