#include "ops/top_k/top_k.h"

#include <string>

#include "core/kernel_table.h"
#include "ops/common.h"
#include "ops/op.h"
#include "ops/top_k/top_k_kernels.h"

namespace engine {

const KernelTable<TopKKernels>& top_k_kernels() {
  static const KernelTable<TopKKernels> table("TopK", top_k_ref_kernels(), top_k_cpu_kernels(),
                                              top_k_rank_kernels<GridLoop<HostGrid>>());
  return table;
}

namespace {
TopKLayout layout(const Shape& x, const TopKAttrs& attrs, const char* op) {
  ENGINE_CHECK(!x.empty(), op, ": x must have rank >= 1, got a scalar");
  const int axis = normalize_axis(attrs.axis, static_cast<int>(x.size()), op);
  TopKLayout l;
  for (int d = 0; d < static_cast<int>(x.size()); ++d)
    (d < axis ? l.outer : d > axis ? l.inner : l.n) *= x[d];
  ENGINE_CHECK(attrs.k >= 0 && attrs.k <= l.n, op, ": k ", attrs.k, " must be in [0, ", l.n,
               "], the size of axis ", axis, " of x ", shape_str(x));
  l.k = attrs.k;
  l.largest = attrs.largest;
  return l;
}

void check_tensor(const Tensor& t, const char* op, const char* what) {
  ENGINE_CHECK(t.defined(), op, ": ", what, " is missing");
  check_contiguous(t, str(op, ": ", what).c_str());
}
}  // namespace

Shape top_k_output_shape(const Shape& x, const TopKAttrs& attrs, const char* op) {
  layout(x, attrs, op);
  Shape out = x;
  out[normalize_axis(attrs.axis, static_cast<int>(x.size()), op)] = attrs.k;
  return out;
}

void top_k_forward(const Tensor& x, const TopKAttrs& attrs, Tensor& values, Tensor& indices) {
  const char* op = "TopK";
  check_tensor(x, op, "x");
  check_tensor(values, op, "values");
  check_tensor(indices, op, "indices");
  ENGINE_CHECK_TYPE(x.dtype() == DType::Float32 || x.dtype() == DType::Int64, op,
                    ": x must be float32 or int64, got ", dtype_name(x.dtype()));
  const TopKLayout l = layout(x.shape(), attrs, op);
  const Shape out = top_k_output_shape(x.shape(), attrs, op);
  ENGINE_CHECK_TYPE(values.dtype() == x.dtype() && indices.dtype() == DType::Int64, op,
                    ": values must have x's type and indices int64, got ",
                    dtype_name(values.dtype()), " and ", dtype_name(indices.dtype()));
  ENGINE_CHECK(values.shape() == out && indices.shape() == out, op, ": values ", values.describe(),
               " and indices ", indices.describe(), " must have the shape ", shape_str(out));
  if (values.numel() == 0) return;
  const TopKKernels& k = top_k_kernels().get(x.device());
  if (x.dtype() == DType::Float32)
    k.f32(l, x.data<float>(), values.data<float>(), indices.data<int64_t>());
  else
    k.i64(l, x.data<int64_t>(), values.data<int64_t>(), indices.data<int64_t>());
}

void top_k_backward(const Tensor& dvalues, const Tensor& indices, const TopKAttrs& attrs,
                    Tensor& dx) {
  const char* op = "TopK_backward";
  check_tensor(dx, op, "dx");
  check_dense_float(dx, "TopK_backward: dx");
  const TopKLayout l = layout(dx.shape(), attrs, op);
  const Shape out = top_k_output_shape(dx.shape(), attrs, op);
  check_shape(dvalues, out, "TopK_backward: dvalues");
  check_tensor(indices, op, "indices");
  ENGINE_CHECK_TYPE(indices.dtype() == DType::Int64, op, ": indices must be int64, got ",
                    dtype_name(indices.dtype()));
  ENGINE_CHECK(indices.shape() == out, op, ": indices ", indices.describe(),
               " must have the shape ", shape_str(out));
  zero_fill(dx);
  if (dvalues.numel() == 0) return;
  top_k_kernels()
      .get(dx.device())
      .backward(l, dvalues.data<float>(), indices.data<int64_t>(), dx.data<float>());
}

}  // namespace engine
