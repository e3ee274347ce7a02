// ONNX BatchNormalization, channel axis 1.
//   x, y, dy, dx: [N, C, S...] (rank >= 2: [N, C] after a Dense layer, [N, C, H, W] after a
//   Conv); scale, bias, mean, var and the saved statistics: [C].
//   M = N * prod(S...) values are normalised together per channel.
//
// Inference: y = scale * (x - mean) / sqrt(var + epsilon) + bias with the running statistics.
// Training:  the same with the batch mean and the biased batch variance (divided by M), and
//   running = momentum * running + (1 - momentum) * batch, in place.
//   The running variance is updated with the BIASED batch variance, as Keras 3
//   (ops.moments), the ONNX reference and onnxruntime (training_mode=1) do; PyTorch uses the
//   unbiased M/(M-1) variance instead. Keras's momentum 0.99 is ONNX's momentum 0.99.
#pragma once

#include "engine/ir.h"
#include "engine/tensor.h"

namespace engine {

class OnnxImportContext;
// Freezes the running statistics; rejects spatial=0 (opsets < 9) (batch_norm_onnx.cpp).
void translate_batch_norm_onnx(Node& node, OnnxImportContext& ctx);

struct BatchNormAttrs {
  float epsilon = 1e-5f;  // ONNX default (Keras's layer passes 1e-3)
  float momentum = 0.9f;  // ONNX default (Keras's layer passes 0.99)
};

class Communicator;

// Synchronized BatchNormalization in data-parallel training: the batch statistics, and the
// sums the backward pass takes over the batch, span every rank's batch. `counts` is false
// on a rank whose batch is a stand-in row (it then contributes nothing). CPU tensors only.
struct BatchNormGroup {
  Communicator* communicator = nullptr;
  bool counts = true;
};

// What backward needs from forward: per-channel mean and 1 / sqrt(var + epsilon), [C].
// Training mode saves the batch statistics; for a frozen (inference-mode) layer they come
// from the running statistics (batch_norm_frozen_stats).
struct BatchNormSaved {
  Tensor mean;
  Tensor inv_std;
};

// Inference: y from the running statistics.
void batch_norm_forward_inference(const Tensor& x, const Tensor& scale, const Tensor& bias,
                                  const Tensor& mean, const Tensor& var,
                                  const BatchNormAttrs& attrs, Tensor& y);

// Training: y from the batch statistics, which are written to `saved` ([C] tensors provided
// by the caller); running_mean and running_var are updated in place.
void batch_norm_forward_training(const Tensor& x, const Tensor& scale, const Tensor& bias,
                                 const Tensor& running_mean, const Tensor& running_var,
                                 const BatchNormAttrs& attrs, Tensor& y, BatchNormSaved& saved,
                                 const BatchNormGroup& group = {});

// The saved statistics of a frozen layer, written into `saved`: mean and
// 1 / sqrt(var + epsilon).
void batch_norm_frozen_stats(const Tensor& mean, const Tensor& var, const BatchNormAttrs& attrs,
                             BatchNormSaved& saved);

// Backward. With xhat = (x - mean) * inv_std:
//   dscale += sum(dy * xhat), dbias += sum(dy) over N and S (accumulate);
//   dx = scale * inv_std * (dy - sum(dy) / M - xhat * sum(dy * xhat) / M)  (training: the
//        batch statistics depend on x), or dx = scale * inv_std * dy (frozen), overwritten.
// Any of dx, dscale, dbias may be undefined (not needed).
// With a group (training only), the two sums span every rank's batch and M counts every
// rank's values; dscale and dbias still receive this rank's own sums (the data-parallel
// step sums parameter gradients over the ranks itself).
void batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& scale,
                         const BatchNormSaved& saved, bool training, Tensor& dx, Tensor& dscale,
                         Tensor& dbias, const BatchNormGroup& group = {});

// Kernels over contiguous x viewed as [N, C, S]. `ms`: mean and inv_std per channel.
struct BatchNormKernels {
  void (*stats)(int64_t N, int64_t C, int64_t S, const float* x, float epsilon, float* mean,
                float* var, float* inv_std);
  void (*apply)(int64_t N, int64_t C, int64_t S, const float* x, const float* mean,
                const float* inv_std, const float* scale, const float* bias, float* y);
  void (*backward)(int64_t N, int64_t C, int64_t S, const float* dy, const float* x,
                   const float* scale, const float* mean, const float* inv_std, bool training,
                   float* dx, float* dscale, float* dbias);
  // Training: running = momentum * running + (1 - momentum) * batch, per channel.
  void (*update_running)(int64_t C, float momentum, const float* batch_mean,
                         const float* batch_var, float* running_mean, float* running_var);
  // inv_std = 1 / sqrt(var + epsilon), per channel (frozen statistics).
  void (*inv_std)(int64_t C, const float* var, float epsilon, float* inv_std);
};
// stats: batch mean and inv_std into mean/inv_std, biased variance into var.
void batch_norm_stats_cpu(int64_t N, int64_t C, int64_t S, const float* x, float epsilon,
                          float* mean, float* var, float* inv_std);
void batch_norm_stats_ref(int64_t N, int64_t C, int64_t S, const float* x, float epsilon,
                          float* mean, float* var, float* inv_std);
// y = (x - mean) * inv_std * scale + bias.
void batch_norm_apply_cpu(int64_t N, int64_t C, int64_t S, const float* x, const float* mean,
                          const float* inv_std, const float* scale, const float* bias, float* y);
void batch_norm_apply_ref(int64_t N, int64_t C, int64_t S, const float* x, const float* mean,
                          const float* inv_std, const float* scale, const float* bias, float* y);
// dscale/dbias (nullable) accumulate; dx (nullable) is overwritten.
void batch_norm_backward_cpu(int64_t N, int64_t C, int64_t S, const float* dy, const float* x,
                             const float* scale, const float* mean, const float* inv_std,
                             bool training, float* dx, float* dscale, float* dbias);
void batch_norm_backward_ref(int64_t N, int64_t C, int64_t S, const float* dy, const float* x,
                             const float* scale, const float* mean, const float* inv_std,
                             bool training, float* dx, float* dscale, float* dbias);
// The per-channel loops of update_running and inv_std, in double (both host variants).
void batch_norm_update_running_ref(int64_t C, float momentum, const float* batch_mean,
                                   const float* batch_var, float* running_mean,
                                   float* running_var);
void batch_norm_inv_std_ref(int64_t C, const float* var, float epsilon, float* inv_std);

}  // namespace engine
