#include "ops/batch_norm/batch_norm.h"

#include <cmath>
#include <string>
#include <vector>

#include "cpu/workspace.h"
#include "core/kernel_table.h"

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

void fill_inv_std(int64_t C, const float* var, float epsilon, float* inv_std) {
  for (int64_t c = 0; c < C; ++c)
    inv_std[c] = static_cast<float>(1.0 / std::sqrt(double(var[c]) + double(epsilon)));
}

float* data_or_null(Tensor& t) { return t.defined() ? t.data<float>() : nullptr; }

}  // namespace

const KernelTable<BatchNormKernels>& batch_norm_kernels() {
  static const KernelTable<BatchNormKernels> table(
      "BatchNormalization", {batch_norm_stats_ref, batch_norm_apply_ref, batch_norm_backward_ref},
      {batch_norm_stats_cpu, batch_norm_apply_cpu, batch_norm_backward_cpu});
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
  fill_inv_std(mean.dim(0), var.data<float>(), attrs.epsilon, saved.inv_std.data<float>());
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
  std::vector<float> inv_std(d.C);
  fill_inv_std(d.C, var.data<float>(), attrs.epsilon, inv_std.data());
  batch_norm_kernels().get(x.device()).apply(d.N, d.C, d.S, x.data<float>(), mean.data<float>(),
                                             inv_std.data(), scale.data<float>(),
                                             bias.data<float>(), y.data<float>());
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

  thread_local Workspace t_batch_var;  // reused: a training step allocates nothing
  float* batch_var = t_batch_var.get(d.C);
  const BatchNormKernels& kernels = batch_norm_kernels().get(x.device());
  kernels.stats(d.N, d.C, d.S, x.data<float>(), attrs.epsilon, saved.mean.data<float>(),
                batch_var, saved.inv_std.data<float>());
  kernels.apply(d.N, d.C, d.S, x.data<float>(), saved.mean.data<float>(),
                saved.inv_std.data<float>(), scale.data<float>(), bias.data<float>(),
                y.data<float>());

  const double m = attrs.momentum;
  float* rm = running_mean.data<float>();
  float* rv = running_var.data<float>();
  const float* bm = saved.mean.data<float>();
  const float* bv = batch_var;
  for (int64_t c = 0; c < d.C; ++c) {
    rm[c] = static_cast<float>(m * rm[c] + (1.0 - m) * bm[c]);
    rv[c] = static_cast<float>(m * rv[c] + (1.0 - m) * bv[c]);
  }
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
