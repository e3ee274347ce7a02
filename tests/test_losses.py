"""Losses: softmax cross-entropy and mean squared error vs numpy float64 references."""
import numpy as np
import pytest
from scipy.special import log_softmax as np_log_softmax

from engine import ops
from helpers import ELEMENTWISE_RTOL, REDUCTION_RTOL, assert_close, numeric_grads, randn

REDUCTIONS = ["mean", "sum", "none"]
# logits shapes: plain [N, C] and spatial [N, C, d1, ...] (class axis 1).
CE_SHAPES = [(13, 7), (1, 5), (5, 7, 3), (3, 4, 2, 5), (33, 257)]


def _id(shape):
    return "x".join(map(str, shape))


def one_hot(labels, c):
    """[N, d...] int labels -> [N, C, d...] float32 probabilities (class axis 1)."""
    return np.moveaxis(np.eye(c, dtype=np.float32)[labels], -1, 1).copy()


def np_cross_entropy(logits, probs, weight=None, reduction="mean", keep=None):
    """float64 reference from probabilities [N, C, ...]; `keep` masks ignored positions."""
    logits = np.asarray(logits, dtype=np.float64)
    probs = np.asarray(probs, dtype=np.float64)
    loss = -np.sum(probs * np_log_softmax(logits, axis=1), axis=1)
    if weight is not None:
        loss = loss * np.asarray(weight, np.float64).reshape((-1,) + (1,) * (loss.ndim - 1))
    if keep is None:
        keep = np.ones(loss.shape, dtype=bool)
    loss = np.where(keep, loss, 0.0)
    if reduction == "none":
        return loss
    if reduction == "sum":
        return np.sum(loss)
    return np.sum(loss) / max(np.count_nonzero(keep), 1)


def random_case(rng, shape):
    logits = randn(rng, *shape, scale=3.0)
    labels = rng.integers(0, shape[1], size=(shape[0],) + shape[2:]).astype(np.int64)
    return logits, labels


def random_dloss(rng, reduction, loss_shape):
    if reduction == "none":
        return randn(rng, *loss_shape)
    return np.float32(rng.uniform(0.5, 2.0))


# ---- softmax cross-entropy: forward --------------------------------------------------

@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", CE_SHAPES, ids=_id)
def test_cross_entropy_labels_and_one_hot_match_numpy(shape, reduction, rng, kernel_impl):
    logits, labels = random_case(rng, shape)
    probs = one_hot(labels, shape[1])
    expected = np_cross_entropy(logits, probs, reduction=reduction)
    from_labels = ops.softmax_cross_entropy(logits, labels, reduction=reduction)
    from_probs = ops.softmax_cross_entropy(logits, probs, reduction=reduction)
    assert from_labels.shape == expected.shape
    assert from_labels.dtype == np.float32
    assert_close(from_labels, expected, ELEMENTWISE_RTOL, "int labels")
    assert_close(from_probs, expected, ELEMENTWISE_RTOL, "one-hot")


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(13, 7), (5, 7, 3)], ids=_id)
def test_cross_entropy_soft_labels(shape, reduction, rng, kernel_impl):
    logits, _ = random_case(rng, shape)
    probs = np.moveaxis(rng.dirichlet(np.ones(shape[1]), size=(shape[0],) + shape[2:]), -1, 1)
    probs = np.ascontiguousarray(probs, dtype=np.float32)
    assert_close(ops.softmax_cross_entropy(logits, probs, reduction=reduction),
                 np_cross_entropy(logits, probs, reduction=reduction), ELEMENTWISE_RTOL)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(13, 7), (5, 7, 3)], ids=_id)
