"""Training losses and their gradients (engine ops, not ONNX inference ops).

Reductions: "mean" (the default), "sum", or "none" (one loss per sample, or per position
for spatial cross-entropy). With `sample_weight`, "mean" is sum(w * l) / (number of
losses), Keras's "sum_over_batch_size": a zero weight lowers the mean rather than
renormalising the batch. Without weights it is the plain mean, as in ONNX and PyTorch.
Reduced losses are float32 arrays of shape ().

The losses of a prediction against a float32 target of its shape (mean squared/absolute
error, Huber, binary and categorical cross-entropy) first average each sample's terms over
its non-batch dims into a per-sample loss l_n ("none" returns these, shape [N]); "sum" and
"mean" then sum or average them, so "mean" is the mean over every element. Keras averages
over the last axis only: the two agree for [N, k] inputs in every reduction, and for any
shape in "mean" (sum_over_batch_size); for inputs of rank > 2 the per-sample "none" and the
"sum" here also average over the middle dims. Backward functions return dpred, or
(dpred, dtarget) with `target_grad=True`.
"""
from engine.ops._run import backward, forward

__all__ = [
    "softmax_cross_entropy", "softmax_cross_entropy_backward",
    "mean_squared_error", "mean_squared_error_backward",
    "mean_absolute_error", "mean_absolute_error_backward",
    "huber", "huber_backward",
    "binary_cross_entropy", "binary_cross_entropy_backward",
    "categorical_cross_entropy", "categorical_cross_entropy_backward",
]


def _reduction(reduction):
    # None would leave the attribute out (its default); here it is a mistake.
    if not isinstance(reduction, str):
        raise TypeError(f"reduction must be a string ('mean', 'sum' or 'none'), got {reduction!r}")
    return reduction


def _ce_attrs(reduction, ignore_index):
    return {"reduction": _reduction(reduction), "ignore_index": ignore_index}


def softmax_cross_entropy(logits, target, sample_weight=None, reduction="mean",
                          ignore_index=None):
    """Cross-entropy of softmax(logits) along axis 1 (ONNX SoftmaxCrossEntropyLoss layout).

    logits: float32 [N, C] or [N, C, d1, ...].
    target: int64 class indices [N] / [N, d1, ...] in [0, C) (a label out of range is a
        ValueError naming it and its position), or float32 probabilities of the logits'
        shape (one-hot or soft labels).
    sample_weight: optional float32 [N], one weight per sample.
    ignore_index: with integer targets, positions holding this label add no loss, no
        gradient, and do not count in the "mean".
    """
    return forward("SoftmaxCrossEntropy", [logits, target, sample_weight],
                   ("logits", "target", "sample_weight"), _ce_attrs(reduction, ignore_index),
                   domain="engine", label="softmax_cross_entropy")


def softmax_cross_entropy_backward(dloss, logits, target, sample_weight=None, reduction="mean",
                                   ignore_index=None):
    """dlogits = (softmax(logits) * sum(target) - target) * w * dloss (/ count for "mean").

    `dloss` is a scalar for "mean"/"sum" and has the loss's shape for "none". The target
    gets no gradient (labels are data).
    """
    return backward("SoftmaxCrossEntropy", [logits, target, sample_weight],
                    ("logits", "target", "sample_weight"), dloss,
                    _ce_attrs(reduction, ignore_index), need=[True, False, False],
                    domain="engine", label="softmax_cross_entropy", dout_name="dloss")[0]


def _loss(op_type, label, pred, target, attrs):
    return forward(op_type, [pred, target], ("pred", "target"), attrs, domain="engine",
                   label=label)


def _loss_backward(op_type, label, dloss, pred, target, attrs, target_grad):
    dpred, dtarget = backward(op_type, [pred, target], ("pred", "target"), dloss, attrs,
                              need=[True, bool(target_grad)], domain="engine", label=label,
                              dout_name="dloss")
    return (dpred, dtarget) if target_grad else dpred


def mean_squared_error(pred, target, reduction="mean"):
    """Per-sample mean of (pred - target)^2 over the non-batch dims (Keras), then reduced.

    "none" gives shape [N]; "sum" sums the per-sample losses; "mean" averages them, which is
    the mean over all elements.
    """
    return _loss("MeanSquaredError", "mean_squared_error", pred, target, {"reduction": _reduction(reduction)})


