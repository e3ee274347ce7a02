#include "ops/losses/losses.h"

#include <algorithm>
#include <cmath>

#include "ops/common.h"
#include "core/kernel_table.h"
#include "ops/losses/losses_cuda.h"

namespace engine {

const KernelTable<LossKernels>& loss_kernels() {
  static const KernelTable<LossKernels> table(
      "losses",
      {softmax_cross_entropy_forward_ref, softmax_cross_entropy_backward_ref,
       pointwise_loss_forward_ref, pointwise_loss_backward_ref,
       categorical_cross_entropy_forward_ref, categorical_cross_entropy_backward_ref,
       check_labels_ref, sum_rows_ref},
      {softmax_cross_entropy_forward_cpu, softmax_cross_entropy_backward_cpu,
       pointwise_loss_forward_cpu, pointwise_loss_backward_cpu,
       categorical_cross_entropy_forward_cpu, categorical_cross_entropy_backward_cpu,
       check_labels_ref, sum_rows_ref},
      losses_cuda_kernels<HostGrid>());
  return table;
}

Reduction reduction_from_name(const std::string& name, const char* op) {
  if (name == "mean") return Reduction::Mean;
  if (name == "sum") return Reduction::Sum;
  if (name == "none") return Reduction::None;
  fail(ErrorKind::Value, op, ": unknown reduction '", name,
       "' (expected 'mean', 'sum' or 'none')");
}

const char* reduction_name(Reduction r) {
  switch (r) {
    case Reduction::Mean: return "mean";
    case Reduction::Sum: return "sum";
    case Reduction::None: return "none";
  }
  return "unknown";
}

namespace {

constexpr const char* kCE = "softmax_cross_entropy";

// dloss of a scalar reduction: any single-element tensor, read on the host.
float scalar_dloss(const Tensor& dloss, const std::string& op) {
  check_dense_float(dloss, (op + ": dloss").c_str());
  ENGINE_CHECK(dloss.numel() == 1, op, ": dloss must hold one value for a reduced loss, got ",
               dloss.describe());
  return dloss.to(Device::cpu()).data<float>()[0];
}

// The divisor of a reduction over `count` terms: count for Mean (1 when there are none:
// their sum is then 0, and the mean 0 rather than 0 / 0), 1 for Sum.
double reduction_divisor(Reduction r, int64_t count) {
  return r == Reduction::Mean && count > 0 ? static_cast<double>(count) : 1.0;
}

// The label check's int64 [3] result on `device`, kept per thread so that a training step
// allocates nothing once warm.
const Tensor& label_check_buffer(Device device) {
  thread_local Tensor buffer;
  if (!buffer.defined() || buffer.device() != device)
    buffer = Tensor::empty({3}, DType::Int64, device);
  return buffer;
}

void check_output(const Tensor& t, const Shape& shape, const std::string& what) {
  check_dense_float(t, what.c_str());
  ENGINE_CHECK(t.shape() == shape, what, " must have shape ", shape_str(shape), ", got ",
               t.describe());
}

Shape without_class_axis(const Shape& logits) {
  Shape s = logits;
  s.erase(s.begin() + 1);
  return s;
}

std::string position_str(int64_t flat, const Shape& shape) {
  Shape index(shape.size());
  for (int i = static_cast<int>(shape.size()) - 1; i >= 0; --i) {
    index[i] = flat % shape[i];
    flat /= shape[i];
  }
  return "target" + shape_str(index);
}

Shape check_cross_entropy(const Tensor& logits, const Tensor& target, const Tensor& weight,
                          const CrossEntropyAttrs& attrs, const std::string& op) {
  check_dense_float(logits, (op + ": logits").c_str());
  ENGINE_CHECK(logits.ndim() >= 2, op, ": logits must have rank >= 2 ([N, C, ...]), got ",
               logits.describe());
  ENGINE_CHECK(logits.dim(1) >= 1, op, ": logits need at least one class, got ",
               logits.describe());
  ENGINE_CHECK(target.defined(), op, ": target is missing");
  check_contiguous(target, (op + ": target").c_str());
  const Shape label_shape = without_class_axis(logits.shape());
  if (target.dtype() == DType::Int64) {
    ENGINE_CHECK_TYPE(target.shape() != logits.shape(), op, ": target ", target.describe(),
                      " has the logits' shape, so it holds probabilities, which must be "
                      "float32 (int64 targets are class indices of shape ",
                      shape_str(label_shape), ")");
    ENGINE_CHECK(target.shape() == label_shape, op, ": target ", target.describe(),
                 " does not match logits ", logits.describe(),
                 ": int64 class indices must have shape ", shape_str(label_shape));
  } else {
    ENGINE_CHECK_TYPE(target.shape() != label_shape, op, ": target ", target.describe(),
                      " looks like class indices, which must be int64 (a float32 target holds "
                      "probabilities of the logits' shape ",
                      shape_str(logits.shape()), ")");
    ENGINE_CHECK(target.shape() == logits.shape(), op, ": target ", target.describe(),
                 " does not match logits ", logits.describe(),
                 ": expected float32 probabilities of shape ", shape_str(logits.shape()),
                 " or int64 class indices of shape ", shape_str(label_shape));
    ENGINE_CHECK(attrs.ignore_index == kNoIgnoreIndex, op, ": ignore_index ",
                 attrs.ignore_index, " applies to int64 class indices only, got a float32 target");
  }
  if (weight.defined()) {
    check_dense_float(weight, (op + ": sample_weight").c_str());
    ENGINE_CHECK(weight.shape() == Shape{logits.dim(0)}, op, ": sample_weight ",
                 weight.describe(), " must have shape [N] = [", logits.dim(0), "]");
  }
  return attrs.reduction == Reduction::None ? label_shape : Shape{};
}

struct CrossEntropyProblem {
  CrossEntropyArgs args;
  Shape loss_shape;
  int64_t count = 0;  // positions not ignored: the Mean denominator
};

CrossEntropyProblem prepare_cross_entropy(const Tensor& logits, const Tensor& target,
                                          const Tensor& weight, const CrossEntropyAttrs& attrs,
                                          const std::string& op) {
  CrossEntropyProblem p;
  p.loss_shape = check_cross_entropy(logits, target, weight, attrs, op);
  CrossEntropyArgs& a = p.args;
  a.n = logits.dim(0);
  a.c = logits.dim(1);
  a.d = a.n * a.c == 0 ? 0 : logits.numel() / (a.n * a.c);
  a.logits = logits.data<float>();
  a.weight = weight.defined() ? weight.data<float>() : nullptr;
  a.ignore_index = attrs.ignore_index;
  if (target.dtype() == DType::Float32) {
    a.probs = target.data<float>();
    p.count = a.n * a.d;
    return p;
  }
  a.labels = target.data<int64_t>();
  // Counted and checked where the labels live; the host reads back three numbers.
  const Tensor& result = label_check_buffer(target.device());
  loss_kernels().get(target.device()).check_labels(target.numel(), a.labels, a.c,
                                                   a.ignore_index, result.data<int64_t>());
  const Tensor host = result.to(Device::cpu());
  const int64_t* r = host.data<int64_t>();
  ENGINE_CHECK(r[1] < 0, op, ": label ", r[2], " at ",
               position_str(r[1], without_class_axis(logits.shape())), " is out of range [0, ",
               a.c, ")");
  p.count = r[0];
  return p;
}

}  // namespace

Shape softmax_cross_entropy_loss_shape(const Tensor& logits, const Tensor& target,
                                       const Tensor& weight, const CrossEntropyAttrs& attrs) {
  return check_cross_entropy(logits, target, weight, attrs, kCE);
}

void softmax_cross_entropy_forward(const Tensor& logits, const Tensor& target,
                                   const Tensor& weight, const CrossEntropyAttrs& attrs,
                                   Tensor& loss) {
  const CrossEntropyProblem p = prepare_cross_entropy(logits, target, weight, attrs, kCE);
  check_output(loss, p.loss_shape, "softmax_cross_entropy: loss");
  const LossKernels& kernels = loss_kernels().get(logits.device());
  if (attrs.reduction == Reduction::None) {
    kernels.softmax_cross_entropy_forward(p.args, loss.data<float>());
    return;
  }
  const int64_t positions = p.args.n * p.args.d;
  Tensor per_position = Tensor::empty({positions}, DType::Float32, logits.device());
  kernels.softmax_cross_entropy_forward(p.args, per_position.data<float>());
  kernels.sum_rows(1, positions, per_position.data<float>(),
                   reduction_divisor(attrs.reduction, p.count), loss.data<float>());
}

void softmax_cross_entropy_backward(const Tensor& dloss, const Tensor& logits,
                                    const Tensor& target, const Tensor& weight,
                                    const CrossEntropyAttrs& attrs, Tensor& dlogits) {
  const std::string op = std::string(kCE) + "_backward";
  const CrossEntropyProblem p = prepare_cross_entropy(logits, target, weight, attrs, op);
  check_output(dlogits, logits.shape(), op + ": dlogits");
  const float* dloss_data = nullptr;
  double scale = 1.0;
  if (attrs.reduction == Reduction::None) {
    check_output(dloss, p.loss_shape, op + ": dloss");
    dloss_data = dloss.data<float>();
  } else {
    scale = scalar_dloss(dloss, op);
    if (attrs.reduction == Reduction::Mean) scale = p.count > 0 ? scale / p.count : 0.0;
  }
  loss_kernels().get(logits.device()).softmax_cross_entropy_backward(
      p.args, dloss_data, static_cast<float>(scale), dlogits.data<float>());
}

// ---- losses of a prediction against a target of its shape -----------------------------

const char* loss_name(LossKind kind) {
  switch (kind) {
    case LossKind::MeanSquaredError: return "mean_squared_error";
    case LossKind::MeanAbsoluteError: return "mean_absolute_error";
    case LossKind::Huber: return "huber";
    case LossKind::BinaryCrossEntropy:
    case LossKind::BinaryCrossEntropyFromLogits: return "binary_cross_entropy";
    case LossKind::CategoricalCrossEntropy: return "categorical_cross_entropy";
  }
  return "unknown loss";
}

void check_loss_attrs(const LossAttrs& attrs, const std::string& op) {
  if (attrs.kind == LossKind::Huber)
    ENGINE_CHECK(std::isfinite(attrs.delta) && attrs.delta > 0.0f, op,
                 ": delta must be positive and finite, got ", attrs.delta);
}

namespace {
// The loss viewed as `samples` x `per_sample` terms (elements, or positions for the
// categorical loss), each sample's terms averaged into l_n.
struct LossProblem {
  Shape loss_shape;
  int64_t samples = 0, per_sample = 0;
  PointwiseLossArgs pointwise;
  CategoricalArgs categorical;
};

LossProblem prepare_loss(const Tensor& pred, const Tensor& target, const LossAttrs& attrs,
                         const std::string& op) {
  check_loss_attrs(attrs, op);
  check_dense_float(pred, (op + ": pred").c_str());
  check_dense_float(target, (op + ": target").c_str());
  const bool categorical = attrs.kind == LossKind::CategoricalCrossEntropy;
  const int min_rank = categorical ? 2 : 1;
  ENGINE_CHECK(pred.ndim() >= min_rank, op, ": pred must have rank >= ", min_rank,
               categorical ? " ([N, C, ...])" : " ([N, ...])", ", got ", pred.describe());
  ENGINE_CHECK(target.shape() == pred.shape(), op, ": target ", target.describe(),
               " does not match pred ", pred.describe());
  LossProblem p;
  p.samples = pred.dim(0);
  p.loss_shape = attrs.reduction == Reduction::None ? Shape{p.samples} : Shape{};
  if (!categorical) {
    p.per_sample = p.samples == 0 ? 0 : pred.numel() / p.samples;
    p.pointwise = {attrs.kind, attrs.delta, p.samples, p.per_sample, pred.data<float>(),
                   target.data<float>()};
    return p;
  }
  const int axis = normalize_axis(attrs.axis, pred.ndim(), op.c_str());
  ENGINE_CHECK(axis != 0, op, ": the class axis cannot be the batch axis 0 (pred ",
               pred.describe(), ")");
  ENGINE_CHECK(pred.dim(axis) >= 1, op, ": pred needs at least one class on axis ", axis,
               ", got ", pred.describe());
  CategoricalArgs& a = p.categorical;
  a.c = pred.dim(axis);
  a.m = 1;
  for (int i = 0; i < axis; ++i) a.m *= pred.dim(i);
  a.d = 1;
  for (int i = axis + 1; i < pred.ndim(); ++i) a.d *= pred.dim(i);
  a.pred = pred.data<float>();
  a.target = target.data<float>();
  p.per_sample = p.samples == 0 ? 0 : a.m * a.d / p.samples;
  return p;
}
}  // namespace

Shape loss_shape(const Tensor& pred, const Tensor& target, const LossAttrs& attrs) {
  return prepare_loss(pred, target, attrs, loss_name(attrs.kind)).loss_shape;
}

void loss_forward(const Tensor& pred, const Tensor& target, const LossAttrs& attrs,
                  Tensor& loss) {
  const std::string op = loss_name(attrs.kind);
  const LossProblem p = prepare_loss(pred, target, attrs, op);
  check_output(loss, p.loss_shape, op + ": loss");
  const LossKernels& kernels = loss_kernels().get(pred.device());
  Tensor per_sample = attrs.reduction == Reduction::None
                          ? loss
                          : Tensor::empty({p.samples}, DType::Float32, pred.device());
  if (attrs.kind != LossKind::CategoricalCrossEntropy) {
    kernels.pointwise_forward(p.pointwise, per_sample.data<float>());
  } else {
    const CategoricalArgs& a = p.categorical;
    Tensor per_position = Tensor::empty({a.m * a.d}, DType::Float32, pred.device());
    kernels.categorical_forward(a, per_position.data<float>());
    kernels.sum_rows(p.samples, p.per_sample, per_position.data<float>(),
                     reduction_divisor(Reduction::Mean, p.per_sample), per_sample.data<float>());
  }
  if (attrs.reduction == Reduction::None) return;
  kernels.sum_rows(1, p.samples, per_sample.data<float>(),
                   reduction_divisor(attrs.reduction, p.samples), loss.data<float>());
}

void loss_backward(const Tensor& dloss, const Tensor& pred, const Tensor& target,
                   const LossAttrs& attrs, Tensor& dpred, Tensor& dtarget) {
  const std::string op = std::string(loss_name(attrs.kind)) + "_backward";
  const LossProblem p = prepare_loss(pred, target, attrs, op);
  if (dpred.defined()) check_output(dpred, pred.shape(), op + ": dpred");
  if (dtarget.defined()) check_output(dtarget, pred.shape(), op + ": dtarget");
  const float* dloss_data = nullptr;
  double scale = p.per_sample > 0 ? 1.0 / p.per_sample : 0.0;
  if (attrs.reduction == Reduction::None) {
    check_output(dloss, p.loss_shape, op + ": dloss");
    dloss_data = dloss.data<float>();
  } else {
    scale *= scalar_dloss(dloss, op);
    if (attrs.reduction == Reduction::Mean) scale = p.samples > 0 ? scale / p.samples : 0.0;
  }
  if (!dpred.defined() && !dtarget.defined()) return;
  float* dp = dpred.defined() ? dpred.data<float>() : nullptr;
  float* dt = dtarget.defined() ? dtarget.data<float>() : nullptr;
  const LossKernels& kernels = loss_kernels().get(pred.device());
  if (attrs.kind != LossKind::CategoricalCrossEntropy) {
    kernels.pointwise_backward(p.pointwise, dloss_data, static_cast<float>(scale), dp, dt);
  } else {
    kernels.categorical_backward(p.categorical, dloss_data, p.per_sample,
                                 static_cast<float>(scale), dp, dt);
  }
}

}  // namespace engine
