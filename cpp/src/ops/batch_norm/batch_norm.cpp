#include "ops/batch_norm/batch_norm.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/kernel_table.h"
#include "engine/communicator.h"
#include "engine/threads.h"
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

void check_group(const BatchNormGroup& group, const Tensor& x, const char* op) {
  if (!group.communicator) return;
  if (!x.device().is_cpu())
    fail(ErrorKind::NotImplemented, op, ": synchronized batch statistics run on the CPU only, "
         "x is on ", x.device().str());
}

// Replaces this rank's batch mean and biased variance ([C], over m values each) by those of
// every rank's batch together, in two all-reduces (the mean first, then the squared
// deviations from it, which keeps the variance exact when the mean is large), and returns
// how many values that is.
int64_t combine_statistics(Communicator& comm, int64_t C, int64_t m, float* mean, float* var) {
  std::vector<float> sums(C + 1);
  for (int64_t c = 0; c < C; ++c) sums[c] = static_cast<float>(m) * mean[c];
  sums[C] = static_cast<float>(m);
  comm.allreduce_sum(sums.data(), C + 1);
  const float total = sums[C];
  ENGINE_CHECK(total > 0.0f, "BatchNormalization(synchronized): no rank had samples");
  std::vector<float> squares(C);
  for (int64_t c = 0; c < C; ++c) {
    const float global_mean = sums[c] / total, shift = mean[c] - global_mean;
    squares[c] = static_cast<float>(m) * (var[c] + shift * shift);
    mean[c] = global_mean;
  }
  comm.allreduce_sum(squares.data(), C);
  for (int64_t c = 0; c < C; ++c) var[c] = squares[c] / total;
  return static_cast<int64_t>(total);
}

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
                                 const BatchNormAttrs& attrs, Tensor& y, BatchNormSaved& saved,
                                 const BatchNormGroup& group) {
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
  check_group(group, x, op);
  if (group.communicator) {
    combine_statistics(*group.communicator, d.C, group.counts ? d.N * d.S : 0,
                       saved.mean.data<float>(), batch_var);
    kernels.inv_std(d.C, batch_var, attrs.epsilon, saved.inv_std.data<float>());
  }
  kernels.apply(d.N, d.C, d.S, x.data<float>(), saved.mean.data<float>(),
                saved.inv_std.data<float>(), scale.data<float>(), bias.data<float>(),
                y.data<float>());
  kernels.update_running(d.C, attrs.momentum, saved.mean.data<float>(), batch_var,
                         running_mean.data<float>(), running_var.data<float>());
}

void batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& scale,
                         const BatchNormSaved& saved, bool training, Tensor& dx, Tensor& dscale,
                         Tensor& dbias, const BatchNormGroup& group) {
  const char* op = "BatchNormalization_backward";
  const BnDims d = check_x(x, op);
  check_like(dy, x, op, "dy");
  check_channels(scale, d.C, op, "scale");
  check_channels(saved.mean, d.C, op, "saved mean");
  check_channels(saved.inv_std, d.C, op, "saved inv_std");
  if (dx.defined()) check_like(dx, x, op, "dx");
  if (dscale.defined()) check_channels(dscale, d.C, op, "dscale");
  if (dbias.defined()) check_channels(dbias, d.C, op, "dbias");
  check_group(group, x, op);
  if (!training || !group.communicator) {
    batch_norm_kernels().get(x.device()).backward(
        d.N, d.C, d.S, dy.data<float>(), x.data<float>(), scale.data<float>(),
        saved.mean.data<float>(), saved.inv_std.data<float>(), training, data_or_null(dx),
        data_or_null(dscale), data_or_null(dbias));
    return;
  }
  // The frozen backward gives dx = scale * inv_std * dy and this rank's sums of dy and
  // dy * xhat; the statistics' share of dx then needs those sums over every rank.
  std::vector<float> sums(2 * d.C + 1, 0.0f);
  batch_norm_kernels().get(x.device()).backward(
      d.N, d.C, d.S, dy.data<float>(), x.data<float>(), scale.data<float>(),
      saved.mean.data<float>(), saved.inv_std.data<float>(), false, data_or_null(dx),
      sums.data() + d.C, sums.data());
  for (int64_t c = 0; c < d.C; ++c) {  // the kernels accumulate into dscale and dbias too
    if (dscale.defined()) dscale.data<float>()[c] += sums[d.C + c];
    if (dbias.defined()) dbias.data<float>()[c] += sums[c];
  }
  sums[2 * d.C] = group.counts ? static_cast<float>(d.N * d.S) : 0.0f;
  group.communicator->allreduce_sum(sums.data(), 2 * d.C + 1);
  if (!dx.defined()) return;
  if (!group.counts) {  // a stand-in row is no part of the batch: nothing flows back from it
    std::fill(dx.data<float>(), dx.data<float>() + dx.numel(), 0.0f);
    return;
  }
  const float m = sums[2 * d.C];
  const float* mean = saved.mean.data<float>();
  const float* inv_std = saved.inv_std.data<float>();
  const float* g = scale.data<float>();
  const float* xs = x.data<float>();
  float* out = dx.data<float>();
  const int64_t grain = std::max<int64_t>(1, 4096 / std::max<int64_t>(d.S, 1));
  parallel_for(d.N * d.C, grain, [&](int64_t b, int64_t e) {
    for (int64_t nc = b; nc < e; ++nc) {
      const int64_t c = nc % d.C;
      const float k = g[c] * inv_std[c] / m;
      for (int64_t s = nc * d.S; s < (nc + 1) * d.S; ++s) {
        const float xhat = (xs[s] - mean[c]) * inv_std[c];
        out[s] -= k * (sums[c] + xhat * sums[d.C + c]);
      }
    }
  });
}

}  // namespace engine
