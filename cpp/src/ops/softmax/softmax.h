// Softmax and LogSoftmax (ONNX opset >= 13): normalise along one axis of any rank. Nodes of
// opsets < 13 are read with the internal attribute engine_coerce_2d (softmax_onnx.cpp).
//
// Shape legend: around `axis` the tensor is viewed as [O, L, I]
//   O = product of the dims before axis, L = dims[axis], I = product of the dims after it.
//   Softmax:    y = exp(x - m) / s          m = max_L x,  s = sum_L exp(x - m)
//   LogSoftmax: y = (x - m) - log(s)
// Backward uses only the saved forward OUTPUT y (x is not needed):
//   Softmax:    dx = y * (dy - sum_L(dy * y))
//   LogSoftmax: dx = dy - exp(y) * sum_L(dy)
#pragma once

#include <cstdint>

#include "engine/ir.h"
#include "engine/tensor.h"

namespace engine {

class OnnxImportContext;

// Internal attribute of a node read from an opset < 13 file: the 2-D coercion below.
constexpr const char* kSoftmaxCoerce2d = "engine_coerce_2d";
void translate_softmax_onnx(Node& node, OnnxImportContext& ctx);

enum class SoftmaxKind { Softmax, LogSoftmax };

struct SoftmaxAttrs {
  int64_t axis = -1;
  // Opsets < 13 coerce the input to 2-D [prod(dims[:axis]), prod(dims[axis:])] and
  // normalise each row over all the trailing dims together. The ONNX importer sets this
  // for such nodes (with their axis, whose default there is 1); y keeps x's shape.
  bool coerce_2d = false;
};

struct SoftmaxGeometry {
  int64_t outer = 1, len = 1, inner = 1;  // O, L, I of the legend
};

const char* softmax_name(SoftmaxKind kind);  // "Softmax" or "LogSoftmax"
// [O, L, I] for x's shape under `attrs`; validates the axis (ValueError naming `op`).
SoftmaxGeometry softmax_geometry(const Shape& shape, const SoftmaxAttrs& attrs, const char* op);

// Op level: validate, then run the selected kernel into caller-provided outputs (the
// executor's planned buffers); the Tensor-returning overloads allocate them.
void softmax_forward(SoftmaxKind kind, const Tensor& x, const SoftmaxAttrs& attrs, Tensor& y);
// dx overwritten from dy and the forward output y.
void softmax_backward(SoftmaxKind kind, const Tensor& dy, const Tensor& y,
                      const SoftmaxAttrs& attrs, Tensor& dx);

// Kernels over contiguous [O, L, I] float data.
struct SoftmaxKernels {
  void (*forward)(SoftmaxKind kind, const SoftmaxGeometry& g, const float* x, float* y);
  void (*backward)(SoftmaxKind kind, const SoftmaxGeometry& g, const float* y, const float* dy,
                   float* dx);
};
void softmax_forward_cpu(SoftmaxKind kind, const SoftmaxGeometry& g, const float* x, float* y);
void softmax_backward_cpu(SoftmaxKind kind, const SoftmaxGeometry& g, const float* y,
                          const float* dy, float* dx);
void softmax_forward_ref(SoftmaxKind kind, const SoftmaxGeometry& g, const float* x, float* y);
void softmax_backward_ref(SoftmaxKind kind, const SoftmaxGeometry& g, const float* y,
                          const float* dy, float* dx);

}  // namespace engine
