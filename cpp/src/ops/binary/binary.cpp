#include "ops/binary/binary.h"

#include <algorithm>

#include "core/kernel_table.h"
#include "ops/common.h"
#include "ops/binary/binary_cuda.h"

namespace engine {

BinaryOp binary_op_from_name(const std::string& onnx_name) {
#define ENGINE_BINARY(Name, onnx) \
  if (onnx_name == onnx) return BinaryOp::Name;
#include "ops/binary/binary_ops.inc"
#undef ENGINE_BINARY
  fail(ErrorKind::Value, "unknown binary op '", onnx_name, "'");
}

const char* binary_op_name(BinaryOp op) {
  switch (op) {
#define ENGINE_BINARY(Name, onnx) \
  case BinaryOp::Name: return onnx;
#include "ops/binary/binary_ops.inc"
#undef ENGINE_BINARY
  }
  return "unknown";
}

const KernelTable<BinaryKernels>& binary_kernels() {
  static const KernelTable<BinaryKernels> table("binary", {binary_forward_ref, binary_backward_ref},
                                                {binary_forward_cpu, binary_backward_cpu},
                                                binary_cuda_kernels<HostGrid>());
  return table;
}

Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b) {
  const size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (size_t i = 0; i < rank; ++i) {  // i counts axes from the right
    const int64_t da = i < a.size() ? a[a.size() - 1 - i] : 1;
    const int64_t db = i < b.size() ? b[b.size() - 1 - i] : 1;
    ENGINE_CHECK(da == db || da == 1 || db == 1, op, ": shapes ", shape_str(a), " and ",
                 shape_str(b), " cannot be broadcast together (axis -", i + 1, ": ", da, " vs ",
                 db, ")");
    out[rank - 1 - i] = da == 1 ? db : da;
  }
  return out;
}

BinaryLayout binary_layout(const char* op, const Shape& a, const Shape& b) {
  BinaryLayout l;
  l.shape = broadcast_shapes(op, a, b);
  auto strides_over = [&](const Shape& in) {
    const size_t rank = l.shape.size(), lead = rank - in.size();
    const Shape dense = contiguous_strides(in);
    Shape s(rank, 0);
    for (size_t i = lead; i < rank; ++i) s[i] = in[i - lead] == 1 ? 0 : dense[i - lead];
    return s;
  };
  l.a_strides = strides_over(a);
  l.b_strides = strides_over(b);
  l.a_numel = shape_numel(a);
  l.b_numel = shape_numel(b);
  return l;
}

void binary_forward(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& y) {
  const std::string name = binary_op_name(op);
  check_dense_float(a, (name + ": a").c_str());
  check_dense_float(b, (name + ": b").c_str());
  const BinaryLayout l = binary_layout(name.c_str(), a.shape(), b.shape());
  check_shape(y, l.shape, name + ": y");
  binary_kernels().get(a.device()).forward(op, l, a.data<float>(), b.data<float>(),
                                           y.data<float>());
}

void binary_backward(BinaryOp op, const Tensor& dy, const Tensor& a, const Tensor& b, Tensor* da,
                     Tensor* db) {
  const std::string name = std::string(binary_op_name(op)) + "_backward";
  check_dense_float(a, (name + ": a").c_str());
  check_dense_float(b, (name + ": b").c_str());
  const BinaryLayout l = binary_layout(name.c_str(), a.shape(), b.shape());
  check_shape(dy, l.shape, name + ": dy");
  if (da && !da->defined()) da = nullptr;
  if (db && !db->defined()) db = nullptr;
  if (da) check_shape(*da, a.shape(), name + ": da");
  if (db) check_shape(*db, b.shape(), name + ": db");
  if (!da && !db) return;
  binary_kernels().get(a.device()).backward(op, l, dy.data<float>(), a.data<float>(),
                                            b.data<float>(), da ? da->data<float>() : nullptr,
                                            db ? db->data<float>() : nullptr);
}

}  // namespace engine
