// Training losses (engine domain: used by training steps, never exported for inference).
//
// Softmax cross-entropy from logits. Shape legend (class axis 1, like ONNX
// SoftmaxCrossEntropyLoss; D... may be empty, D = its product):
//   logits  float32 [N, C, D...]
//   target  int64   [N, D...]     class indices in [0, C) (or == ignore_index), or
//           float32 [N, C, D...]  probabilities (one-hot or soft labels)
//   weight  float32 [N]           optional per-sample weights (Keras sample_weight)
//   loss    [N, D...] for Reduction::None, else a scalar of shape []
// Per position p = (n, d...) with t the target distribution (one-hot for an index):
//   l_p = w_n * sum_c t_c * (log(s) - (x_c - m)),   m = max_c x_c, s = sum_c exp(x_c - m)
// Reductions: None keeps l_p (0 at ignored positions); Sum = sum_p l_p;
//   Mean = sum_p l_p / P, P = number of positions not ignored. The weights do NOT enter the
//   denominator: this is Keras's "sum_over_batch_size" (so a zero weight lowers the mean
//   instead of renormalising the batch), and equals ONNX/PyTorch "mean" when there are no
//   weights. When every position is ignored the mean is 0 (a NaN would stop training).
// Backward, one fused pass per position: dlogits_c = (softmax(x)_c * sum(t) - t_c) * g_p,
//   g_p = w_n * dloss_p (None), w_n * dloss (Sum), w_n * dloss / P (Mean); 0 where ignored.
//   (sum(t) is 1 for indices and proper distributions; keeping it makes the gradient exact
//   for unnormalised soft targets too.)
//
// Mean squared error. pred, target float32 [N, K...] (same shape, rank >= 1, K = product):
//   per-sample l_n = mean_k (pred - target)^2, like Keras's mean over non-batch dims.
//   None: loss [N]; Sum: sum_n l_n; Mean: mean_n l_n (= the mean over all elements).
//   Backward: dpred = 2 * (pred - target) * g_n / K with g_n = dloss_n (None), dloss (Sum),
//   dloss / N (Mean); dtarget = -dpred. Either output may be undefined (not needed).
#pragma once

#include <cstdint>
#include <limits>
#include <string>

#include "engine/tensor.h"

namespace engine {

enum class Reduction { None, Sum, Mean };

// "none" / "sum" / "mean"; anything else is a ValueError naming `op`.
Reduction reduction_from_name(const std::string& name, const char* op);
const char* reduction_name(Reduction r);

// No label is ignored (ONNX's attribute is absent).
constexpr int64_t kNoIgnoreIndex = std::numeric_limits<int64_t>::min();

struct CrossEntropyAttrs {
  Reduction reduction = Reduction::Mean;
  int64_t ignore_index = kNoIgnoreIndex;  // integer targets only
};

// Shape of the loss output; validates shapes and dtypes of logits, target and weight.
Shape softmax_cross_entropy_loss_shape(const Tensor& logits, const Tensor& target,
                                       const Tensor& weight, const CrossEntropyAttrs& attrs);
// Op level: validate (including every label), then run the selected kernel into the
// caller-provided output; the Tensor-returning overloads allocate it. `weight` may be
// undefined (all ones).
void softmax_cross_entropy_forward(const Tensor& logits, const Tensor& target,
                                   const Tensor& weight, const CrossEntropyAttrs& attrs,
                                   Tensor& loss);
Tensor softmax_cross_entropy_forward(const Tensor& logits, const Tensor& target,
                                     const Tensor& weight, const CrossEntropyAttrs& attrs);
// dlogits overwritten. dloss has the loss's shape (any single-element tensor for Sum/Mean).
void softmax_cross_entropy_backward(const Tensor& dloss, const Tensor& logits,
                                    const Tensor& target, const Tensor& weight,
                                    const CrossEntropyAttrs& attrs, Tensor& dlogits);
Tensor softmax_cross_entropy_backward(const Tensor& dloss, const Tensor& logits,
                                      const Tensor& target, const Tensor& weight,
                                      const CrossEntropyAttrs& attrs);

void mean_squared_error_forward(const Tensor& pred, const Tensor& target, Reduction reduction,
                                Tensor& loss);
Tensor mean_squared_error_forward(const Tensor& pred, const Tensor& target, Reduction reduction);
// dpred and dtarget overwritten; either may be undefined (skipped).
void mean_squared_error_backward(const Tensor& dloss, const Tensor& pred, const Tensor& target,
                                 Reduction reduction, Tensor& dpred, Tensor& dtarget);

// Kernel arguments for softmax cross-entropy over logits viewed as [N, C, D].
struct CrossEntropyArgs {
  int64_t n = 0, c = 0, d = 1;
  const float* logits = nullptr;
  const int64_t* labels = nullptr;  // [N, D], already validated; or
  const float* probs = nullptr;     // [N, C, D]
  const float* weight = nullptr;    // [N] or null (ones)
  int64_t ignore_index = kNoIgnoreIndex;
};

// Writes l_p (weighted; 0 where ignored) for every position into loss [N, D].
void softmax_cross_entropy_forward_cpu(const CrossEntropyArgs& a, float* loss);
void softmax_cross_entropy_forward_ref(const CrossEntropyArgs& a, float* loss);
// dlogits [N, C, D] with g_p = w_n * scale * (dloss ? dloss[p] : 1).
void softmax_cross_entropy_backward_cpu(const CrossEntropyArgs& a, const float* dloss,
                                        float scale, float* dlogits);
void softmax_cross_entropy_backward_ref(const CrossEntropyArgs& a, const float* dloss,
                                        float scale, float* dlogits);

// Per-sample mean squared errors of [N, K] data into loss [N].
void mean_squared_error_forward_cpu(int64_t n, int64_t k, const float* pred, const float* target,
                                    float* loss);
void mean_squared_error_forward_ref(int64_t n, int64_t k, const float* pred, const float* target,
                                    float* loss);
// dpred = 2 (pred - target) * scale * (dloss ? dloss[n] : 1); dtarget = -dpred; either null.
void mean_squared_error_backward_cpu(int64_t n, int64_t k, const float* pred,
                                     const float* target, const float* dloss, float scale,
                                     float* dpred, float* dtarget);
void mean_squared_error_backward_ref(int64_t n, int64_t k, const float* pred,
                                     const float* target, const float* dloss, float scale,
                                     float* dpred, float* dtarget);

}  // namespace engine
