// Comparisons and boolean logic (ONNX Equal, Less, Greater, LessOrEqual, GreaterOrEqual,
// And, Or, Xor with numpy broadcasting; Not). The output is bool; no gradient flows.
//   a [A...], b [B...] -> y [Y...] bool, Y the broadcast of A and B. The comparisons take
//   two float32 or two int64 inputs (Equal also two bool; NaN compares false, != itself);
//   And, Or, Xor and Not take bool.
#pragma once

#include <cstdint>
#include <string>

#include "engine/tensor.h"
#include "ops/broadcast_loop.h"

namespace engine {

enum class LogicOp {
#define ENGINE_LOGIC(Name, onnx, bool_only) Name,
#include "ops/logic/logic_ops.inc"
#undef ENGINE_LOGIC
};

LogicOp logic_op_from_name(const std::string& onnx_name);  // "Less" -> Less
const char* logic_op_name(LogicOp op);
bool logic_op_on_bool_only(LogicOp op);
// Throws a Type error naming `op` unless a and b have dtypes the op takes.
void check_logic_dtypes(const char* op, LogicOp kind, DType a, DType b);

void logic_forward(LogicOp op, const Tensor& a, const Tensor& b, Tensor& y);
void not_forward(const Tensor& x, Tensor& y);

// Kernels over contiguous buffers of `dtype` (a, b) and bool (y); ax maps y onto a and b.
struct LogicKernels {
  void (*compare)(LogicOp op, DType dtype, const BroadcastAxes<2>& ax, int64_t n, const void* a,
                  const void* b, bool* y);
  void (*negate)(int64_t n, const bool* x, bool* y);
};
LogicKernels logic_ref_kernels();
LogicKernels logic_cpu_kernels();

}  // namespace engine
