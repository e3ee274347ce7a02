#include "ops/logic/logic.h"

#include "core/kernel_table.h"
#include "ops/binary/binary.h"
#include "ops/logic/logic_kernels.h"

namespace engine {

LogicOp logic_op_from_name(const std::string& onnx_name) {
#define ENGINE_LOGIC(Name, onnx, bool_only) \
  if (onnx_name == onnx) return LogicOp::Name;
#include "ops/logic/logic_ops.inc"
#undef ENGINE_LOGIC
  fail(ErrorKind::Value, "unknown logic op '", onnx_name, "'");
}

const char* logic_op_name(LogicOp op) {
  switch (op) {
#define ENGINE_LOGIC(Name, onnx, bool_only) \
  case LogicOp::Name: return onnx;
#include "ops/logic/logic_ops.inc"
#undef ENGINE_LOGIC
  }
  return "unknown";
}

bool logic_op_on_bool_only(LogicOp op) {
  switch (op) {
#define ENGINE_LOGIC(Name, onnx, bool_only) \
  case LogicOp::Name: return bool_only;
#include "ops/logic/logic_ops.inc"
#undef ENGINE_LOGIC
  }
  return false;
}

void check_logic_dtypes(const char* op, LogicOp kind, DType a, DType b) {
  if (logic_op_on_bool_only(kind)) {
    ENGINE_CHECK_TYPE(a == DType::Bool && b == DType::Bool, op, ": a and b must be bool, got ",
                      dtype_name(a), " and ", dtype_name(b));
    return;
  }
  const bool bool_ok = kind == LogicOp::Equal;
  ENGINE_CHECK_TYPE(a == DType::Float32 || a == DType::Int64 || (bool_ok && a == DType::Bool), op,
                    ": a must be float32 or int64", bool_ok ? " or bool" : "", ", got ",
                    dtype_name(a));
  ENGINE_CHECK_TYPE(a == b, op, ": b is ", dtype_name(b), " but a is ", dtype_name(a));
}

const KernelTable<LogicKernels>& logic_kernels() {
  static const KernelTable<LogicKernels> table("logic", logic_ref_kernels(), logic_cpu_kernels(),
                                               logic_kernels_for<GridLoop<HostGrid>>());
  return table;
}

namespace {
void check_output(const Tensor& y, const Shape& shape, const std::string& what) {
  check_contiguous(y, what.c_str());
  ENGINE_CHECK_TYPE(y.dtype() == DType::Bool, what, " must be bool, got ", dtype_name(y.dtype()));
  ENGINE_CHECK(y.shape() == shape, what, " ", y.describe(), " does not match the expected shape ",
               shape_str(shape));
}
}  // namespace

void logic_forward(LogicOp op, const Tensor& a, const Tensor& b, Tensor& y) {
  const std::string name = logic_op_name(op);
  ENGINE_CHECK(a.defined() && b.defined(), name, ": a and b are required");
  check_logic_dtypes(name.c_str(), op, a.dtype(), b.dtype());
  check_contiguous(a, (name + ": a").c_str());
  check_contiguous(b, (name + ": b").c_str());
  const Shape shape = broadcast_shapes(name.c_str(), a.shape(), b.shape());
  check_output(y, shape, name + ": y");
  const auto ax = broadcast_axes<2>(name.c_str(), shape, {a.shape(), b.shape()});
  logic_kernels().get(a.device()).compare(op, a.dtype(), ax, shape_numel(shape), a.raw_data(),
                                          b.raw_data(), y.data<bool>());
}

void not_forward(const Tensor& x, Tensor& y) {
  ENGINE_CHECK(x.defined(), "Not: x is required");
  ENGINE_CHECK_TYPE(x.dtype() == DType::Bool, "Not: x must be bool, got ", dtype_name(x.dtype()));
  check_contiguous(x, "Not: x");
  check_output(y, x.shape(), "Not: y");
  logic_kernels().get(x.device()).negate(x.numel(), x.data<bool>(), y.data<bool>());
}

}  // namespace engine
