// ONNX LRN: local response normalization across channels (AlexNet).
//
// Shape legend: x [N, C, D...] viewed as [N, C, I], I = product of the spatial dims.
//   lo = floor((size - 1) / 2), hi = ceil((size - 1) / 2), window(c) = [c - lo, c + hi] ∩ [0, C)
//   s[n,c,i] = bias + alpha / size * sum_{k in window(c)} x[n,k,i]^2
//   y = x * s^-beta
// Backward (from x; s is recomputed):
//   dx[j] = dy[j] * s[j]^-beta - (2 alpha beta / size) * x[j] * sum_{c : j in window(c)} dy[c] * y[c] / s[c]
//   where j in window(c) <=> c in [j - hi, j + lo]. dx is OVERWRITTEN.
#pragma once

#include <cstdint>

#include "engine/tensor.h"

namespace engine {

struct LrnAttrs {
  int64_t size = 0;  // >= 1
  float alpha = 1e-4f;
  float beta = 0.75f;
  float bias = 1.0f;
};

struct LrnGeometry {
  int64_t n = 1, c = 1, inner = 1;  // N, C, I of the legend
  int64_t lo = 0, hi = 0;
};

// Validates the attributes and x's shape (rank >= 2), naming `op` in errors.
LrnGeometry lrn_geometry(const Shape& x, const LrnAttrs& attrs, const char* op);

void lrn_forward(const Tensor& x, const LrnAttrs& attrs, Tensor& y);
void lrn_backward(const Tensor& dy, const Tensor& x, const LrnAttrs& attrs, Tensor& dx);

// Kernels over contiguous [N, C, I] float data.
struct LrnKernels {
  void (*forward)(const LrnGeometry& g, const LrnAttrs& a, const float* x, float* y);
  void (*backward)(const LrnGeometry& g, const LrnAttrs& a, const float* dy, const float* x,
                   float* dx);
};
void lrn_forward_cpu(const LrnGeometry& g, const LrnAttrs& a, const float* x, float* y);
void lrn_backward_cpu(const LrnGeometry& g, const LrnAttrs& a, const float* dy, const float* x,
                      float* dx);
void lrn_forward_ref(const LrnGeometry& g, const LrnAttrs& a, const float* x, float* y);
void lrn_backward_ref(const LrnGeometry& g, const LrnAttrs& a, const float* dy, const float* x,
                      float* dx);

}  // namespace engine
