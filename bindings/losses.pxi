# Training losses. Included by _core.pyx.
from ops_losses cimport Reduction, CrossEntropyAttrs
cimport ops_losses as lss


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


def mean_squared_error_forward(pred, target, reduction="mean"):
    op = "mean_squared_error"
    cdef Reduction red = _reduction(reduction, op)
    cdef Tensor tpred = as_tensor(pred, op + ": pred")
    cdef Tensor ttarget = as_tensor(target, op + ": target")
    cdef Tensor tloss
    with nogil:
        tloss = lss.mean_squared_error_forward(tpred, ttarget, red)
    return to_numpy(tloss)


def mean_squared_error_backward(dloss, pred, target, reduction="mean", bint target_grad=False):
    """dpred, or (dpred, dtarget) when `target_grad`."""
    op = "mean_squared_error_backward"
    cdef Reduction red = _reduction(reduction, op)
    cdef Tensor tdloss = as_tensor(dloss, op + ": dloss")
    cdef Tensor tpred = as_tensor(pred, op + ": pred")
    cdef Tensor ttarget = as_tensor(target, op + ": target")
    cdef Tensor tdpred, tdtarget
    if tpred.dtype() == DType.Float32:  # otherwise the core names the dtype error
        tdpred = core.tensor_empty(tpred.shape(), DType.Float32)
        if target_grad:
            tdtarget = core.tensor_empty(tpred.shape(), DType.Float32)
    with nogil:
        lss.mean_squared_error_backward(tdloss, tpred, ttarget, red, tdpred, tdtarget)
    if target_grad:
        return to_numpy(tdpred), to_numpy(tdtarget)
    return to_numpy(tdpred)
