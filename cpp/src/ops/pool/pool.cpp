#include "ops/pool/pool.h"

#include "core/kernel_table.h"
#include "ops/common.h"
#include "ops/pool/pool_cuda.h"
#include "ops/pool/pool_indices_kernels.h"

namespace engine {

const char* pool_op_name(PoolKind kind) {
  return kind == PoolKind::Max ? "MaxPool" : "AveragePool";
}

const KernelTable<PoolKernels>& pool_kernels() {
  static const KernelTable<PoolKernels> table("pooling", {pool2d_forward_ref, pool2d_backward_ref},
                                              {pool2d_forward_cpu, pool2d_backward_cpu},
                                              pool_cuda_kernels<HostGrid>());
  return table;
}

namespace {

void check_input(const Tensor& x, const std::string& what) {
  check_dense_float(x, what.c_str());
  ENGINE_CHECK(x.ndim() == 4, what, " must be 4-D [N, C, H, W], got ", x.describe());
}

}  // namespace

Window2d pool2d_geometry(PoolKind kind, const Tensor& x, const PoolAttrs& attrs) {
  const char* op = pool_op_name(kind);
  check_input(x, str(op, ": x"));
  const auto& k = attrs.window.kernel_shape;
  ENGINE_CHECK(!k.empty(), op, ": kernel_shape is required");
  ENGINE_CHECK(k.size() == 2, op, ": kernel_shape must have 2 values for a 2-D input, got ",
               shape_str(k));
  const Window2d g = resolve_window2d(op, x.dim(2), x.dim(3), k[0], k[1], attrs.window);
  if (attrs.window.auto_pad == AutoPad::NotSet) check_pool_pads(op, g);
  return g;
}

Shape pool2d_output_shape(PoolKind kind, const Tensor& x, const PoolAttrs& attrs) {
  const Window2d g = pool2d_geometry(kind, x, attrs);
  return {x.dim(0), x.dim(1), g.OH, g.OW};
}

void pool2d_forward(PoolKind kind, const Tensor& x, const PoolAttrs& attrs, Tensor& y) {
  const Window2d g = pool2d_geometry(kind, x, attrs);
  check_shape(y, {x.dim(0), x.dim(1), g.OH, g.OW}, str(pool_op_name(kind), ": y"));
  pool_kernels().get(x.device()).forward(kind, g, attrs.count_include_pad, x.dim(0) * x.dim(1),
                                         x.data<float>(), y.data<float>());
}

const KernelTable<MaxPoolIndicesKernels>& max_pool_indices_kernels() {
  static const KernelTable<MaxPoolIndicesKernels> table(
      "MaxPool indices", max_pool_indices_kernels_for<SerialLoop>(),
      max_pool_indices_kernels_for<ThreadedLoop>(),
      max_pool_indices_kernels_for<GridLoop<HostGrid>>());
  return table;
}

void max_pool2d_indices(const Tensor& x, const PoolAttrs& attrs, bool column_major,
                        Tensor& indices) {
  const Window2d g = pool2d_geometry(PoolKind::Max, x, attrs);
  check_contiguous(indices, "MaxPool: Indices");
  ENGINE_CHECK_TYPE(indices.dtype() == DType::Int64, "MaxPool: Indices must be int64, got ",
                    dtype_name(indices.dtype()));
  ENGINE_CHECK(indices.shape() == Shape({x.dim(0), x.dim(1), g.OH, g.OW}), "MaxPool: Indices ",
               indices.describe(), " does not match y");
  max_pool_indices_kernels()
      .get(x.device())
      .indices(g, column_major, x.dim(0) * x.dim(1), x.data<float>(), indices.data<int64_t>());
}

void pool2d_backward(PoolKind kind, const Tensor& dy, const Tensor& x, const PoolAttrs& attrs,
                     Tensor& dx) {
  const std::string name = str(pool_op_name(kind), "_backward");
  check_input(x, name + ": x");
  const Window2d g = pool2d_geometry(kind, x, attrs);
  check_shape(dy, {x.dim(0), x.dim(1), g.OH, g.OW}, name + ": dy");
  check_shape(dx, x.shape(), name + ": dx");
  pool_kernels().get(x.device()).backward(kind, g, attrs.count_include_pad, x.dim(0) * x.dim(1),
                                          x.data<float>(), dy.data<float>(), dx.data<float>());
}

// GlobalAveragePool is an AveragePool whose window is the whole plane.
namespace {
Window2d global_geometry(const Tensor& x, const std::string& op) {
  check_input(x, op + ": x");
  Window2dAttrs whole;
  whole.kernel_shape = {x.dim(2), x.dim(3)};
  return resolve_window2d(op.c_str(), x.dim(2), x.dim(3), x.dim(2), x.dim(3), whole);
}
}  // namespace

void global_avg_pool2d_forward(const Tensor& x, Tensor& y) {
  const Window2d g = global_geometry(x, "GlobalAveragePool");
  check_shape(y, {x.dim(0), x.dim(1), 1, 1}, "GlobalAveragePool: y");
  pool_kernels().get(x.device()).forward(PoolKind::Average, g, false, x.dim(0) * x.dim(1),
                                         x.data<float>(), y.data<float>());
}

void global_avg_pool2d_backward(const Tensor& dy, const Tensor& x, Tensor& dx) {
  const Window2d g = global_geometry(x, "GlobalAveragePool_backward");
  check_shape(dy, {x.dim(0), x.dim(1), 1, 1}, "GlobalAveragePool_backward: dy");
  check_shape(dx, x.shape(), "GlobalAveragePool_backward: dx");
  pool_kernels().get(x.device()).backward(PoolKind::Average, g, false, x.dim(0) * x.dim(1),
                                          x.data<float>(), dy.data<float>(), dx.data<float>());
}

}  // namespace engine
