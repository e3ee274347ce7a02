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
// Losses of a prediction against a float32 target of the same shape, [N, K...] (rank >= 1,
// K = product of the non-batch dims). The pointwise family applies one per-element formula
// l(p, t), x = p - t, and averages it per sample over the non-batch dims:
//   mean squared error      x^2
//   mean absolute error     |x|                          (derivative sign(x), 0 at 0)
//   Huber(delta > 0)        0.5 x^2 if |x| <= delta, else delta |x| - 0.5 delta^2
//   binary cross-entropy    from logits z: max(z, 0) - z t + log1p(exp(-|z|)),
//                             d/dz = sigmoid(z) - t
//                           from probabilities: q = clip(p, eps, 1 - eps),
//                             -(t log q + (1-t) log(1-q)), gradient 0 where p is clipped
// Categorical cross-entropy from probabilities (class axis `axis`, default 1: [N, C, d...]):
// at each position q = clip(p / sum_c p, eps, 1 - eps) along the classes, l = -sum_c t_c log q_c
// (Keras with from_logits=False where no softmax can be fused); the gradient is the exact one of
// that formula, normalisation included. The per-sample loss is the mean over the positions
// (all dims but the batch and class axes). pred must be non-negative with a positive sum at
// every position; otherwise the loss is NaN, as in Keras.
// eps and 1 - eps are the float32 values of 1e-7 and 1 - 1e-7 (Keras's bounds in float32).
//
// Reductions, with l_n the per-sample loss: None: loss [N]; Sum: sum_n l_n; Mean: mean_n l_n,
// which is the mean over every element (every position for the categorical loss).
// Keras averages over the LAST axis only (its "none" keeps [N, d...]): for [N, K] inputs
// (and [N, C] with the classes last) the two agree in every reduction; for more dims "mean"
// still agrees (Keras's sum_over_batch_size), while "none" and "sum" here are averaged over
// the remaining dims too.
// Backward: dpred = dl/dp * g_n / K (categorical: / positions per sample) with g_n = dloss_n
// (None), dloss (Sum), dloss / N (Mean); dtarget likewise from dl/dt. Both are overwritten
// and either may be undefined (not needed).
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
// dlogits overwritten. dloss has the loss's shape (any single-element tensor for Sum/Mean).
void softmax_cross_entropy_backward(const Tensor& dloss, const Tensor& logits,
                                    const Tensor& target, const Tensor& weight,
                                    const CrossEntropyAttrs& attrs, Tensor& dlogits);

enum class LossKind {
  MeanSquaredError,
  MeanAbsoluteError,
  Huber,
  BinaryCrossEntropy,            // probabilities
  BinaryCrossEntropyFromLogits,
  CategoricalCrossEntropy,       // probabilities, class axis
};

struct LossAttrs {
  LossKind kind = LossKind::MeanSquaredError;
  Reduction reduction = Reduction::Mean;
  float delta = 1.0f;  // Huber only
  int64_t axis = 1;    // CategoricalCrossEntropy only: the class axis, != the batch axis
};

// The op's name in messages: "mean_squared_error", "huber", "binary_cross_entropy", ...
const char* loss_name(LossKind kind);
// Attribute checks (Huber's delta); errors name `op`.
void check_loss_attrs(const LossAttrs& attrs, const std::string& op);
// Shape of the loss output ([N] or []); validates shapes, dtypes and attributes.
Shape loss_shape(const Tensor& pred, const Tensor& target, const LossAttrs& attrs);
void loss_forward(const Tensor& pred, const Tensor& target, const LossAttrs& attrs, Tensor& loss);
// dpred and dtarget overwritten; either may be undefined (skipped). dloss has the loss's
// shape (any single-element tensor for Sum/Mean).
void loss_backward(const Tensor& dloss, const Tensor& pred, const Tensor& target,
                   const LossAttrs& attrs, Tensor& dpred, Tensor& dtarget);

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

// Kernel arguments for a pointwise loss over pred/target viewed as [N, K].
struct PointwiseLossArgs {
  LossKind kind = LossKind::MeanSquaredError;  // any kind but CategoricalCrossEntropy
  float delta = 1.0f;
  int64_t n = 0, k = 0;
  const float* pred = nullptr;
  const float* target = nullptr;
};

// Per-sample means of l(p, t) into loss [N].
void pointwise_loss_forward_cpu(const PointwiseLossArgs& a, float* loss);
void pointwise_loss_forward_ref(const PointwiseLossArgs& a, float* loss);
// dpred = dl/dp * scale * (dloss ? dloss[n] : 1), dtarget likewise; either may be null.
void pointwise_loss_backward_cpu(const PointwiseLossArgs& a, const float* dloss, float scale,
                                 float* dpred, float* dtarget);
void pointwise_loss_backward_ref(const PointwiseLossArgs& a, const float* dloss, float scale,
                                 float* dpred, float* dtarget);

// Kernel arguments for categorical cross-entropy over pred/target viewed as [M, C, D]
// (M = product of the dims before the class axis, D after it). Positions (m, d) are
// numbered m * D + d, so each sample owns `per_sample` consecutive positions.
struct CategoricalArgs {
  int64_t m = 0, c = 0, d = 1;
  const float* pred = nullptr;
  const float* target = nullptr;
};

// The loss at every position into loss [M * D].
void categorical_cross_entropy_forward_cpu(const CategoricalArgs& a, float* loss);
void categorical_cross_entropy_forward_ref(const CategoricalArgs& a, float* loss);
// Gradients with g = scale * (dloss ? dloss[position / per_sample] : 1); either output null.
void categorical_cross_entropy_backward_cpu(const CategoricalArgs& a, const float* dloss,
                                            int64_t per_sample, float scale, float* dpred,
                                            float* dtarget);
void categorical_cross_entropy_backward_ref(const CategoricalArgs& a, const float* dloss,
                                            int64_t per_sample, float scale, float* dpred,
                                            float* dtarget);

// Every loss kernel, by variant.
struct LossKernels {
  void (*softmax_cross_entropy_forward)(const CrossEntropyArgs& a, float* loss);
  void (*softmax_cross_entropy_backward)(const CrossEntropyArgs& a, const float* dloss,
                                         float scale, float* dlogits);
  void (*pointwise_forward)(const PointwiseLossArgs& a, float* loss);
  void (*pointwise_backward)(const PointwiseLossArgs& a, const float* dloss, float scale,
                             float* dpred, float* dtarget);
  void (*categorical_forward)(const CategoricalArgs& a, float* loss);
  void (*categorical_backward)(const CategoricalArgs& a, const float* dloss, int64_t per_sample,
                               float scale, float* dpred, float* dtarget);
  // Class-index targets: out[0] = how many of the n labels are not ignore_index, out[1] =
  // the flat index of the first other label outside [0, classes) (-1: none), out[2] = that
  // label. `out` is int64 [3] on the labels' device, which the op reads back.
  void (*check_labels)(int64_t n, const int64_t* labels, int64_t classes, int64_t ignore_index,
                       int64_t* out);
  // out[r] = (sum of x[r * len, (r + 1) * len)) / divisor for r < rows: the Sum and Mean
  // reductions (rows = 1) and the categorical loss's per-sample means.
  void (*sum_rows)(int64_t rows, int64_t len, const float* x, double divisor, float* out);
};
// check_labels and sum_rows as serial host loops (sums in double): both host variants.
void check_labels_ref(int64_t n, const int64_t* labels, int64_t classes, int64_t ignore_index,
                      int64_t* out);
void sum_rows_ref(int64_t rows, int64_t len, const float* x, double divisor, float* out);

}  // namespace engine
