#include "ops/batch_norm/batch_norm.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/kernel_table.h"
#include "ops/batch_norm/batch_norm_cuda.h"

namespace engine {

namespace {

// x viewed as [N, C, S].
struct BnDims {
  int64_t N, C, S;
};

BnDims check_x(const Tensor& x, const char* op) {
  check_dense_float(x, str(op, ": x").c_str());
  ENGINE_CHECK(x.ndim() >= 2, op, ": x must have rank >= 2 ([N, C, ...]), got ", x.describe());
  int64_t S = 1;
  for (int i = 2; i < x.ndim(); ++i) S *= x.dim(i);
  return {x.dim(0), x.dim(1), S};
}

void check_channels(const Tensor& t, int64_t C, const char* op, const char* name) {
  const std::string what = str(op, ": ", name);
  check_dense_float(t, what.c_str());
  ENGINE_CHECK(t.ndim() == 1 && t.dim(0) == C, what, " must have shape [", C,
               "] (the channels of x), got ", t.describe());
}

void check_like(const Tensor& t, const Tensor& x, const char* op, const char* name) {
  const std::string what = str(op, ": ", name);
  check_dense_float(t, what.c_str());
  ENGINE_CHECK(t.shape() == x.shape(), what, " ", t.describe(), " does not match x ",
               x.describe());
}

void check_attrs(const BatchNormAttrs& a, const char* op) {
  ENGINE_CHECK(std::isfinite(a.epsilon) && a.epsilon >= 0.0f, op, ": epsilon must be >= 0, got ",
               a.epsilon);
  ENGINE_CHECK(a.momentum >= 0.0f && a.momentum <= 1.0f, op,
               ": momentum must be in [0, 1], got ", a.momentum);
}

// [C] floats on `device` for an intermediate of one call (the batch variance, inference's
// inv_std), kept per thread and slot so that a step allocates nothing once warm.
enum ScratchSlot { kBatchVar = 0, kInferenceInvStd = 1 };
float* channel_scratch(ScratchSlot slot, Device device, int64_t C) {
  thread_local Tensor buffers[2];
  Tensor& b = buffers[slot];
  if (!b.defined() || b.device() != device || b.numel() < C)
    b = Tensor::empty({std::max<int64_t>(C, 1)}, DType::Float32, device);
  return b.data<float>();
}

float* data_or_null(Tensor& t) { return t.defined() ? t.data<float>() : nullptr; }

}  // namespace

const KernelTable<BatchNormKernels>& batch_norm_kernels() {
  static const KernelTable<BatchNormKernels> table(
      "BatchNormalization",
      {batch_norm_stats_ref, batch_norm_apply_ref, batch_norm_backward_ref,
       batch_norm_update_running_ref, batch_norm_inv_std_ref},
      {batch_norm_stats_cpu, batch_norm_apply_cpu, batch_norm_backward_cpu,
       batch_norm_update_running_ref, batch_norm_inv_std_ref},
      batch_norm_cuda_kernels<HostGrid>());
  return table;
}

void batch_norm_frozen_stats(const Tensor& mean, const Tensor& var, const BatchNormAttrs& attrs,
                             BatchNormSaved& saved) {
  const char* op = "BatchNormalization";
  check_attrs(attrs, op);
  check_dense_float(mean, "BatchNormalization: mean");
  ENGINE_CHECK(mean.ndim() == 1, "BatchNormalization: mean must have rank 1, got ",
               mean.describe());
  check_channels(var, mean.dim(0), op, "var");
  check_channels(saved.mean, mean.dim(0), op, "saved mean");
  check_channels(saved.inv_std, mean.dim(0), op, "saved inv_std");
  saved.mean.copy_from(mean);
  batch_norm_kernels().get(mean.device()).inv_std(mean.dim(0), var.data<float>(), attrs.epsilon,
                                                  saved.inv_std.data<float>());
}

void batch_norm_forward_inference(const Tensor& x, const Tensor& scale, const Tensor& bias,
                                  const Tensor& mean, const Tensor& var,
                                  const BatchNormAttrs& attrs, Tensor& y) {
  const char* op = "BatchNormalization";
  const BnDims d = check_x(x, op);
  check_channels(scale, d.C, op, "scale");
  check_channels(bias, d.C, op, "bias");
  check_channels(mean, d.C, op, "mean");
  check_channels(var, d.C, op, "var");
  check_like(y, x, op, "y");
  check_attrs(attrs, op);
  const BatchNormKernels& kernels = batch_norm_kernels().get(x.device());
  float* inv_std = channel_scratch(kInferenceInvStd, x.device(), d.C);
  kernels.inv_std(d.C, var.data<float>(), attrs.epsilon, inv_std);
  kernels.apply(d.N, d.C, d.S, x.data<float>(), mean.data<float>(), inv_std,
                scale.data<float>(), bias.data<float>(), y.data<float>());
}

void batch_norm_forward_training(const Tensor& x, const Tensor& scale, const Tensor& bias,
                                 const Tensor& running_mean, const Tensor& running_var,
                                 const BatchNormAttrs& attrs, Tensor& y, BatchNormSaved& saved) {
  const char* op = "BatchNormalization(training)";
  const BnDims d = check_x(x, op);
  check_attrs(attrs, op);
  ENGINE_CHECK(d.N * d.S > 0, op, ": batch statistics need at least one value per channel, got x ",
               x.describe());
  check_channels(scale, d.C, op, "scale");
  check_channels(bias, d.C, op, "bias");
  check_channels(running_mean, d.C, op, "running_mean");
  check_channels(running_var, d.C, op, "running_var");
  check_channels(saved.mean, d.C, op, "saved mean");
  check_channels(saved.inv_std, d.C, op, "saved inv_std");
  check_like(y, x, op, "y");

  float* batch_var = channel_scratch(kBatchVar, x.device(), d.C);
  const BatchNormKernels& kernels = batch_norm_kernels().get(x.device());
  kernels.stats(d.N, d.C, d.S, x.data<float>(), attrs.epsilon, saved.mean.data<float>(),
                batch_var, saved.inv_std.data<float>());
  kernels.apply(d.N, d.C, d.S, x.data<float>(), saved.mean.data<float>(),
                saved.inv_std.data<float>(), scale.data<float>(), bias.data<float>(),
                y.data<float>());
  kernels.update_running(d.C, attrs.momentum, saved.mean.data<float>(), batch_var,
                         running_mean.data<float>(), running_var.data<float>());
}

void batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& scale,
                         const BatchNormSaved& saved, bool training, Tensor& dx, Tensor& dscale,
                         Tensor& dbias) {
  const char* op = "BatchNormalization_backward";
  const BnDims d = check_x(x, op);
  check_like(dy, x, op, "dy");
  check_channels(scale, d.C, op, "scale");
  check_channels(saved.mean, d.C, op, "saved mean");
  check_channels(saved.inv_std, d.C, op, "saved inv_std");
  if (dx.defined()) check_like(dx, x, op, "dx");
  if (dscale.defined()) check_channels(dscale, d.C, op, "dscale");
  if (dbias.defined()) check_channels(dbias, d.C, op, "dbias");
  batch_norm_kernels().get(x.device()).backward(
      d.N, d.C, d.S, dy.data<float>(), x.data<float>(), scale.data<float>(),
      saved.mean.data<float>(), saved.inv_std.data<float>(), training, data_or_null(dx),
      data_or_null(dscale), data_or_null(dbias));
}

}  // namespace engine