def test_cross_entropy_sample_weights(shape, reduction, rng, kernel_impl):
    logits, labels = random_case(rng, shape)
    weight = rng.uniform(0.0, 2.0, size=shape[0]).astype(np.float32)
    weight[0] = 0.0
    expected = np_cross_entropy(logits, one_hot(labels, shape[1]), weight, reduction)
    out = ops.softmax_cross_entropy(logits, labels, sample_weight=weight, reduction=reduction)
    assert_close(out, expected, ELEMENTWISE_RTOL)
    if reduction == "mean":
        # Keras "sum_over_batch_size": divided by the number of losses, not by sum(w).
        per = ops.softmax_cross_entropy(logits, labels, reduction="none").astype(np.float64)
        w = weight.reshape((-1,) + (1,) * (per.ndim - 1))
        assert_close(out, np.sum(per * w) / per.size, ELEMENTWISE_RTOL)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_ignore_index(reduction, rng, kernel_impl):
    logits, labels = random_case(rng, (7, 5, 3))
    labels[1, 2] = labels[4, 0] = labels[6, 1] = -100
    keep = labels != -100
    probs = one_hot(np.where(keep, labels, 0), 5)
    expected = np_cross_entropy(logits, probs, reduction=reduction, keep=keep)
    out = ops.softmax_cross_entropy(logits, labels, reduction=reduction, ignore_index=-100)
    assert_close(out, expected, ELEMENTWISE_RTOL)
    # A valid class may be the ignored one too.
    keep3 = labels != 3
    out3 = ops.softmax_cross_entropy(logits, np.where(keep, labels, 0), reduction=reduction,
                                     ignore_index=3)
    expected3 = np_cross_entropy(logits, one_hot(np.where(keep, labels, 0), 5),
                                 reduction=reduction, keep=np.where(keep, keep3, True))
    assert_close(out3, expected3, ELEMENTWISE_RTOL)


def test_cross_entropy_all_ignored_mean_is_zero(kernel_impl):
    logits = np.ones((3, 4), dtype=np.float32)
    labels = np.full(3, -1, dtype=np.int64)
    assert ops.softmax_cross_entropy(logits, labels, ignore_index=-1) == 0.0
    dlogits = ops.softmax_cross_entropy_backward(1.0, logits, labels, ignore_index=-1)
    np.testing.assert_array_equal(dlogits, np.zeros_like(logits))


def test_cross_entropy_huge_logits_stay_finite(kernel_impl):
    logits = np.array([[1e4, -1e4, 1e4 - 1, 0.0],
                       [-1e4, -1e4 + 3, 5.0, -1e4],
                       [2e4, 2e4, 2e4, -2e4]], dtype=np.float32)
    labels = np.array([2, 1, 3], dtype=np.int64)
    probs = one_hot(labels, 4)
    expected = np_cross_entropy(logits, probs, reduction="none")
    for target in (labels, probs):
        loss = ops.softmax_cross_entropy(logits, target, reduction="none")
        assert np.all(np.isfinite(loss))
        np.testing.assert_allclose(loss, expected, rtol=1e-6)
        d = ops.softmax_cross_entropy_backward(np.ones(3, np.float32), logits, target,
                                               reduction="none")
        expected_d = np.exp(np_log_softmax(logits.astype(np.float64), axis=1)) - probs
        np.testing.assert_allclose(d, expected_d, rtol=1e-6, atol=1e-7)


# ---- softmax cross-entropy: backward -------------------------------------------------

