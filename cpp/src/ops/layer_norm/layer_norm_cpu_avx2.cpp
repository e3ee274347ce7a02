// The row loops of layer_norm_rows.h compiled for AVX2/FMA; layer_norm_cpu.cpp calls them
// after the CPUID check.
#include "ops/layer_norm/layer_norm_rows.h"

namespace engine {

void layer_norm_forward_rows_avx2(const LayerNormGeometry& g, float epsilon, const float* x,
                                  const float* scale, const float* bias, float* y, float* mean,
                                  float* inv_std, int64_t begin, int64_t end) {
  layer_norm_forward_rows(g, epsilon, x, scale, bias, y, mean, inv_std, begin, end);
}

void layer_norm_backward_rows_avx2(const LayerNormGeometry& g, const float* x, const float* scale,
                                   const float* mean, const float* inv_std, const float* dy,
                                   float* dx, int64_t begin, int64_t end) {
  layer_norm_backward_rows(g, x, scale, mean, inv_std, dy, dx, begin, end);
}

}  // namespace engine
