#include "ops/clip/clip.h"

#include "core/kernel_table.h"
#include "engine/device.h"
#include "ops/clip/clip_cuda.h"

namespace engine {

namespace {

const KernelTable<ClipKernels>& clip_kernels() {
  static const KernelTable<ClipKernels> table("Clip", {clip_forward_ref, clip_backward_ref},
                                              {clip_forward_cpu, clip_backward_cpu},
                                              clip_cuda_kernels<HostGrid>());
  return table;
}

float bound(const Tensor& t, float fallback, const std::string& what) {
  if (!t.defined()) return fallback;
  check_float32(t, what.c_str());
  ENGINE_CHECK(t.numel() == 1, what, " must be a scalar, got ", t.describe());
  // A bound computed on a device comes over in a one-element copy.
  return *t.to(Device::cpu()).data<float>();
}

void check_like_x(const Tensor& t, const Tensor& x, const std::string& what) {
  check_dense_float(t, what.c_str());
  ENGINE_CHECK(t.shape() == x.shape(), what, " ", t.describe(), " does not match x ", x.describe());
}

}  // namespace

ClipBounds clip_bounds(const Tensor& min, const Tensor& max, const std::string& op) {
  ClipBounds b;
  b.lo = bound(min, b.lo, op + ": min");
  b.hi = bound(max, b.hi, op + ": max");
  return b;
}

void clip_forward(const Tensor& x, const ClipBounds& bounds, Tensor& y) {
  check_dense_float(x, "Clip: x");
  check_like_x(y, x, "Clip: y");
  clip_kernels().get(x.device()).forward(x.numel(), x.data<float>(), bounds, y.data<float>());
}

void clip_backward(const Tensor& dy, const Tensor& x, const ClipBounds& bounds, Tensor& dx) {
  check_dense_float(x, "Clip_backward: x");
  check_like_x(dy, x, "Clip_backward: dy");
  check_like_x(dx, x, "Clip_backward: dx");
  clip_kernels().get(x.device()).backward(x.numel(), dy.data<float>(), x.data<float>(), bounds,
                                          dx.data<float>());
}

}  // namespace engine