@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("target_kind", ["labels", "soft", "unnormalised"])
@pytest.mark.parametrize("shape", [(3, 4), (2, 3, 2)], ids=_id)
def test_cross_entropy_backward_matches_finite_differences(shape, target_kind, reduction, rng,
                                                           kernel_impl):
    logits, labels = random_case(rng, shape)
    weight = rng.uniform(0.5, 2.0, size=shape[0]).astype(np.float32)
    if target_kind == "labels":
        target, probs = labels, one_hot(labels, shape[1])
    else:
        probs = rng.uniform(0.1, 1.0, size=shape).astype(np.float32)
        if target_kind == "soft":
            probs = (probs / probs.sum(axis=1, keepdims=True)).astype(np.float32)
        target = probs
    loss_shape = (shape[0],) + shape[2:]
    dloss = random_dloss(rng, reduction, loss_shape)
    (numeric,) = numeric_grads(lambda z: np_cross_entropy(z, probs, weight, reduction),
                               [logits], dloss)
    out = ops.softmax_cross_entropy_backward(dloss, logits, target, sample_weight=weight,
                                             reduction=reduction)
    assert_close(out, numeric, REDUCTION_RTOL, "dlogits")


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(257, 33), (7, 13, 33)], ids=_id)
def test_cross_entropy_backward_matches_numpy(shape, reduction, rng, kernel_impl):
    logits, labels = random_case(rng, shape)
    labels.reshape(-1)[::5] = -1  # some ignored positions
    keep = labels != -1
    weight = rng.uniform(0.5, 2.0, size=shape[0]).astype(np.float32)
    loss_shape = labels.shape
    dloss = random_dloss(rng, reduction, loss_shape)
    probs = one_hot(np.where(keep, labels, 0), shape[1])
    g = np.broadcast_to(np.asarray(dloss, np.float64), loss_shape)
    g = g * weight.astype(np.float64).reshape((-1,) + (1,) * (len(loss_shape) - 1)) * keep
    if reduction == "mean":
        g = g / np.count_nonzero(keep)
    soft = np.exp(np_log_softmax(logits.astype(np.float64), axis=1))
    expected = (soft - probs) * np.expand_dims(g, 1)
    out = ops.softmax_cross_entropy_backward(dloss, logits, labels, sample_weight=weight,
                                             reduction=reduction, ignore_index=-1)
    assert_close(out, expected, ELEMENTWISE_RTOL)
    # Integer labels and their one-hot form give the same gradient (no ignored positions).
    full = np.where(keep, labels, 0)
    assert_close(ops.softmax_cross_entropy_backward(dloss, logits, one_hot(full, shape[1]),
                                                    reduction=reduction),
                 ops.softmax_cross_entropy_backward(dloss, logits, full, reduction=reduction),
                 ELEMENTWISE_RTOL, "one-hot vs labels")


# ---- softmax cross-entropy: errors ---------------------------------------------------

def test_cross_entropy_bad_inputs_raise_clear_errors():
    logits = np.zeros((4, 3), dtype=np.float32)
    labels = np.array([0, 2, 1, 0], dtype=np.int64)
    ce = ops.softmax_cross_entropy
    with pytest.raises(ValueError, match=r"label 3 at target\[2\] is out of range \[0, 3\)"):
        ce(logits, np.array([0, 2, 3, 0], dtype=np.int64))
    with pytest.raises(ValueError, match=r"label -1 at target\[0\] is out of range"):
        ce(logits, np.array([-1, 0, 0, 0], dtype=np.int64))
    with pytest.raises(ValueError, match=r"_backward: label 7 at target\[3\]"):
        ops.softmax_cross_entropy_backward(1.0, logits, np.array([0, 0, 0, 7], dtype=np.int64))
    spatial = np.zeros((2, 3, 5), dtype=np.float32)
    bad = np.zeros((2, 5), dtype=np.int64)
    bad[1, 4] = 5
    with pytest.raises(ValueError, match=r"label 5 at target\[1, 4\]"):
        ce(spatial, bad)
    with pytest.raises(TypeError, match="looks like class indices, which must be int64"):
        ce(logits, labels.astype(np.float32))
    with pytest.raises(TypeError, match="probabilities, which must be float32"):
        ce(logits, one_hot(labels, 3).astype(np.int64))
    with pytest.raises(TypeError, match="target must be a float32 or int64 array"):
        ce(logits, labels.astype(np.int32))
    with pytest.raises(TypeError, match="logits must be a float32 or int64 array"):
        ce(logits.astype(np.float64), labels)
    with pytest.raises(ValueError, match=r"target int64\[3\] does not match logits float32"):
        ce(logits, labels[:3])
    with pytest.raises(ValueError, match=r"target float32\[4, 2\] does not match logits"):
        ce(logits, np.zeros((4, 2), dtype=np.float32))
    with pytest.raises(ValueError, match=r"logits must have rank >= 2"):
        ce(np.zeros(4, dtype=np.float32), labels)
    with pytest.raises(ValueError, match=r"sample_weight float32\[3\] must have shape \[N\] = \[4"):
        ce(logits, labels, sample_weight=np.ones(3, dtype=np.float32))
    with pytest.raises(ValueError, match=r"unknown reduction 'avg' \(expected 'mean', 'sum' or"):
        ce(logits, labels, reduction="avg")
    with pytest.raises(TypeError, match="reduction must be a string"):
        ce(logits, labels, reduction=None)
    with pytest.raises(ValueError, match="ignore_index -100 applies to int64 class indices only"):
        ce(logits, one_hot(labels, 3), ignore_index=-100)
    with pytest.raises(ValueError, match="C-contiguous"):
        ce(np.zeros((3, 4), dtype=np.float32).T, labels)
    with pytest.raises(ValueError, match=r"dloss must hold one value"):
        ops.softmax_cross_entropy_backward(np.ones(4, np.float32), logits, labels)
    with pytest.raises(ValueError, match=r"dloss must have shape \[4\]"):
        ops.softmax_cross_entropy_backward(np.float32(1), logits, labels, reduction="none")


