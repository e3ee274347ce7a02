#include "ops/lrn/lrn.h"

#include <cmath>
#include <string>

#include "core/kernel_table.h"
#include "ops/lrn/lrn_cuda.h"

namespace engine {

const KernelTable<LrnKernels>& lrn_kernels() {
  static const KernelTable<LrnKernels> table("LRN", {lrn_forward_ref, lrn_backward_ref},
                                             {lrn_forward_cpu, lrn_backward_cpu},
                                             lrn_cuda_kernels<HostGrid>());
  return table;
}

LrnGeometry lrn_geometry(const Shape& x, const LrnAttrs& a, const char* op) {
  ENGINE_CHECK(x.size() >= 2, op, ": x must have a channel axis ([N, C, ...]), got ",
               shape_str(x));
  ENGINE_CHECK(a.size >= 1, op, ": size must be >= 1, got ", a.size);
  ENGINE_CHECK(std::isfinite(a.alpha) && std::isfinite(a.beta) && std::isfinite(a.bias), op,
               ": alpha, beta and bias must be finite, got ", a.alpha, ", ", a.beta, ", ", a.bias);
  ENGINE_CHECK(a.bias > 0.0f || a.beta == 0.0f, op, ": bias must be > 0 (s^-beta), got ", a.bias);
  LrnGeometry g;
  g.n = x[0];
  g.c = x[1];
  for (size_t i = 2; i < x.size(); ++i) g.inner *= x[i];
  g.lo = (a.size - 1) / 2;
  g.hi = a.size - 1 - g.lo;
  return g;
}

namespace {
void check_like(const Tensor& t, const Tensor& ref, const char* what, const char* ref_name) {
  check_dense_float(t, what);
  ENGINE_CHECK(t.shape() == ref.shape(), what, " ", t.describe(), " does not match ", ref_name,
               " ", ref.describe());
}
}  // namespace

void lrn_forward(const Tensor& x, const LrnAttrs& attrs, Tensor& y) {
  check_dense_float(x, "LRN: x");
  const LrnGeometry g = lrn_geometry(x.shape(), attrs, "LRN");
  check_like(y, x, "LRN: y", "x");
  lrn_kernels().get(x.device()).forward(g, attrs, x.data<float>(), y.data<float>());
}

void lrn_backward(const Tensor& dy, const Tensor& x, const LrnAttrs& attrs, Tensor& dx) {
  check_dense_float(x, "LRN_backward: x");
  const LrnGeometry g = lrn_geometry(x.shape(), attrs, "LRN_backward");
  check_like(dy, x, "LRN_backward: dy", "x");
  check_like(dx, x, "LRN_backward: dx", "x");
  lrn_kernels().get(x.device()).backward(g, attrs, dy.data<float>(), x.data<float>(),
                                         dx.data<float>());
}

}  // namespace engine
