// The depthwise convolution loops compiled for AVX2/FMA; conv_cpu.cpp calls them after the
// CPUID check.
#include "ops/conv/conv_depthwise_loops.h"

namespace engine {

void depthwise_forward_range_avx2(const ConvShape& s, const float* x, const float* w,
                                  const float* b, float* y, int64_t begin, int64_t end) {
  depthwise_forward_range(s, x, w, b, y, begin, end);
}

void depthwise_backward_data_range_avx2(const ConvShape& s, const float* dy, const float* w,
                                        float* dx, int64_t begin, int64_t end) {
  depthwise_backward_data_range(s, dy, w, dx, begin, end);
}

void depthwise_backward_weight_range_avx2(const ConvShape& s, const float* dy, const float* x,
                                          float* dw, int64_t begin, int64_t end) {
  depthwise_backward_weight_range(s, dy, x, dw, begin, end);
}

}  // namespace engine
