// LayerNormalization (ONNX opset >= 17): normalise over the trailing dims from `axis` on.
//
// Shape legend: x is viewed as [R, L]
//   R = product of the dims before axis (rows), L = product of the dims from axis on.
//   scale and bias hold L values (the normalised dims of x, leading dims may be left out).
//   mean[r] = sum_L x / L,  inv_std[r] = 1 / sqrt(sum_L (x - mean)^2 / L + epsilon)
//   xhat = (x - mean) * inv_std,  y = xhat * scale + bias
// Backward reads x, scale and the saved mean and inv_std ([R] each); with g = dy * scale:
//   dx     = inv_std * (g - sum_L(g) / L - xhat * sum_L(g * xhat) / L)
//   dscale = sum_R(dy * xhat),  dbias = sum_R(dy)
// The optional Mean and InvStdDev outputs of ONNX are the saved statistics, shaped as x with
// 1s from axis on (no gradient flows back through them); stash_type 1 (statistics in float32)
// is the only one.
#pragma once

#include <cstdint>

#include "engine/ir.h"
#include "engine/tensor.h"

namespace engine {

struct LayerNormAttrs {
  int64_t axis = -1;
  float epsilon = 1e-5f;
};

struct LayerNormGeometry {
  int64_t rows = 1, len = 1;  // R, L of the legend
};

// [R, L] for x's shape; validates the axis and epsilon (ValueError naming `op`).
LayerNormGeometry layer_norm_geometry(const Shape& x, const LayerNormAttrs& attrs, const char* op);

// Op level: validate, then run the selected kernel into caller-provided outputs. bias may be
// undefined (no bias); mean and inv_std receive the statistics backward reads.
void layer_norm_forward(const Tensor& x, const Tensor& scale, const Tensor& bias,
                        const LayerNormAttrs& attrs, Tensor& y, Tensor& mean, Tensor& inv_std);
// Any of dx, dscale, dbias may be undefined (not wanted); all are overwritten.
void layer_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& scale,
                         const Tensor& mean, const Tensor& inv_std, const LayerNormAttrs& attrs,
                         Tensor& dx, Tensor& dscale, Tensor& dbias);

// Kernels over contiguous [R, L] float data; bias, dx, dscale, dbias may be null.
struct LayerNormKernels {
  void (*forward)(const LayerNormGeometry& g, float epsilon, const float* x, const float* scale,
                  const float* bias, float* y, float* mean, float* inv_std);
  void (*backward)(const LayerNormGeometry& g, const float* x, const float* scale,
                   const float* mean, const float* inv_std, const float* dy, float* dx,
                   float* dscale, float* dbias);
};
void layer_norm_forward_ref(const LayerNormGeometry& g, float epsilon, const float* x,
                            const float* scale, const float* bias, float* y, float* mean,
                            float* inv_std);
void layer_norm_backward_ref(const LayerNormGeometry& g, const float* x, const float* scale,
                             const float* mean, const float* inv_std, const float* dy, float* dx,
                             float* dscale, float* dbias);
void layer_norm_forward_cpu(const LayerNormGeometry& g, float epsilon, const float* x,
                            const float* scale, const float* bias, float* y, float* mean,
                            float* inv_std);
void layer_norm_backward_cpu(const LayerNormGeometry& g, const float* x, const float* scale,
                             const float* mean, const float* inv_std, const float* dy, float* dx,
                             float* dscale, float* dbias);

}  // namespace engine
