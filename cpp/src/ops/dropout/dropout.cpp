#include "ops/dropout/dropout.h"

#include <cmath>
#include <string>

#include "core/kernel_table.h"
#include "ops/dropout/dropout_cuda.h"

namespace engine {

namespace {

void check_rate(float rate, const char* op) {
  ENGINE_CHECK(rate >= 0.0f && rate < 1.0f, op, ": rate must be in [0, 1), got ", rate);
}

void check_like(const Tensor& t, const Tensor& x, const char* op, const char* name,
                const char* x_name) {
  const std::string what = str(op, ": ", name);
  check_dense_float(t, what.c_str());
  ENGINE_CHECK(t.shape() == x.shape(), what, " ", t.describe(), " does not match ", x_name, " ",
               x.describe());
}

void copy_values(const Tensor& src, Tensor& dst) {
  if (dst.raw_data() != src.raw_data()) dst.copy_from(src);
}

}  // namespace

const KernelTable<DropoutKernels>& dropout_kernels() {
  static const KernelTable<DropoutKernels> table(
      "Dropout", {dropout_forward_ref, dropout_backward_ref, dropout_keep_all_cpu},
      {dropout_forward_cpu, dropout_backward_cpu, dropout_keep_all_cpu},
      dropout_cuda_kernels<HostGrid>());
  return table;
}

uint64_t dropout_threshold(float rate) {
  check_rate(rate, "Dropout");
  // rate < 1 in float is at most 1 - 2^-24, so the threshold stays below 2^32.
  return static_cast<uint64_t>(std::llround(double(rate) * 4294967296.0));
}

void dropout_forward(const Tensor& x, float rate, uint64_t seed, bool training, Tensor& y,
                     Tensor& mask) {
  const char* op = "Dropout";
  check_dense_float(x, "Dropout: x");
  check_rate(rate, op);
  check_like(y, x, op, "y", "x");
  if (mask.defined()) check_like(mask, x, op, "mask", "x");
  if (!training || rate == 0.0f) {
    copy_values(x, y);
    if (mask.defined()) dropout_keep_all(mask);
    return;
  }
  dropout_kernels().get(x.device()).forward(x.numel(), x.data<float>(), dropout_threshold(rate),
                                            1.0f / (1.0f - rate), seed, y.data<float>(),
                                            mask.defined() ? mask.data<float>() : nullptr);
}

void dropout_backward(const Tensor& dy, const Tensor& mask, float rate, Tensor& dx) {
  const char* op = "Dropout_backward";
  check_dense_float(dy, "Dropout_backward: dy");
  check_rate(rate, op);
  check_like(dx, dy, op, "dx", "dy");
  if (!mask.defined()) {
    copy_values(dy, dx);
    return;
  }
  check_like(mask, dy, op, "mask", "dy");
  dropout_kernels().get(dy.device()).backward(dy.numel(), dy.data<float>(), mask.data<float>(),
                                               1.0f / (1.0f - rate), dx.data<float>());
}

void dropout_keep_all(Tensor& mask) {
  check_dense_float(mask, "Dropout: mask");
  dropout_kernels().get(mask.device()).keep_all(mask.numel(), mask.data<float>());
}

}  // namespace engine
