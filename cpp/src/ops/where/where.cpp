#include "ops/where/where.h"

#include "core/kernel_table.h"
#include "ops/binary/binary.h"
#include "ops/common.h"
#include "ops/where/where_kernels.h"

namespace engine {

const KernelTable<WhereKernels>& where_kernels() {
  static const KernelTable<WhereKernels> table("Where", where_ref_kernels(), where_cpu_kernels(),
                                               where_kernels_for<GridLoop<HostGrid>>());
  return table;
}

Shape where_output_shape(const char* op, const Shape& cond, const Shape& x, const Shape& y) {
  return broadcast_shapes(op, broadcast_shapes(op, cond, x), y);
}

namespace {
void check_inputs(const char* op, const Tensor& cond, const Tensor& x, const Tensor& y) {
  ENGINE_CHECK(cond.defined() && x.defined() && y.defined(), op,
               ": condition, x and y are required");
  ENGINE_CHECK_TYPE(cond.dtype() == DType::Bool, op, ": condition must be bool, got ",
                    dtype_name(cond.dtype()));
  ENGINE_CHECK_TYPE(x.dtype() == DType::Float32 || x.dtype() == DType::Int64, op,
                    ": x must be float32 or int64, got ", dtype_name(x.dtype()));
  ENGINE_CHECK_TYPE(y.dtype() == x.dtype(), op, ": y is ", dtype_name(y.dtype()), " but x is ",
                    dtype_name(x.dtype()));
  check_contiguous(cond, (std::string(op) + ": condition").c_str());
  check_contiguous(x, (std::string(op) + ": x").c_str());
  check_contiguous(y, (std::string(op) + ": y").c_str());
}
}  // namespace

void where_forward(const Tensor& cond, const Tensor& x, const Tensor& y, Tensor& out) {
  check_inputs("Where", cond, x, y);
  const Shape shape = where_output_shape("Where", cond.shape(), x.shape(), y.shape());
  check_shape(out, x.dtype(), shape, "Where: output");
  const auto ax = broadcast_axes<3>("Where", shape, {cond.shape(), x.shape(), y.shape()});
  where_kernels()
      .get(x.device())
      .select(ax, shape_numel(shape), dtype_size(x.dtype()), cond.data<bool>(), x.raw_data(),
              y.raw_data(), out.raw_data());
}

void where_backward(const Tensor& dout, const Tensor& cond, const Tensor& x, const Tensor& y,
                    Tensor* dx, Tensor* dy) {
  const char* op = "Where_backward";
  check_inputs(op, cond, x, y);
  ENGINE_CHECK_TYPE(x.dtype() == DType::Float32, op, ": int64 x and y have no gradient");
  const Shape shape = where_output_shape(op, cond.shape(), x.shape(), y.shape());
  check_shape(dout, DType::Float32, shape, std::string(op) + ": dout");
  if (dx && !dx->defined()) dx = nullptr;
  if (dy && !dy->defined()) dy = nullptr;
  if (dx) check_shape(*dx, DType::Float32, x.shape(), std::string(op) + ": dx");
  if (dy) check_shape(*dy, DType::Float32, y.shape(), std::string(op) + ": dy");
  if (!dx && !dy) return;
  // Routed in the output's shape, straight into dx or dy where that is theirs too; else into
  // a buffer that binary's broadcast gradient (Add: da = dy summed) reduces to their shape.
  auto routed = [&](Tensor* d) {
    return !d                    ? Tensor()
           : d->shape() == shape ? *d
                                 : Tensor::empty(shape, DType::Float32, x.device());
  };
  Tensor gx = routed(dx), gy = routed(dy);
  const auto ax = broadcast_axes<1>(op, shape, {cond.shape()});
  where_kernels()
      .get(x.device())
      .split(ax, shape_numel(shape), cond.data<bool>(), dout.data<float>(),
             dx ? gx.data<float>() : nullptr, dy ? gy.data<float>() : nullptr);
  if (dx && gx.raw_data() != dx->raw_data()) binary_backward(BinaryOp::Add, gx, x, gx, dx, nullptr);
  if (dy && gy.raw_data() != dy->raw_data()) binary_backward(BinaryOp::Add, gy, y, gy, dy, nullptr);
}

}  // namespace engine
