"""Training losses and their gradients (engine ops, not ONNX inference ops).

Reductions: "mean" (the default), "sum", or "none" (one loss per sample, or per position
for spatial cross-entropy). With `sample_weight`, "mean" is sum(w * l) / (number of
losses), Keras's "sum_over_batch_size": a zero weight lowers the mean rather than
renormalising the batch. Without weights it is the plain mean, as in ONNX and PyTorch.
Reduced losses are float32 arrays of shape ().
"""
from engine import _core

__all__ = [
    "softmax_cross_entropy", "softmax_cross_entropy_backward",
    "mean_squared_error", "mean_squared_error_backward",
]


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
    return _core.softmax_cross_entropy_forward(logits, target, sample_weight, reduction,
                                               ignore_index)


def softmax_cross_entropy_backward(dloss, logits, target, sample_weight=None, reduction="mean",
                                   ignore_index=None):
    """dlogits = (softmax(logits) * sum(target) - target) * w * dloss (/ count for "mean").

    `dloss` is a scalar for "mean"/"sum" and has the loss's shape for "none". The target
    gets no gradient (labels are data).
    """
    return _core.softmax_cross_entropy_backward(dloss, logits, target, sample_weight,
                                                reduction, ignore_index)


def mean_squared_error(pred, target, reduction="mean"):
    """Per-sample mean of (pred - target)^2 over the non-batch dims (Keras), then reduced.

    "none" gives shape [N]; "sum" sums the per-sample losses; "mean" averages them, which is
    the mean over all elements.
    """
    return _core.mean_squared_error_forward(pred, target, reduction)


def mean_squared_error_backward(dloss, pred, target, reduction="mean", target_grad=False):
    """dpred; (dpred, dtarget) with dtarget = -dpred when `target_grad` is true."""
    return _core.mean_squared_error_backward(dloss, pred, target, reduction, target_grad)
