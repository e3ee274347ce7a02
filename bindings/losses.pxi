# Training losses. Included by _core.pyx.
from ops_losses cimport Reduction, CrossEntropyAttrs, LossAttrs, LossKind
cimport ops_losses as lss

_LOSS_PY_BOOL = type(True)  # `bool` names the C++ type in this module


cdef Reduction _reduction(object name, str op) except *:
    if not isinstance(name, str):
        raise TypeError(f"{op}: reduction must be a string ('mean', 'sum' or 'none'), "
                        f"got {name!r}")
    cdef string cname = name.encode()
    return lss.reduction_from_name(cname, op.encode())


cdef CrossEntropyAttrs _cross_entropy_attrs(reduction, ignore_index, str op) except *:
    cdef CrossEntropyAttrs attrs
    attrs.reduction = _reduction(reduction, op)
    attrs.ignore_index = lss.kNoIgnoreIndex
    if ignore_index is not None:
        if not isinstance(ignore_index, (int, np.integer)):
            raise TypeError(f"{op}: ignore_index must be an integer, got {ignore_index!r}")
        attrs.ignore_index = int(ignore_index)
    return attrs


def softmax_cross_entropy_forward(logits, target, sample_weight=None, reduction="mean",
                                  ignore_index=None):
    """Softmax cross-entropy of logits [N, C, ...] against int64 class indices [N, ...] or
    float32 probabilities [N, C, ...]; see engine.ops.softmax_cross_entropy."""
    op = "softmax_cross_entropy"
    cdef CrossEntropyAttrs attrs = _cross_entropy_attrs(reduction, ignore_index, op)
    cdef Tensor tlogits = as_tensor(logits, op + ": logits")
    cdef Tensor ttarget = as_tensor(target, op + ": target")
    cdef Tensor tweight = as_optional_tensor(sample_weight, op + ": sample_weight")
    cdef Tensor tloss
    with nogil:
        tloss = lss.softmax_cross_entropy_forward(tlogits, ttarget, tweight, attrs)
    return to_numpy(tloss)


def softmax_cross_entropy_backward(dloss, logits, target, sample_weight=None,
                                   reduction="mean", ignore_index=None):
    """dlogits of softmax_cross_entropy_forward."""
    op = "softmax_cross_entropy_backward"
    cdef CrossEntropyAttrs attrs = _cross_entropy_attrs(reduction, ignore_index, op)
    cdef Tensor tdloss = as_tensor(dloss, op + ": dloss")
    cdef Tensor tlogits = as_tensor(logits, op + ": logits")
    cdef Tensor ttarget = as_tensor(target, op + ": target")
    cdef Tensor tweight = as_optional_tensor(sample_weight, op + ": sample_weight")
    cdef Tensor tdlogits
    with nogil:
        tdlogits = lss.softmax_cross_entropy_backward(tdloss, tlogits, ttarget, tweight, attrs)
    return to_numpy(tdlogits)


cdef LossKind _loss_kind(str name) except *:
    if name == "mean_squared_error":
        return LossKind.MeanSquaredError
    if name == "mean_absolute_error":
        return LossKind.MeanAbsoluteError
    if name == "huber":
        return LossKind.Huber
    if name == "binary_cross_entropy":
        return LossKind.BinaryCrossEntropy
    if name == "binary_cross_entropy_from_logits":
        return LossKind.BinaryCrossEntropyFromLogits
    if name == "categorical_cross_entropy":
        return LossKind.CategoricalCrossEntropy
    raise ValueError(f"unknown loss {name!r}")


cdef LossAttrs _loss_attrs(str kind, reduction, delta, axis, str op) except *:
    cdef LossAttrs attrs
    attrs.kind = _loss_kind(kind)
    attrs.reduction = _reduction(reduction, op)
    if (not isinstance(delta, (int, float, np.integer, np.floating))
            or isinstance(delta, _LOSS_PY_BOOL)):
        raise TypeError(f"{op}: delta must be a number, got {delta!r}")
    attrs.delta = float(delta)
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, _LOSS_PY_BOOL):
        raise TypeError(f"{op}: axis must be an integer, got {axis!r}")
    attrs.axis = int(axis)
    return attrs


def loss_forward(str kind, pred, target, reduction="mean", delta=1.0, axis=1):
    """A loss of pred against a float32 target of its shape; `kind` names it
    ("mean_squared_error", "huber", "binary_cross_entropy_from_logits", ...)."""
    op = kind.replace("_from_logits", "")
    cdef LossAttrs attrs = _loss_attrs(kind, reduction, delta, axis, op)
    cdef Tensor tpred = as_tensor(pred, op + ": pred")
    cdef Tensor ttarget = as_tensor(target, op + ": target")
    cdef Tensor tloss
    with nogil:
        tloss = lss.loss_forward(tpred, ttarget, attrs)
    return to_numpy(tloss)


def loss_backward(str kind, dloss, pred, target, reduction="mean", delta=1.0, axis=1,
                  bint target_grad=False):
    """dpred, or (dpred, dtarget) when `target_grad`."""
    op = kind.replace("_from_logits", "") + "_backward"
    cdef LossAttrs attrs = _loss_attrs(kind, reduction, delta, axis, op)
    cdef Tensor tdloss = as_tensor(dloss, op + ": dloss")
    cdef Tensor tpred = as_tensor(pred, op + ": pred")
    cdef Tensor ttarget = as_tensor(target, op + ": target")
    cdef Tensor tdpred, tdtarget
    if tpred.dtype() == DType.Float32:  # otherwise the core names the dtype error
        tdpred = core.tensor_empty(tpred.shape(), DType.Float32)
        if target_grad:
            tdtarget = core.tensor_empty(tpred.shape(), DType.Float32)
    with nogil:
        lss.loss_backward(tdloss, tpred, ttarget, attrs, tdpred, tdtarget)
    if target_grad:
        return to_numpy(tdpred), to_numpy(tdtarget)
    return to_numpy(tdpred)
