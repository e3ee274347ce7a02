// Elementwise binary ops with numpy broadcasting (ONNX Add, Sub, Mul, Div, Pow, and Max and
// Min of two inputs).
//   a [A...], b [B...] -> y [Y...], Y = the broadcast of A and B: shapes are aligned on
//   the right, and along each axis the sizes must be equal or one of them 1.
//   Backward: dy [Y...] -> da [A...], db [B...]; each is dy times the partial derivative,
//   summed over the axes its input was broadcast along. Both OVERWRITE; either may be
//   null (not needed, skipped). Pow: da = b a^(b-1), db = log(a) a^b (NaN for a < 0).
//   Max, Min: the gradient goes to the winning input, to a at a tie (and to the NaN one).
#pragma once

#include <string>

#include "engine/ir.h"
#include "engine/tensor.h"

namespace engine {

class OnnxImportContext;
// Opsets < 7: `broadcast` with `axis` aligns B with A from that axis (binary_onnx.cpp).
void translate_binary_onnx(Node& node, OnnxImportContext& ctx);

enum class BinaryOp {
#define ENGINE_BINARY(Name, onnx) Name,
#include "ops/binary/binary_ops.inc"
#undef ENGINE_BINARY
};

BinaryOp binary_op_from_name(const std::string& onnx_name);  // "Add" -> Add
const char* binary_op_name(BinaryOp op);

// The broadcast shape; the error names `op` and both shapes when they do not broadcast.
Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b);

// How the inputs map onto the output: for every output axis, each input's element stride
// (0 where that input is broadcast).
struct BinaryLayout {
  Shape shape;  // output
  Shape a_strides, b_strides;
  int64_t a_numel = 0, b_numel = 0;
};
BinaryLayout binary_layout(const char* op, const Shape& a, const Shape& b);

// Op level: validate, then run the selected kernel into caller-provided outputs.
void binary_forward(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& y);
void binary_backward(BinaryOp op, const Tensor& dy, const Tensor& a, const Tensor& b, Tensor* da,
                     Tensor* db);

// Kernels over contiguous buffers laid out as `l` describes. da/db may be null.
struct BinaryKernels {
  void (*forward)(BinaryOp op, const BinaryLayout& l, const float* a, const float* b, float* y);
  void (*backward)(BinaryOp op, const BinaryLayout& l, const float* dy, const float* a,
                   const float* b, float* da, float* db);
};
void binary_forward_cpu(BinaryOp op, const BinaryLayout& l, const float* a, const float* b,
                        float* y);
void binary_backward_cpu(BinaryOp op, const BinaryLayout& l, const float* dy, const float* a,
                         const float* b, float* da, float* db);
void binary_forward_ref(BinaryOp op, const BinaryLayout& l, const float* a, const float* b,
                        float* y);
void binary_backward_ref(BinaryOp op, const BinaryLayout& l, const float* dy, const float* a,
                         const float* b, float* da, float* db);

}  // namespace engine
