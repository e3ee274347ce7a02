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
void run(const Tensor& x, const CumSumAttrs& attrs, bool reverse, Tensor& y, const char* op) {
  ENGINE_CHECK(x.defined() && y.defined(), op, ": an input or output is missing");
  check_contiguous(x, (std::string(op) + ": x").c_str());
  check_contiguous(y, (std::string(op) + ": y").c_str());
  ENGINE_CHECK_TYPE(x.dtype() == DType::Float32 || x.dtype() == DType::Int64, op,
                    ": x must be float32 or int64, got ", dtype_name(x.dtype()));
  ENGINE_CHECK_TYPE(y.dtype() == x.dtype(), op, ": y is ", dtype_name(y.dtype()), " but x is ",
                    dtype_name(x.dtype()));
  ENGINE_CHECK(y.shape() == x.shape(), op, ": y ", y.describe(), " does not match x ",
               x.describe());
  ENGINE_CHECK(x.ndim() >= 1, op, ": x must have rank >= 1, got a scalar");
  const int axis = normalize_axis(attrs.axis, x.ndim(), op);
  CumSumLayout l;
  for (int d = 0; d < x.ndim(); ++d) (d < axis ? l.outer : d > axis ? l.inner : l.n) *= x.dim(d);
  l.exclusive = attrs.exclusive;
  l.reverse = reverse;
  if (x.numel() == 0) return;
  const CumSumKernels& k = cumsum_kernels().get(x.device());
  if (x.dtype() == DType::Float32)
    k.f32(l, x.data<float>(), y.data<float>());
  else
    k.i64(l, x.data<int64_t>(), y.data<int64_t>());
}
}  // namespace

void cumsum_forward(const Tensor& x, const CumSumAttrs& attrs, Tensor& y) {
  run(x, attrs, attrs.reverse, y, "CumSum");
}

// y[i] = sum of x[j] over the j before i (or after, reversed): x[j] reaches every y[i] after
// it, so dx[j] sums dy over those i, the running sum taken the other way.
void cumsum_backward(const Tensor& dy, const CumSumAttrs& attrs, Tensor& dx) {
  check_dense_float(dx, "CumSum_backward: dx");
  run(dy, attrs, !attrs.reverse, dx, "CumSum_backward");
}

}  // namespace engine
