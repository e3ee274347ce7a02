// ONNX TopK: the k largest (largest=1, the default) or smallest elements of x along `axis`
// (negative counts from the end) and their int64 indices along it. k is a 1-element int64
// input known when the graph is planned, 0 <= k <= the axis' size. The results come best
// first whatever `sorted` says (ONNX leaves their order free with sorted=0); equal values come
// lower index first, as onnxruntime orders them; NaN counts as larger than any number.
//   x [D...] float32 or int64 (other types compute in them at import)
//   -> values [D... with k along axis], x's type; indices int64 of the same shape.
//   Backward (float32): dx = zeros, dvalues written at the indices. dx OVERWRITTEN.
//
// Kernels see x as [outer, n, inner] and the results as [outer, k, inner].
#pragma once

#include <cstdint>

#include "engine/ir.h"
#include "engine/tensor.h"

namespace engine {

struct TopKAttrs {
  int64_t axis = -1, k = 0;
  bool largest = true;
};

struct TopKLayout {
  int64_t outer = 1, n = 1, inner = 1, k = 0;
  bool largest = true;
};

Shape top_k_output_shape(const Shape& x, const TopKAttrs& attrs, const char* op);
void top_k_forward(const Tensor& x, const TopKAttrs& attrs, Tensor& values, Tensor& indices);
void top_k_backward(const Tensor& dvalues, const Tensor& indices, const TopKAttrs& attrs,
                    Tensor& dx);

class OnnxImportContext;
// TopK-1's attribute k as the input of later opsets.
void translate_top_k_onnx(Node& node, OnnxImportContext& ctx);

struct TopKKernels {
  void (*f32)(const TopKLayout& l, const float* x, float* values, int64_t* indices);
  void (*i64)(const TopKLayout& l, const int64_t* x, int64_t* values, int64_t* indices);
  // dx[o, indices[o, r, i], i] = dvalues[o, r, i]; dx is zeroed by the caller.
  void (*backward)(const TopKLayout& l, const float* dvalues, const int64_t* indices, float* dx);
};
TopKKernels top_k_ref_kernels();
TopKKernels top_k_cpu_kernels();

}  // namespace engine
