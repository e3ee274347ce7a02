// Reductions over a set of axes (ONNX ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceProd,
// ReduceL2, ReduceSumSquare, ReduceLogSumExp, ReduceL1, ReduceLogSum; the opset 18 form: axes from an optional constant int64
// input, reduce_onnx.cpp reads and writes the older attribute form).
//   x [D...] (rank r) -> y: the listed axes (in [-r, r-1], no repeats) reduced, kept as
//   size 1 when keepdims (default 1), else removed. No axes: every axis, or none at all
//   with noop_with_empty_axes=1 (y = f of each element alone: x for Sum, Mean, Max, Min and
//   LogSumExp, x^2 for SumSquare, |x| for L2 and L1, log x for LogSum).
//   Over an empty set: Sum, SumSquare, L2, L1 give 0, Mean NaN, Max -inf, Min +inf, Prod 1,
//   LogSumExp and LogSum -inf.
//   Backward: dx = dy (broadcast back) times dy/dx: 1 (Sum), 1/n (Mean), 2x (SumSquare),
//   x / y (L2, 0 where y = 0), sign(x) (L1, 0 at 0), e^(x - y) (LogSumExp), e^-y (LogSum,
//   1 / the sum), the product of the other elements
//   (Prod, also where elements are 0). Max and Min give the whole gradient to
//   the first element (in row-major order of x) equal to the result, 0 to the others, tied
//   or not (as PyTorch's max along a dim and TensorFlow's arg-max; finite differences agree
//   away from ties). dx is OVERWRITTEN.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/hd.h"
#include "engine/ir.h"
#include "engine/tensor.h"

namespace engine {

class OnnxImportContext;
class OnnxExportContext;
// The axes attribute of older opsets becomes the input, and back (reduce_onnx.cpp).
void translate_reduce_onnx(Node& node, OnnxImportContext& ctx);
void reduce_to_opset(Node& node, OnnxExportContext& ctx);

enum class ReduceOp {
#define ENGINE_REDUCE(Name, onnx, since) Name,
#include "ops/reduce/reduce_ops.inc"
#undef ENGINE_REDUCE
};

ReduceOp reduce_op_from_name(const std::string& onnx_name);  // "ReduceSum" -> Sum
const char* reduce_op_name(ReduceOp op);
// The opset from which ONNX gives the op's axes as an input (13 for ReduceSum, else 18).
int64_t reduce_axes_input_since(ReduceOp op);

struct ReduceAttrs {
  std::vector<int64_t> axes;  // as given: possibly negative, possibly empty
  bool keepdims = true;
  bool noop_with_empty_axes = false;
};

constexpr int kReduceMaxAxes = 16;

// Some axes of x (merged where neighbours are alike) and their element strides in x.
struct ReduceAxes {
  int rank = 0;
  int64_t size[kReduceMaxAxes] = {};
  int64_t stride[kReduceMaxAxes] = {};

  // The offset in x of the idx-th (row-major) index combination over these axes.
  ENGINE_HD int64_t offset(int64_t idx) const {
    int64_t off = 0;
    for (int d = rank - 1; d >= 0; --d) {
      off += (idx % size[d]) * stride[d];
      idx /= size[d];
    }
    return off;
  }
};

// How x maps onto y: output k reduces the elements kept.offset(k) + reduced.offset(r),
// r in [0, count), r in row-major order of x.
struct ReduceLayout {
  ReduceAxes kept, reduced;
  int64_t outputs = 1, count = 1;
};

// Checks the axes against x's shape (the errors name `op`); returns y's shape and the layout.
Shape reduce_output_shape(const char* op, const Shape& x, const ReduceAttrs& attrs);
ReduceLayout reduce_layout(const char* op, const Shape& x, const ReduceAttrs& attrs);

// Op level: validate, then run the selected kernel into caller-provided outputs.
void reduce_forward(ReduceOp op, const Tensor& x, const ReduceAttrs& attrs, Tensor& y);
// `y` is the forward output; when undefined it is recomputed (Max, Min, L2, LogSumExp and
// LogSum read it).
void reduce_backward(ReduceOp op, const Tensor& dy, const Tensor& x, const Tensor& y,
                     const ReduceAttrs& attrs, Tensor& dx);
bool reduce_gradient_reads_output(ReduceOp op);

// Kernels over contiguous floats laid out as `l` says; y and dy have l.outputs elements.
struct ReduceKernels {
  void (*forward)(ReduceOp op, const ReduceLayout& l, const float* x, float* y);
  void (*backward)(ReduceOp op, const ReduceLayout& l, const float* x, const float* y,
                   const float* dy, float* dx);
};
void reduce_forward_cpu(ReduceOp op, const ReduceLayout& l, const float* x, float* y);
void reduce_backward_cpu(ReduceOp op, const ReduceLayout& l, const float* x, const float* y,
                         const float* dy, float* dx);
void reduce_forward_ref(ReduceOp op, const ReduceLayout& l, const float* x, float* y);
void reduce_backward_ref(ReduceOp op, const ReduceLayout& l, const float* x, const float* y,
                         const float* dy, float* dx);

}  // namespace engine
