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
  window_rank(what, x);
}

Shape output_shape(const Tensor& x, const Window2d& g) {
  Shape y = {x.dim(0), x.dim(1)};
  for (int64_t d : window_out_dims(g)) y.push_back(d);
  return y;
}

// A 3-D window pools as two 2-D passes: the plane pass over each depth slice's H x W (the
// window's height and width) into [N*C*D, OH, OW], then the depth pass over [N*C, D, OH*OW]
// with a [KD, 1] window. Max and average both separate exactly: a 3-D window is the product
// of its axes' taps, the maximum of maxima keeps the first maximum in (depth, height, width)
// scan order (and the first NaN), and an average's count is the product of the axes' counts
// (with count_include_pad too). The 2-D kernels, fast paths included, thus serve 3-D.
struct Separable {
  Window2d plane, depth;
};

Separable separate(const Window2d& g) {
  Separable s;
  s.plane = g;
  s.plane.rank = 2;
  s.plane.D = s.plane.KD = s.plane.SD = s.plane.DD = s.plane.OD = 1;
  s.plane.PF = s.plane.PK = 0;
  Window2d& d = s.depth;
  d.H = g.D;
  d.W = g.OH * g.OW;
  d.KH = g.KD;
  d.KW = 1;
  d.SH = g.SD;
  d.DH = g.DD;
  d.PT = g.PF;
  d.PB = g.PK;
  d.OH = g.OD;
  d.OW = d.W;
  return s;
}

// `given` when there is one (checked), else a fresh buffer of the plane pass's output.
Tensor pass_buffer(const Tensor& x, const Window2d& g, Tensor* given, const char* what) {
  const Shape shape = pool_pass_shape(x, g);
  if (!given || !given->defined()) return Tensor::empty(shape, DType::Float32, x.device());
  check_shape(*given, shape, what);
  return *given;
}

}  // namespace

Shape pool_pass_shape(const Tensor& x, const Window2d& g) {
  if (g.rank != 3) return {};
  return {x.dim(0) * x.dim(1) * g.D, g.OH, g.OW};
}

Window2d pool2d_geometry(PoolKind kind, const Tensor& x, const PoolAttrs& attrs) {
  const char* op = pool_op_name(kind);
  check_input(x, str(op, ": x"));
  const auto& k = attrs.window.kernel_shape;
  ENGINE_CHECK(!k.empty(), op, ": kernel_shape is required");
  const size_t rank = x.ndim() - 2;
  ENGINE_CHECK(k.size() == rank, op, ": kernel_shape must have ", rank, " values for a ", rank,
               "-D input, got ", shape_str(k));
  const Shape in(x.shape().begin() + 2, x.shape().end());
  const Window2d g = resolve_window(op, in, k, attrs.window);
  if (attrs.window.auto_pad == AutoPad::NotSet) check_pool_pads(op, g);
  return g;
}

Shape pool2d_output_shape(PoolKind kind, const Tensor& x, const PoolAttrs& attrs) {
  return output_shape(x, pool2d_geometry(kind, x, attrs));
}

void pool2d_forward(PoolKind kind, const Tensor& x, const PoolAttrs& attrs, Tensor& y,
                    Tensor* pass) {
  const Window2d g = pool2d_geometry(kind, x, attrs);
  check_shape(y, output_shape(x, g), str(pool_op_name(kind), ": y"));
  const PoolKernels& k = pool_kernels().get(x.device());
  const int64_t planes = x.dim(0) * x.dim(1);
  if (g.rank == 2) {
    k.forward(kind, g, attrs.count_include_pad, planes, x.data<float>(), y.data<float>());
    return;
  }
  const Separable s = separate(g);
  Tensor t = pass_buffer(x, g, pass, "pooling pass buffer");
  k.forward(kind, s.plane, attrs.count_include_pad, planes * g.D, x.data<float>(), t.data<float>());
  k.forward(kind, s.depth, attrs.count_include_pad, planes, t.data<float>(), y.data<float>());
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
  ENGINE_CHECK(indices.shape() == output_shape(x, g), "MaxPool: Indices ", indices.describe(),
               " does not match y");
  max_pool_indices_kernels()
      .get(x.device())
      .indices(g, column_major, x.dim(0) * x.dim(1), x.data<float>(), indices.data<int64_t>());
}

void pool2d_backward(PoolKind kind, const Tensor& dy, const Tensor& x, const PoolAttrs& attrs,
                     Tensor& dx, Tensor* pass, Tensor* dpass) {
  const std::string name = str(pool_op_name(kind), "_backward");
  check_input(x, name + ": x");
  const Window2d g = pool2d_geometry(kind, x, attrs);
  check_shape(dy, output_shape(x, g), name + ": dy");
  check_shape(dx, x.shape(), name + ": dx");
  const PoolKernels& k = pool_kernels().get(x.device());
  const int64_t planes = x.dim(0) * x.dim(1);
  const bool cip = attrs.count_include_pad;
  if (g.rank == 2) {
    k.backward(kind, g, cip, planes, x.data<float>(), dy.data<float>(), dx.data<float>());
    return;
  }
  // The chain rule through the two passes (see separate()); the depth pass's backward reads
  // the plane pass's output (max: where the maximum is).
  const Separable s = separate(g);
  Tensor t = pass_buffer(x, g, pass, "pooling pass buffer");
  Tensor dt = pass_buffer(x, g, dpass, "pooling pass gradient buffer");
  k.forward(kind, s.plane, cip, planes * g.D, x.data<float>(), t.data<float>());
  k.backward(kind, s.depth, cip, planes, t.data<float>(), dy.data<float>(), dt.data<float>());
  k.backward(kind, s.plane, cip, planes * g.D, x.data<float>(), dt.data<float>(), dx.data<float>());
}

// GlobalAveragePool is an AveragePool whose window is the whole plane.
namespace {
// A 5-D x [N, C, D, H, W] is pooled as the planes [D*H, W]: the same sum over the same
// elements.
Window2d global_geometry(const Tensor& x, const std::string& op) {
  check_input(x, op + ": x");
  const int64_t H = x.ndim() == 5 ? x.dim(2) * x.dim(3) : x.dim(2), W = x.dim(x.ndim() - 1);
  Window2dAttrs whole;
  whole.kernel_shape = {H, W};
  return resolve_window2d(op.c_str(), H, W, H, W, whole);
}

Shape global_output_shape(const Tensor& x) {
  Shape y(x.shape().size(), 1);
  y[0] = x.dim(0);
  y[1] = x.dim(1);
  return y;
}
}  // namespace

void global_avg_pool2d_forward(const Tensor& x, Tensor& y) {
  const Window2d g = global_geometry(x, "GlobalAveragePool");
  check_shape(y, global_output_shape(x), "GlobalAveragePool: y");
  pool_kernels().get(x.device()).forward(PoolKind::Average, g, false, x.dim(0) * x.dim(1),
                                         x.data<float>(), y.data<float>());
}

void global_avg_pool2d_backward(const Tensor& dy, const Tensor& x, Tensor& dx) {
  const Window2d g = global_geometry(x, "GlobalAveragePool_backward");
  check_shape(dy, global_output_shape(x), "GlobalAveragePool_backward: dy");
  check_shape(dx, x.shape(), "GlobalAveragePool_backward: dx");
  pool_kernels().get(x.device()).backward(PoolKind::Average, g, false, x.dim(0) * x.dim(1),
                                          x.data<float>(), dy.data<float>(), dx.data<float>());
}

}  // namespace engine
