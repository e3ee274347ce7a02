#include "ops/cumsum/cumsum.h"

#include <string>

#include "core/kernel_table.h"
#include "ops/common.h"
#include "ops/cumsum/cumsum_kernels.h"

namespace engine {

const KernelTable<CumSumKernels>& cumsum_kernels() {
  static const KernelTable<CumSumKernels> table("CumSum", cumsum_ref_kernels(),
                                                cumsum_cpu_kernels(),
                                                cumsum_kernels_for<GridLoop<HostGrid>>());
  return table;
}

namespace {
void check_pair(const Tensor& in, const Tensor& out, const char* op, const char* in_name,
                const char* out_name) {
  ENGINE_CHECK(in.defined(), op, ": ", in_name, " is missing");
  ENGINE_CHECK(out.defined(), op, ": ", out_name, " is missing");
  check_contiguous(in, str(op, ": ", in_name).c_str());
  check_contiguous(out, str(op, ": ", out_name).c_str());
  ENGINE_CHECK_TYPE(in.dtype() == DType::Float32 || in.dtype() == DType::Int64, op, ": ", in_name,
                    " must be float32 or int64, got ", dtype_name(in.dtype()));
  ENGINE_CHECK_TYPE(out.dtype() == in.dtype(), op, ": ", out_name, " is ", dtype_name(out.dtype()),
                    " but ", in_name, " is ", dtype_name(in.dtype()));
  ENGINE_CHECK(out.shape() == in.shape(), op, ": ", out_name, " ", out.describe(),
               " does not match ", in_name, " ", in.describe());
}

CumSumLayout layout(const Shape& x, const CumSumAttrs& attrs, bool reverse, const char* op) {
  ENGINE_CHECK(!x.empty(), op, ": x must have rank >= 1, got a scalar");
  const int axis = normalize_axis(attrs.axis, static_cast<int>(x.size()), op);
  CumSumLayout l;
  for (int d = 0; d < static_cast<int>(x.size()); ++d)
    (d < axis ? l.outer : d > axis ? l.inner : l.n) *= x[d];
  l.exclusive = attrs.exclusive;
  l.reverse = reverse;
  return l;
}

// A running sum (CumSum's forward and backward) or product (CumProd's forward).
void run(const Tensor& x, const CumSumAttrs& attrs, bool reverse, Tensor& y, const char* op) {
  check_pair(x, y, op, "x", "y");
  const CumSumLayout l = layout(x.shape(), attrs, reverse, op);
  if (x.numel() == 0) return;
  const CumSumKernels& k = cumsum_kernels().get(x.device());
  if (x.dtype() == DType::Float32)
    (attrs.product ? k.f32.product : k.f32.sum)(l, x.data<float>(), y.data<float>());
  else
    (attrs.product ? k.i64.product : k.i64.sum)(l, x.data<int64_t>(), y.data<int64_t>());
}
}  // namespace

void cumsum_forward(const Tensor& x, const CumSumAttrs& attrs, Tensor& y) {
  run(x, attrs, attrs.reverse, y, attrs.product ? "CumProd" : "CumSum");
}

void cumsum_backward(const Tensor& dy, const Tensor& x, const CumSumAttrs& attrs, Tensor& dx) {
  const char* op = attrs.product ? "CumProd_backward" : "CumSum_backward";
  check_dense_float(dx, str(op, ": dx").c_str());
  if (!attrs.product) {
    // y[i] sums the x[j] before i (after, reversed): x[j] reaches every y[i] after it, so dx[j]
    // sums dy over those i, the running sum taken the other way.
    run(dy, attrs, !attrs.reverse, dx, op);
    return;
  }
  check_pair(dy, dx, op, "dy", "dx");
  check_pair(x, dx, op, "x", "dx");
  const CumSumLayout l = layout(x.shape(), attrs, attrs.reverse, op);
  if (x.numel() == 0) return;
  cumsum_kernels()
      .get(x.device())
      .product_backward(l, x.data<float>(), dy.data<float>(), dx.data<float>());
}

}  // namespace engine
