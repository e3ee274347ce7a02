// CPU kernels. Rows are threaded for the statistics, y and dx; the parameter gradients are
// column sums over the rows, threaded over blocks of columns so that each thread owns its
// part of dscale and dbias and reads every row's slice contiguously. The row loops
// (layer_norm_rows.h) also run as an AVX2/FMA copy where the CPU has it.
#include <algorithm>
#include <cmath>

#include "core/cpu_features.h"
#include "engine/threads.h"
#include "ops/layer_norm/layer_norm.h"
#include "ops/layer_norm/layer_norm_rows.h"

namespace engine {

// layer_norm_cpu_avx2.cpp: the row loops of layer_norm_rows.h compiled for AVX2/FMA.
void layer_norm_forward_rows_avx2(const LayerNormGeometry& g, float epsilon, const float* x,
                                  const float* scale, const float* bias, float* y, float* mean,
                                  float* inv_std, int64_t begin, int64_t end);
void layer_norm_backward_rows_avx2(const LayerNormGeometry& g, const float* x, const float* scale,
                                   const float* mean, const float* inv_std, const float* dy,
                                   float* dx, int64_t begin, int64_t end);

namespace {
constexpr int64_t kGrain = 1 << 14;  // elements per task
constexpr int64_t kColumns = 256;    // columns per block of the parameter gradients

int64_t row_grain(int64_t len) { return std::max<int64_t>(1, kGrain / std::max<int64_t>(len, 1)); }

}  // namespace

void layer_norm_forward_cpu(const LayerNormGeometry& g, float epsilon, const float* x,
                            const float* scale, const float* bias, float* y, float* mean,
                            float* inv_std) {
  const auto rows = use_avx2_fma() ? layer_norm_forward_rows_avx2 : layer_norm_forward_rows;
  parallel_for(g.rows, row_grain(g.len), [&](int64_t begin, int64_t end) {
    rows(g, epsilon, x, scale, bias, y, mean, inv_std, begin, end);
  });
}

void layer_norm_backward_cpu(const LayerNormGeometry& g, const float* x, const float* scale,
                             const float* mean, const float* inv_std, const float* dy, float* dx,
                             float* dscale, float* dbias) {
  if (dx) {
    const auto rows = use_avx2_fma() ? layer_norm_backward_rows_avx2 : layer_norm_backward_rows;
    parallel_for(g.rows, row_grain(g.len), [&](int64_t begin, int64_t end) {
      rows(g, x, scale, mean, inv_std, dy, dx, begin, end);
    });
  }
  if (!dscale && !dbias) return;
  const int64_t blocks = (g.len + kColumns - 1) / kColumns;
  const int64_t grain = std::max<int64_t>(1, kGrain / std::max<int64_t>(g.rows * kColumns, 1));
  parallel_for(blocks, grain, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      const int64_t c0 = b * kColumns, n = std::min(kColumns, g.len - c0);
      double ds[kColumns] = {}, db[kColumns] = {};
      for (int64_t r = 0; r < g.rows; ++r) {
        const float *xr = x + r * g.len + c0, *dyr = dy + r * g.len + c0;
        const float m = mean[r], inv = inv_std[r];
        for (int64_t j = 0; j < n; ++j) {
          ds[j] += dyr[j] * ((xr[j] - m) * inv);
          db[j] += dyr[j];
        }
      }
      for (int64_t j = 0; j < n; ++j) {
        if (dscale) dscale[c0 + j] = static_cast<float>(ds[j]);
        if (dbias) dbias[c0 + j] = static_cast<float>(db[j]);
      }
    }
  });
}

}  // namespace engine
