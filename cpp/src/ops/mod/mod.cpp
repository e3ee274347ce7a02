#include "ops/mod/mod.h"

#include <string>

#include "core/kernel_table.h"
#include "ops/binary/binary.h"
#include "ops/common.h"
#include "ops/mod/mod_kernels.h"

namespace engine {

const KernelTable<ModKernels>& mod_kernels() {
  static const KernelTable<ModKernels> table("Mod", mod_ref_kernels(), mod_cpu_kernels(),
                                             mod_kernels_for<GridLoop<HostGrid>>());
  return table;
}

namespace {
// The output shape; a and b checked (one dtype, float32 or int64, contiguous).
Shape checked_shape(const char* op, const Tensor& a, const Tensor& b) {
  ENGINE_CHECK(a.defined() && b.defined(), op, ": a and b are required");
  ENGINE_CHECK_TYPE(a.dtype() == DType::Float32 || a.dtype() == DType::Int64, op,
                    ": a must be float32 or int64, got ", dtype_name(a.dtype()));
  ENGINE_CHECK_TYPE(b.dtype() == a.dtype(), op, ": b is ", dtype_name(b.dtype()), " but a is ",
                    dtype_name(a.dtype()));
  check_contiguous(a, (std::string(op) + ": a").c_str());
  check_contiguous(b, (std::string(op) + ": b").c_str());
  return broadcast_shapes(op, a.shape(), b.shape());
}
}  // namespace

void mod_forward(const Tensor& a, const Tensor& b, bool c_fmod, Tensor& y) {
  const Shape shape = checked_shape("Mod", a, b);
  check_shape(y, a.dtype(), shape, "Mod: y");
  const auto ax = broadcast_axes<2>("Mod", shape, {a.shape(), b.shape()});
  const ModKernels& k = mod_kernels().get(a.device());
  if (a.dtype() == DType::Float32)
    k.forward_float(c_fmod, ax, shape_numel(shape), a.data<float>(), b.data<float>(),
                    y.data<float>());
  else
    k.forward_int64(c_fmod, ax, shape_numel(shape), a.data<int64_t>(), b.data<int64_t>(),
                    y.data<int64_t>());
}

void mod_backward(const Tensor& dy, const Tensor& a, const Tensor& b, bool c_fmod, Tensor* da,
                  Tensor* db) {
  const char* op = "Mod_backward";
  const Shape shape = checked_shape(op, a, b);
  ENGINE_CHECK_TYPE(a.dtype() == DType::Float32, op, ": int64 a and b have no gradient");
  check_shape(dy, DType::Float32, shape, std::string(op) + ": dy");
  if (da && !da->defined()) da = nullptr;
  if (db && !db->defined()) db = nullptr;
  if (da) check_shape(*da, DType::Float32, a.shape(), std::string(op) + ": da");
  if (db) check_shape(*db, DType::Float32, b.shape(), std::string(op) + ": db");
  // da = dy, summed where a was broadcast: Add's gradient of its first input.
  if (da) binary_backward(BinaryOp::Add, dy, a, b, da, nullptr);
  if (!db) return;
  // -q dy in y's shape, straight into db where that is its shape too; else into a buffer
  // that Add's gradient sums to b's shape.
  Tensor g = db->shape() == shape ? *db : Tensor::empty(shape, DType::Float32, a.device());
  const auto ax = broadcast_axes<2>(op, shape, {a.shape(), b.shape()});
  mod_kernels()
      .get(a.device())
      .divisor_gradient(c_fmod, ax, shape_numel(shape), a.data<float>(), b.data<float>(),
                        dy.data<float>(), g.data<float>());
  if (g.raw_data() != db->raw_data()) binary_backward(BinaryOp::Add, g, b, g, db, nullptr);
}

}  // namespace engine