# ---- mean squared error --------------------------------------------------------------

def np_mse(pred, target, reduction="mean"):
    pred = np.asarray(pred, np.float64)
    diff = (pred - np.asarray(target, np.float64)).reshape(pred.shape[0], -1)
    per = np.mean(diff * diff, axis=1)
    return {"none": per, "sum": np.sum(per), "mean": np.mean(per)}[reduction]


MSE_SHAPES = [(13,), (7, 33), (5, 3, 7), (257, 13)]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", MSE_SHAPES, ids=_id)
def test_mse_matches_numpy(shape, reduction, rng, kernel_impl):
    pred, target = randn(rng, *shape), randn(rng, *shape)
    out = ops.mean_squared_error(pred, target, reduction=reduction)
    expected = np_mse(pred, target, reduction)
    assert out.shape == np.shape(expected)
    assert_close(out, expected, ELEMENTWISE_RTOL)
    if reduction == "mean":
        assert_close(out, np.mean((pred.astype(np.float64) - target) ** 2), ELEMENTWISE_RTOL)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(4,), (3, 2, 2)], ids=_id)
def test_mse_backward_matches_finite_differences(shape, reduction, rng, kernel_impl):
    pred, target = randn(rng, *shape), randn(rng, *shape)
    dloss = random_dloss(rng, reduction, shape[:1])
    dpred_num, dtarget_num = numeric_grads(lambda p, t: np_mse(p, t, reduction), [pred, target],
                                           dloss)
    dpred, dtarget = ops.mean_squared_error_backward(dloss, pred, target, reduction=reduction,
                                                     target_grad=True)
    assert_close(dpred, dpred_num, REDUCTION_RTOL, "dpred")
    assert_close(dtarget, dtarget_num, REDUCTION_RTOL, "dtarget")


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(257, 13), (7, 5, 33)], ids=_id)
def test_mse_backward_matches_numpy(shape, reduction, rng, kernel_impl):
    pred, target = randn(rng, *shape), randn(rng, *shape)
    dloss = random_dloss(rng, reduction, shape[:1])
    k = np.prod(shape[1:])
    g = np.broadcast_to(np.asarray(dloss, np.float64), shape[:1]) / k
    if reduction == "mean":
        g = g / shape[0]
    g = g.reshape((-1,) + (1,) * (len(shape) - 1))
    expected = 2 * (pred.astype(np.float64) - target) * g
    out = ops.mean_squared_error_backward(dloss, pred, target, reduction=reduction)
    assert_close(out, expected, ELEMENTWISE_RTOL)