def mean_squared_error_backward(dloss, pred, target, reduction="mean", target_grad=False):
    """dpred = 2 (pred - target) * g; (dpred, dtarget) with dtarget = -dpred when
    `target_grad` is true."""
    return _loss_backward("MeanSquaredError", "mean_squared_error", dloss, pred, target,
                          {"reduction": _reduction(reduction)}, target_grad)


def mean_absolute_error(pred, target, reduction="mean"):
    """Per-sample mean of |pred - target| over the non-batch dims, then reduced."""
    return _loss("MeanAbsoluteError", "mean_absolute_error", pred, target,
                 {"reduction": _reduction(reduction)})


def mean_absolute_error_backward(dloss, pred, target, reduction="mean", target_grad=False):
    """dpred = sign(pred - target) * g (0 where they are equal); dtarget = -dpred."""
    return _loss_backward("MeanAbsoluteError", "mean_absolute_error", dloss, pred, target,
                          {"reduction": _reduction(reduction)}, target_grad)


def huber(pred, target, delta=1.0, reduction="mean"):
    """Keras's Huber loss, x = pred - target: 0.5 x^2 where |x| <= delta, else
    delta |x| - 0.5 delta^2; per-sample mean over the non-batch dims, then reduced.
    delta must be positive and finite."""
    return _loss("Huber", "huber", pred, target, {"reduction": _reduction(reduction), "delta": delta})


def huber_backward(dloss, pred, target, delta=1.0, reduction="mean", target_grad=False):
    """dpred = clip(pred - target, -delta, delta) * g; dtarget = -dpred."""
    return _loss_backward("Huber", "huber", dloss, pred, target,
                          {"reduction": _reduction(reduction), "delta": delta}, target_grad)


def _binary_attrs(from_logits, reduction):
    return {"reduction": _reduction(reduction), "from_logits": int(bool(from_logits))}


def binary_cross_entropy(pred, target, from_logits=False, reduction="mean"):
    """Binary cross-entropy against targets in [0, 1] of pred's shape, per-sample mean over
    the non-batch dims, then reduced.

    from_logits: pred holds logits z; the loss is max(z, 0) - z t + log1p(exp(-|z|)), finite
        for any z. Otherwise pred holds probabilities, clipped to [1e-7, 1 - 1e-7] as Keras
        does: -(t log p + (1 - t) log(1 - p)).
    """
    return _loss("BinaryCrossEntropy", "binary_cross_entropy", pred, target,
                 _binary_attrs(from_logits, reduction))


def binary_cross_entropy_backward(dloss, pred, target, from_logits=False, reduction="mean",
                                  target_grad=False):
    """dpred = (sigmoid(z) - t) * g from logits; (p - t) / (p (1 - p)) * g from
    probabilities, 0 where p was clipped. dtarget = -z * g, or log((1 - p) / p) * g."""
    return _loss_backward("BinaryCrossEntropy", "binary_cross_entropy", dloss, pred, target,
                          _binary_attrs(from_logits, reduction), target_grad)


def categorical_cross_entropy(pred, target, reduction="mean", axis=1):
    """Cross-entropy of probabilities pred [N, C, d...] (classes on `axis`, default 1)
    against target distributions of the same shape, as Keras computes it without logits:
    q = clip(pred / sum(pred over the classes), 1e-7, 1 - 1e-7), loss = -sum_c t_c log q_c.

    The per-sample loss ("none", shape [N]) is the class sum averaged over the remaining
    dims. pred must be non-negative with a positive sum at every position.
    """
    return _loss("CategoricalCrossEntropy", "categorical_cross_entropy", pred, target,
                 {"reduction": _reduction(reduction), "axis": axis})


def categorical_cross_entropy_backward(dloss, pred, target, reduction="mean", axis=1,
                                       target_grad=False):
    """The exact gradient of categorical_cross_entropy, normalisation and clipping included;
    dtarget = -log q * g."""
    return _loss_backward("CategoricalCrossEntropy", "categorical_cross_entropy", dloss, pred,
                          target, {"reduction": _reduction(reduction), "axis": axis}, target_grad)
