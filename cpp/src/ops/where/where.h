// ONNX Where: out = cond ? x : y elementwise, the three broadcast together (numpy rules).
//   cond [C...] bool, x [X...], y [Y...] of one dtype (float32 or int64) -> out [O...].
//   Backward (float32): dx = the sum over the axes x was broadcast along of dout where cond,
//   dy likewise where not cond; both OVERWRITE, either may be null. cond has no gradient.
#pragma once

#include <cstdint>

#include "engine/tensor.h"
#include "ops/broadcast_loop.h"

namespace engine {

Shape where_output_shape(const char* op, const Shape& cond, const Shape& x, const Shape& y);
void where_forward(const Tensor& cond, const Tensor& x, const Tensor& y, Tensor& out);
void where_backward(const Tensor& dout, const Tensor& cond, const Tensor& x, const Tensor& y,
                    Tensor* dx, Tensor* dy);

// select: out[i] = cond ? x : y over elements of `elem` bytes (4 or 8). split: the output
// gradient g routed by cond into gx (where cond) and gy (where not), both of g's shape.
struct WhereKernels {
  void (*select)(const BroadcastAxes<3>& ax, int64_t n, size_t elem, const bool* cond,
                 const void* x, const void* y, void* out);
  void (*split)(const BroadcastAxes<1>& ax, int64_t n, const bool* cond, const float* g,
                float* gx, float* gy);
};
WhereKernels where_ref_kernels();
WhereKernels where_cpu_kernels();

}  // namespace engine
