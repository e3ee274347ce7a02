// Optimized kernels: Conv's CPU kernels with the roles of x and y swapped (see
// conv_transpose.h), plus the bias, which Conv's input gradient has no place for.
#include "engine/threads.h"
#include "ops/conv_transpose/conv_transpose.h"

namespace engine {

void conv_transpose2d_forward_cpu(const ConvShape& s, const float* x, const float* w,
                                  const float* b, float* y) {
  conv2d_backward_cpu(s, /*dy=*/x, /*x=*/nullptr, w, /*dx=*/y, nullptr, nullptr);
  if (!b) return;
  const int64_t P = s.win.in_size();
  parallel_for(s.N * s.C, 1, [&](int64_t begin, int64_t end) {
    for (int64_t plane = begin; plane < end; ++plane) {
      const float bias = b[plane % s.C];
      float* row = y + plane * P;
      for (int64_t p = 0; p < P; ++p) row[p] += bias;
    }
  });
}

void conv_transpose2d_backward_cpu(const ConvShape& s, const float* dy, const float* x,
                                   const float* w, float* dx, float* dw, float* db) {
  if (dx) conv2d_forward_cpu(s, dy, w, nullptr, dx);
  if (dw) conv2d_backward_cpu(s, /*dy=*/x, /*x=*/dy, w, nullptr, dw, nullptr);
  if (db) {
    const int64_t P = s.win.in_size();
    parallel_for(s.C, 1, [&](int64_t begin, int64_t end) {
      for (int64_t o = begin; o < end; ++o) {
        double sum = 0.0;
        for (int64_t n = 0; n < s.N; ++n) {
          const float* row = dy + (n * s.C + o) * P;
          float part = 0.0f;
          for (int64_t p = 0; p < P; ++p) part += row[p];
          sum += part;
        }
        db[o] = static_cast<float>(db[o] + sum);
      }
    });
  }
}

}  // namespace engine