def test_mse_bad_inputs_raise_clear_errors():
    a = np.ones((4, 3), dtype=np.float32)
    with pytest.raises(ValueError, match=r"target float32\[4, 2\] does not match pred float32"):
        ops.mean_squared_error(a, a[:, :2].copy())
    with pytest.raises(TypeError, match="mean_squared_error: target must be float32, got int64"):
        ops.mean_squared_error(a, a.astype(np.int64))
    with pytest.raises(TypeError, match="pred must be a float32 or int64 array"):
        ops.mean_squared_error(a.astype(np.float64), a)
    with pytest.raises(ValueError, match="unknown reduction 'avg'"):
        ops.mean_squared_error(a, a, reduction="avg")
    with pytest.raises(ValueError, match="rank >= 1"):
        ops.mean_squared_error(np.float32(1), np.float32(1), reduction="sum")
    with pytest.raises(ValueError, match="C-contiguous"):
        ops.mean_squared_error(a.T, a.T)
    with pytest.raises(ValueError, match=r"error_backward: dloss must have shape \[4\]"):
        ops.mean_squared_error_backward(np.ones(3, np.float32), a, a, reduction="none")


# ---- onnxruntime ---------------------------------------------------------------------

def _sce_model(logits_shape, reduction, with_weight, ignore_index):
    onnx = pytest.importorskip("onnx", reason="onnx is not installed")
    from onnx import TensorProto, helper
    inputs = ["scores", "labels"] + (["weights"] if with_weight else [])
    attrs = {"reduction": reduction}
    if ignore_index is not None:
        attrs["ignore_index"] = ignore_index
    node = helper.make_node("SoftmaxCrossEntropyLoss", inputs, ["loss"], **attrs)
    label_shape = [logits_shape[0]] + list(logits_shape[2:])
    vi = [helper.make_tensor_value_info("scores", TensorProto.FLOAT, list(logits_shape)),
          helper.make_tensor_value_info("labels", TensorProto.INT64, label_shape)]
    if with_weight:
        vi.append(helper.make_tensor_value_info("weights", TensorProto.FLOAT, [logits_shape[1]]))
    loss_shape = label_shape if reduction == "none" else []
    graph = helper.make_graph([node], "g", vi,
                              [helper.make_tensor_value_info("loss", TensorProto.FLOAT,
                                                             loss_shape)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 10
    onnx.checker.check_model(model)
    return model.SerializeToString()


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(13, 7), (5, 7, 3)], ids=_id)
@pytest.mark.parametrize("variant", ["plain", "class_weights", "ignore_index"])
def test_cross_entropy_matches_onnxruntime(shape, reduction, variant, rng):
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
    logits, labels = random_case(rng, shape)
    feeds = {"scores": logits, "labels": labels}
    kwargs = {"reduction": reduction}
    if variant == "class_weights":
        if reduction == "mean":
            pytest.skip("ONNX divides a weighted mean by sum(w); ours is Keras's sum(w*l)/N")
        # ONNX weights are per class; the same numbers as per-sample weights w[label].
        class_w = rng.uniform(0.5, 2.0, size=shape[1]).astype(np.float32)
        feeds["weights"] = class_w
        if len(shape) > 2:
            pytest.skip("per-sample weights cannot express per-position class weights")
        kwargs["sample_weight"] = class_w[labels]
    ignore = None
    if variant == "ignore_index":
        ignore = 2
        kwargs["ignore_index"] = ignore
    sess = ort.InferenceSession(_sce_model(shape, reduction, variant == "class_weights", ignore),
                                providers=["CPUExecutionProvider"])
    (expected,) = sess.run(None, feeds)
    out = ops.softmax_cross_entropy(logits, labels, **kwargs)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=1e-3, atol=1e-5)
