#include "ops/softmax/softmax.h"

#include <string>

#include "ops/common.h"
#include "core/kernel_table.h"
#include "ops/softmax/softmax_cuda.h"

namespace engine {

const char* softmax_name(SoftmaxKind kind) {
  return kind == SoftmaxKind::Softmax ? "Softmax" : "LogSoftmax";
}

SoftmaxGeometry softmax_geometry(const Shape& shape, const SoftmaxAttrs& attrs, const char* op) {
  const int ndim = static_cast<int>(shape.size());
  const int axis = normalize_axis(attrs.axis, ndim, op);
  SoftmaxGeometry g;
  for (int i = 0; i < axis; ++i) g.outer *= shape[i];
  if (attrs.coerce_2d) {
    for (int i = axis; i < ndim; ++i) g.len *= shape[i];
  } else {
    g.len = shape[axis];
    for (int i = axis + 1; i < ndim; ++i) g.inner *= shape[i];
  }
  return g;
}

const KernelTable<SoftmaxKernels>& softmax_kernels() {
  static const KernelTable<SoftmaxKernels> table("Softmax",
                                                 {softmax_forward_ref, softmax_backward_ref},
                                                 {softmax_forward_cpu, softmax_backward_cpu},
                                                 softmax_cuda_kernels<HostGrid>());
  return table;
}

namespace {
void check_like(const Tensor& t, const Tensor& ref, const std::string& what,
                const char* ref_name) {
  check_dense_float(t, what.c_str());
  ENGINE_CHECK(t.shape() == ref.shape(), what, " ", t.describe(), " does not match ", ref_name,
               " ", ref.describe());
}
}  // namespace

void softmax_forward(SoftmaxKind kind, const Tensor& x, const SoftmaxAttrs& attrs, Tensor& y) {
  const std::string name = softmax_name(kind);
  check_dense_float(x, (name + ": x").c_str());
  const SoftmaxGeometry g = softmax_geometry(x.shape(), attrs, name.c_str());
  check_like(y, x, name + ": y", "x");
  softmax_kernels().get(x.device()).forward(kind, g, x.data<float>(), y.data<float>());
}

void softmax_backward(SoftmaxKind kind, const Tensor& dy, const Tensor& y,
                      const SoftmaxAttrs& attrs, Tensor& dx) {
  const std::string name = std::string(softmax_name(kind)) + "_backward";
  check_dense_float(y, (name + ": y").c_str());
  const SoftmaxGeometry g = softmax_geometry(y.shape(), attrs, name.c_str());
  check_like(dy, y, name + ": dy", "y");
  check_like(dx, y, name + ": dx", "y");
  softmax_kernels().get(y.device()).backward(kind, g, y.data<float>(), dy.data<float>(),
                                             dx.data<float>());
}

}  // namespace engine
