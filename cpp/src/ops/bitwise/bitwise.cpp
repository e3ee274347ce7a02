#include "ops/bitwise/bitwise.h"

#include "core/kernel_table.h"
#include "ops/binary/binary.h"
#include "ops/bitwise/bitwise_kernels.h"

namespace engine {

const KernelTable<BitwiseKernels>& bitwise_kernels() {
  static const KernelTable<BitwiseKernels> table("bitwise", bitwise_ref_kernels(),
                                                 bitwise_cpu_kernels(),
                                                 bitwise_kernels_for<GridLoop<HostGrid>>());
  return table;
}

BitwiseOp bitwise_op_of(const std::string& op_type, const std::string& direction) {
  if (op_type == "BitShift") {
    if (direction == "LEFT") return BitwiseOp::ShiftLeft;
    if (direction == "RIGHT") return BitwiseOp::ShiftRight;
    fail(ErrorKind::Value, "BitShift: direction must be 'LEFT' or 'RIGHT', got '", direction, "'");
  }
  if (op_type == "BitwiseAnd") return BitwiseOp::And;
  if (op_type == "BitwiseOr") return BitwiseOp::Or;
  if (op_type == "BitwiseXor") return BitwiseOp::Xor;
  if (op_type == "BitwiseNot") return BitwiseOp::Not;
  fail(ErrorKind::Value, "unknown bitwise op '", op_type, "'");
}

void bitwise_forward(BitwiseOp op, const Tensor& x, const Tensor& y, Tensor& z) {
  const bool unary = op == BitwiseOp::Not;
  const char* name = op == BitwiseOp::ShiftLeft || op == BitwiseOp::ShiftRight ? "BitShift"
                     : op == BitwiseOp::And                                    ? "BitwiseAnd"
                     : op == BitwiseOp::Or                                     ? "BitwiseOr"
                     : op == BitwiseOp::Xor                                    ? "BitwiseXor"
                                                                               : "BitwiseNot";
  ENGINE_CHECK(x.defined() && (unary || y.defined()), name, ": x", unary ? "" : " and y",
               unary ? " is" : " are", " required");
  auto check = [&](const Tensor& t, const char* what) {
    ENGINE_CHECK_TYPE(t.dtype() == DType::Int64, name, ": ", what, " must be int64, got ",
                      dtype_name(t.dtype()));
    check_contiguous(t, (std::string(name) + ": " + what).c_str());
  };
  check(x, "x");
  const Tensor& other = unary ? x : y;  // (Not reads x twice and ignores the second)
  check(other, "y");
  check(z, "z");
  const Shape shape = broadcast_shapes(name, x.shape(), other.shape());
  ENGINE_CHECK(z.shape() == shape, name, ": z ", z.describe(),
               " does not match the expected shape ", shape_str(shape));
  const auto ax = broadcast_axes<2>(name, shape, {x.shape(), other.shape()});
  bitwise_kernels()
      .get(x.device())
      .run(op, ax, shape_numel(shape), x.data<int64_t>(), other.data<int64_t>(), z.data<int64_t>());
}

}  // namespace engine
