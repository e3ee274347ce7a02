// ONNX Clip: y = min(max(x, lo), hi) elementwise, any shape.
//   lo and hi are optional scalars (inputs in opset >= 11, attributes min/max before);
//   absent bounds do not clip. NaN stays NaN (as numpy and onnxruntime); lo > hi gives hi
//   everywhere, as the ONNX spec says.
//   Backward: dx = dy where lo <= x <= hi, else 0 (PyTorch's clamp); the bounds are
//   constants of the graph and get no gradient.
#pragma once

#include <cstdint>
#include <limits>
#include <string>

#include "core/hd.h"
#include "engine/ir.h"
#include "engine/tensor.h"

namespace engine {

struct ClipBounds {
  float lo = -std::numeric_limits<float>::infinity();
  float hi = std::numeric_limits<float>::infinity();
};

// The bounds a node's optional min and max inputs give (undefined: no bound).
ClipBounds clip_bounds(const Tensor& min, const Tensor& max, const std::string& op);

void clip_forward(const Tensor& x, const ClipBounds& bounds, Tensor& y);
// dx overwritten.
void clip_backward(const Tensor& dy, const Tensor& x, const ClipBounds& bounds, Tensor& dx);

// Kernels over n contiguous floats.
struct ClipKernels {
  void (*forward)(int64_t n, const float* x, ClipBounds b, float* y);
  void (*backward)(int64_t n, const float* dy, const float* x, ClipBounds b, float* dx);
};
void clip_forward_cpu(int64_t n, const float* x, ClipBounds b, float* y);
void clip_backward_cpu(int64_t n, const float* dy, const float* x, ClipBounds b, float* dx);
void clip_forward_ref(int64_t n, const float* x, ClipBounds b, float* y);
void clip_backward_ref(int64_t n, const float* dy, const float* x, ClipBounds b, float* dx);

// The formulas, shared by the kernels. The comparisons are false for NaN, which passes.
ENGINE_HD inline float clip_value(float v, ClipBounds b) {
  v = v < b.lo ? b.lo : v;
  return v > b.hi ? b.hi : v;
}
ENGINE_HD inline float clip_gradient(float dy, float x, ClipBounds b) {
  return x >= b.lo && x <= b.hi ? dy : 0.0f;
}

class OnnxImportContext;
// Opsets < 11: the min and max attributes become constant inputs (clip_onnx.cpp).
void translate_clip_onnx(Node& node, OnnxImportContext& ctx);

}  // namespace engine
