"""Losses of a prediction against a target of its shape (mean absolute error, Huber, binary
and categorical cross-entropy, mean squared error) vs float64 numpy references of the Keras
formulas, finite differences, and the same losses as graph nodes."""
import numpy as np
import pytest

from engine import _core, ops
from helpers import ELEMENTWISE_RTOL, REDUCTION_RTOL, assert_close, away_from, numeric_grads, randn

REDUCTIONS = ["mean", "sum", "none"]
# Keras clips probabilities to float32 eps and 1 - eps.
LOW = float(np.float32(1e-7))
HIGH = float(np.float32(1) - np.float32(1e-7))
F32 = np.float32


def _id(shape):
    return "x".join(map(str, shape))


# ---- float64 references ----------------------------------------------------------------

def np_elementwise(kind, p, t, delta=1.0):
    p, t = np.asarray(p, np.float64), np.asarray(t, np.float64)
    x = p - t
    if kind == "mse":
        return x * x
    if kind == "mae":
        return np.abs(x)
    if kind == "huber":
        return np.where(np.abs(x) <= delta, 0.5 * x * x, delta * np.abs(x) - 0.5 * delta**2)
    if kind == "bce_logits":
        return np.logaddexp(0.0, p) - p * t  # log(1 + e^z) - z t
    if kind == "bce_probs":
        q = np.clip(p, LOW, HIGH)
        return -(t * np.log(q) + (1 - t) * np.log(1 - q))
    raise AssertionError(kind)


def np_elementwise_grads(kind, p, t, delta=1.0):
    """(dl/dp, dl/dt) elementwise."""
    p, t = np.asarray(p, np.float64), np.asarray(t, np.float64)
    x = p - t
    if kind == "mse":
        return 2 * x, -2 * x
    if kind == "mae":
        return np.sign(x), -np.sign(x)
    if kind == "huber":
        d = np.clip(x, -delta, delta)
        return d, -d
    if kind == "bce_logits":
        return 0.5 * (1 + np.tanh(p / 2)) - t, -p  # sigmoid without overflow
    if kind == "bce_probs":
        inside = (p >= LOW) & (p <= HIGH)
        q = np.clip(p, LOW, HIGH)
        return np.where(inside, (q - t) / (q * (1 - q)), 0.0), np.log(1 - q) - np.log(q)
    raise AssertionError(kind)


def reduce(per_sample, reduction):
    return {"none": per_sample, "sum": np.sum(per_sample), "mean": np.mean(per_sample)}[reduction]


def np_pointwise_loss(kind, p, t, reduction, delta=1.0):
    e = np_elementwise(kind, p, t, delta)
    return reduce(e.reshape(e.shape[0], -1).mean(axis=1), reduction)


def np_categorical(p, t, reduction, axis=1):
    p, t = np.asarray(p, np.float64), np.asarray(t, np.float64)
    q = np.clip(p / p.sum(axis=axis, keepdims=True), LOW, HIGH)
    per_position = -np.sum(t * np.log(q), axis=axis)
    return reduce(per_position.reshape(p.shape[0], -1).mean(axis=1), reduction)


def np_categorical_grads(p, t, axis=1):
    """Per-position (dl/dp, dl/dt) of -sum_c t_c log clip(p_c / sum p) (chain rule by hand)."""
    p, t = np.asarray(p, np.float64), np.asarray(t, np.float64)
    s = p.sum(axis=axis, keepdims=True)
    u = p / s
    inside = (u >= LOW) & (u <= HIGH)
    dl_du = np.where(inside, -t / np.clip(u, LOW, HIGH), 0.0)
    dp = (dl_du - np.sum(dl_du * u, axis=axis, keepdims=True)) / s
    return dp, -np.log(np.clip(u, LOW, HIGH))


def sample_scale(dloss, reduction, n, per_sample, ndim):
    """g_n / (terms per sample) broadcast against [N, ...]."""
    g = np.broadcast_to(np.asarray(dloss, np.float64), (n,)) / per_sample
    if reduction == "mean":
        g = g / n
    return g.reshape((-1,) + (1,) * (ndim - 1))


def random_dloss(rng, reduction, n):
    return randn(rng, n) if reduction == "none" else F32(rng.uniform(0.5, 2.0))


# ---- the pointwise losses through one table ---------------------------------------------

class Pointwise:
    def __init__(self, kind, **attrs):
        self.kind, self.attrs = kind, attrs
        self.delta = attrs.get("delta", 1.0)

    def __repr__(self):
        extra = "".join(f"-{k}{v}" for k, v in self.attrs.items())
        return self.kind + extra

    def forward(self, p, t, reduction):
        if self.kind == "mse":
            return ops.mean_squared_error(p, t, reduction=reduction)
        if self.kind == "mae":
            return ops.mean_absolute_error(p, t, reduction=reduction)
        if self.kind == "huber":
            return ops.huber(p, t, reduction=reduction, **self.attrs)
        return ops.binary_cross_entropy(p, t, from_logits=self.kind == "bce_logits",
                                        reduction=reduction)

    def backward(self, dloss, p, t, reduction, target_grad=True):
        kw = dict(reduction=reduction, target_grad=target_grad)
        if self.kind == "mse":
            return ops.mean_squared_error_backward(dloss, p, t, **kw)
        if self.kind == "mae":
            return ops.mean_absolute_error_backward(dloss, p, t, **kw)
        if self.kind == "huber":
            return ops.huber_backward(dloss, p, t, **self.attrs, **kw)
        return ops.binary_cross_entropy_backward(dloss, p, t, from_logits=self.kind == "bce_logits",
                                                 **kw)

    def inputs(self, rng, shape, smooth=False):
        """pred, target; with `smooth`, kept off kinks and clip bounds (finite differences)."""
        if self.kind == "bce_logits":
            return randn(rng, *shape, scale=3.0), rng.uniform(0, 1, shape).astype(F32)
        if self.kind == "bce_probs":
            return rng.uniform(0.03, 0.97, shape).astype(F32), rng.uniform(0, 1, shape).astype(F32)
        target = randn(rng, *shape)
        if not smooth:
            return randn(rng, *shape), target
        kinks = (0.0,) if self.kind == "mae" else (-self.delta, self.delta)
        return (target + away_from(rng, shape, kinks, margin=0.05)).astype(F32), target


CASES = [Pointwise("mae"), Pointwise("huber"), Pointwise("huber", delta=0.3),
         Pointwise("huber", delta=2.5), Pointwise("bce_logits"), Pointwise("bce_probs"),
         Pointwise("mse")]
SHAPES = [(13,), (7, 33), (5, 3, 7), (257, 13)]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", SHAPES, ids=_id)
@pytest.mark.parametrize("case", CASES, ids=repr)
def test_pointwise_forward_matches_numpy(case, shape, reduction, rng, kernel_impl):
    p, t = case.inputs(rng, shape)
    out = case.forward(p, t, reduction)
    expected = np_pointwise_loss(case.kind, p, t, reduction, case.delta)
    assert out.dtype == np.float32
    assert out.shape == np.shape(expected)
    assert_close(out, expected, ELEMENTWISE_RTOL)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(4,), (3, 2, 2)], ids=_id)
@pytest.mark.parametrize("case", CASES, ids=repr)
def test_pointwise_backward_matches_finite_differences(case, shape, reduction, rng, kernel_impl):
    p, t = case.inputs(rng, shape, smooth=True)
    dloss = random_dloss(rng, reduction, shape[0])
    dp_num, dt_num = numeric_grads(
        lambda a, b: np_pointwise_loss(case.kind, a, b, reduction, case.delta), [p, t], dloss)
    dp, dt = case.backward(dloss, p, t, reduction)
    assert_close(dp, dp_num, REDUCTION_RTOL, "dpred")
    assert_close(dt, dt_num, REDUCTION_RTOL, "dtarget")


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(257, 13), (7, 5, 33)], ids=_id)
@pytest.mark.parametrize("case", CASES, ids=repr)
def test_pointwise_backward_matches_numpy(case, shape, reduction, rng, kernel_impl):
    p, t = case.inputs(rng, shape)
    dloss = random_dloss(rng, reduction, shape[0])
    g = sample_scale(dloss, reduction, shape[0], np.prod(shape[1:]), len(shape))
    dp_ref, dt_ref = np_elementwise_grads(case.kind, p, t, case.delta)
    dp, dt = case.backward(dloss, p, t, reduction)
    assert_close(dp, dp_ref * g, ELEMENTWISE_RTOL, "dpred")
    assert_close(dt, dt_ref * g, ELEMENTWISE_RTOL, "dtarget")
    # Without target_grad only dpred is computed, with the same values.
    assert_close(case.backward(dloss, p, t, reduction, target_grad=False), dp, 1e-7, "dpred alone")


def test_mae_gradient_is_zero_where_pred_equals_target(kernel_impl):
    p = np.array([[1.0, 2.0, -3.0]], F32)
    t = np.array([[1.0, 0.0, -3.0]], F32)
    dp, dt = ops.mean_absolute_error_backward(F32(1), p, t, target_grad=True)
    np.testing.assert_array_equal(dp, np.array([[0, 1 / 3, 0]], F32))
    np.testing.assert_array_equal(dt, np.array([[0, -1 / 3, 0]], F32))


def test_huber_is_quadratic_then_linear_at_delta(kernel_impl):
    t = np.zeros((1, 4), F32)
    p = np.array([[0.5, -1.0, 3.0, -4.0]], F32)
    out = ops.huber(p, t, delta=1.0, reduction="none")
    assert_close(out, [np.mean([0.125, 0.5, 2.5, 3.5])], ELEMENTWISE_RTOL)
    assert_close(ops.huber_backward(F32(1), p, t, delta=1.0), [[0.125, -0.25, 0.25, -0.25]],
                 ELEMENTWISE_RTOL)


def test_keras_documented_values(kernel_impl):
    """The examples in Keras's loss docstrings (values printed to 3-4 digits)."""
    y_true = np.array([[0, 1], [0, 0]], F32)
    y_pred = np.array([[0.6, 0.4], [0.4, 0.6]], F32)
    np.testing.assert_allclose(ops.binary_cross_entropy(y_pred, y_true, reduction="none"),
                               [0.916, 0.714], rtol=1e-3)
    np.testing.assert_allclose(ops.huber(y_pred, y_true), 0.155, rtol=1e-3)
    logits = np.array([-18.6, 0.51, 2.94, -12.8], F32)
    np.testing.assert_allclose(
        ops.binary_cross_entropy(logits, np.array([0, 1, 0, 0], F32), from_logits=True),
        0.865, rtol=1e-3)
    y_true = np.array([[0, 1, 0], [0, 0, 1]], F32)
    y_pred = np.array([[0.05, 0.95, 0], [0.1, 0.8, 0.1]], F32)
    np.testing.assert_allclose(ops.categorical_cross_entropy(y_pred, y_true, reduction="none"),
                               [0.0513, 2.303], rtol=1e-3)


def test_bce_extreme_logits_stay_finite(kernel_impl):
    z = np.array([[1e4, -1e4, 1e4, -1e4, 0.0, 88.0, -104.0]], F32)
    t = np.array([[0.0, 1.0, 1.0, 0.0, 0.5, 0.0, 1.0]], F32)
    out = ops.binary_cross_entropy(z, t, from_logits=True, reduction="none")
    assert_close(out, np_pointwise_loss("bce_logits", z, t, "none"), ELEMENTWISE_RTOL)
    dz, dt = ops.binary_cross_entropy_backward(F32(1), z, t, from_logits=True, target_grad=True)
    dz_ref, dt_ref = np_elementwise_grads("bce_logits", z, t)
    assert_close(dz, dz_ref / z.size, ELEMENTWISE_RTOL, "dlogits")
    assert_close(dt, dt_ref / z.size, ELEMENTWISE_RTOL, "dtarget")


def test_bce_probabilities_at_zero_and_one_are_clipped(kernel_impl):
    p = np.array([[0.0, 1.0, 0.0, 1.0, 0.5]], F32)
    t = np.array([[0.0, 1.0, 1.0, 0.0, 1.0]], F32)
    out = ops.binary_cross_entropy(p, t, reduction="none")
    assert_close(out, np_pointwise_loss("bce_probs", p, t, "none"), ELEMENTWISE_RTOL)
    dp, dt = ops.binary_cross_entropy_backward(F32(1), p, t, target_grad=True)
    assert np.all(np.isfinite(dt))
    # No gradient through the clip; the unclipped entry keeps (p - t) / (p (1 - p)).
    np.testing.assert_array_equal(dp[0, :4], 0.0)
    assert dp[0, 4] == pytest.approx(-2.0 / 5, rel=1e-6)
    assert_close(dt, np_elementwise_grads("bce_probs", p, t)[1] / 5, ELEMENTWISE_RTOL)


# ---- categorical cross-entropy from probabilities ----------------------------------------

def categorical_inputs(rng, shape, axis=1, soft=True):
    """pred: positive scores (not normalised); target: distributions along `axis`."""
    p = rng.uniform(0.1, 1.0, shape).astype(F32)
    c = shape[axis]
    rest = shape[:axis] + shape[axis + 1:] if axis != -1 else shape[:-1]
    if soft:
        t = rng.dirichlet(np.ones(c), size=rest)
    else:
        t = np.eye(c)[rng.integers(0, c, size=rest)]
    return p, np.ascontiguousarray(np.moveaxis(t, -1, axis), F32)


CCE_SHAPES = [(13, 7), (1, 5), (5, 7, 3), (3, 4, 2, 5), (33, 257)]


@pytest.mark.parametrize("soft", [True, False], ids=["soft", "one_hot"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", CCE_SHAPES, ids=_id)
def test_categorical_forward_matches_numpy(shape, reduction, soft, rng, kernel_impl):
    p, t = categorical_inputs(rng, shape, soft=soft)
    out = ops.categorical_cross_entropy(p, t, reduction=reduction)
    expected = np_categorical(p, t, reduction)
    assert out.dtype == np.float32 and out.shape == np.shape(expected)
    assert_close(out, expected, ELEMENTWISE_RTOL)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_categorical_class_axis_last(reduction, rng, kernel_impl):
    p, t = categorical_inputs(rng, (5, 3, 7), axis=-1)
    out = ops.categorical_cross_entropy(p, t, reduction=reduction, axis=-1)
    assert_close(out, np_categorical(p, t, reduction, axis=-1), ELEMENTWISE_RTOL)
    moved = [np.ascontiguousarray(np.moveaxis(a, -1, 1)) for a in (p, t)]
    assert_close(out, ops.categorical_cross_entropy(*moved, reduction=reduction),
                 ELEMENTWISE_RTOL)
    dloss = random_dloss(rng, reduction, 5)
    dp, dt = ops.categorical_cross_entropy_backward(dloss, p, t, reduction=reduction, axis=-1,
                                                    target_grad=True)
    dp_ref, dt_ref = np_categorical_grads(p, t, axis=-1)
    g = sample_scale(dloss, reduction, 5, 3, 3)
    assert_close(dp, dp_ref * g, ELEMENTWISE_RTOL, "dpred")
    assert_close(dt, dt_ref * g, ELEMENTWISE_RTOL, "dtarget")


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(3, 4), (2, 3, 2)], ids=_id)
def test_categorical_backward_matches_finite_differences(shape, reduction, rng, kernel_impl):
    p, t = categorical_inputs(rng, shape)
    dloss = random_dloss(rng, reduction, shape[0])
    dp_num, dt_num = numeric_grads(lambda a, b: np_categorical(a, b, reduction), [p, t], dloss)
    dp, dt = ops.categorical_cross_entropy_backward(dloss, p, t, reduction=reduction,
                                                    target_grad=True)
    assert_close(dp, dp_num, REDUCTION_RTOL, "dpred")
    assert_close(dt, dt_num, REDUCTION_RTOL, "dtarget")


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(33, 257), (7, 13, 5)], ids=_id)
def test_categorical_backward_matches_numpy(shape, reduction, rng, kernel_impl):
    p, t = categorical_inputs(rng, shape)
    dloss = random_dloss(rng, reduction, shape[0])
    per_sample = np.prod(shape[2:], dtype=np.int64)
    g = sample_scale(dloss, reduction, shape[0], per_sample, len(shape))
    dp_ref, dt_ref = np_categorical_grads(p, t)
    dp, dt = ops.categorical_cross_entropy_backward(dloss, p, t, reduction=reduction,
                                                    target_grad=True)
    assert_close(dp, dp_ref * g, ELEMENTWISE_RTOL, "dpred")
    assert_close(dt, dt_ref * g, ELEMENTWISE_RTOL, "dtarget")
    assert_close(ops.categorical_cross_entropy_backward(dloss, p, t, reduction=reduction),
                 dp, 1e-7, "dpred alone")


def test_categorical_probabilities_at_zero_and_one_are_clipped(kernel_impl):
    # One-hot predictions: entries 0 and 1 after normalisation, all clipped.
    p = np.array([[0.0, 1.0, 0.0], [0.0, 2.0, 0.0], [0.2, 0.0, 0.6]], F32)
    t = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.5, 0.5, 0.0]], F32)
    out = ops.categorical_cross_entropy(p, t, reduction="none")
    assert_close(out, np_categorical(p, t, "none"), ELEMENTWISE_RTOL)
    dp, dt = ops.categorical_cross_entropy_backward(F32(1), p, t, target_grad=True)
    dp_ref, dt_ref = np_categorical_grads(p, t)
    assert_close(dp, dp_ref / 3, ELEMENTWISE_RTOL, "dpred")
    assert_close(dt, dt_ref / 3, ELEMENTWISE_RTOL, "dtarget")
    np.testing.assert_array_equal(dp[:2], 0.0)  # every class clipped: no gradient


# ---- bad input ----------------------------------------------------------------------------

def test_bad_inputs_raise_clear_errors():
    a = np.full((4, 3), 0.5, F32)
    with pytest.raises(ValueError, match=r"mean_absolute_error: target float32\[4, 2\] does not "
                                         r"match pred float32\[4, 3\]"):
        ops.mean_absolute_error(a, a[:, :2].copy())
    with pytest.raises(TypeError, match="huber: target must be float32, got int64"):
        ops.huber(a, a.astype(np.int64))
    with pytest.raises(TypeError, match="binary_cross_entropy: pred must be a float32 or int64"):
        ops.binary_cross_entropy(a.astype(np.float64), a)
    with pytest.raises(TypeError, match="binary_cross_entropy: pred must be float32, got int64"):
        ops.binary_cross_entropy(a.astype(np.int64), a, from_logits=True)
    with pytest.raises(ValueError, match="C-contiguous"):
        ops.mean_absolute_error(a.T, a.T)
    with pytest.raises(ValueError, match=r"huber: pred must have rank >= 1"):
        ops.huber(F32(1), F32(1), reduction="sum")
    with pytest.raises(ValueError, match="unknown reduction 'avg'"):
        ops.binary_cross_entropy(a, a, reduction="avg")
    for delta in (0.0, -1.0, np.inf, np.nan):
        with pytest.raises(ValueError, match="Huber: delta must be positive and finite"):
            ops.huber(a, a, delta=delta)
    with pytest.raises(TypeError, match="delta must be a float"):
        ops.huber(a, a, delta="1")
    with pytest.raises(ValueError, match=r"categorical_cross_entropy: pred must have rank >= 2"):
        ops.categorical_cross_entropy(a[0].copy(), a[0].copy())
    with pytest.raises(ValueError, match="class axis cannot be the batch axis"):
        ops.categorical_cross_entropy(a, a, axis=0)
    with pytest.raises(ValueError, match="axis 2 out of range for rank 2"):
        ops.categorical_cross_entropy(a, a, axis=2)
    with pytest.raises(ValueError, match="at least one class"):
        ops.categorical_cross_entropy(np.ones((4, 0), F32), np.ones((4, 0), F32))
    with pytest.raises(ValueError, match=r"huber_backward: dloss must have shape \[4\]"):
        ops.huber_backward(np.ones(3, F32), a, a, reduction="none")
    with pytest.raises(ValueError, match="categorical_cross_entropy_backward: dloss must hold "
                                         "one value"):
        ops.categorical_cross_entropy_backward(np.ones(4, F32), a, a, reduction="mean")
    with pytest.raises(TypeError, match="binary_cross_entropy_backward: dloss must be float32"):
        ops.binary_cross_entropy_backward(np.ones((), np.int64), a, a)


# ---- graph nodes ----------------------------------------------------------------------------

GRAPH_CASES = [
    ("MeanSquaredError", {}, "mse"),
    ("MeanAbsoluteError", {}, "mae"),
    ("Huber", {"delta": 0.7}, "huber"),
    ("BinaryCrossEntropy", {"from_logits": 1}, "bce_logits"),
    ("BinaryCrossEntropy", {}, "bce_probs"),
    ("CategoricalCrossEntropy", {}, "cce"),
    ("CategoricalCrossEntropy", {"axis": -1}, "cce_last"),
]


def loss_graph(op_type, attrs, shape):
    g = _core.Graph()
    g.add_input("pred", [-1] + list(shape[1:]))
    g.add_input("target", [-1] + list(shape[1:]))
    g.add_node(op_type, ["pred", "target"], ["loss"], attrs, name="loss", domain="engine")
    g.add_output("loss")
    return g


def op_level(kind, attrs, reduction):
    """(forward, backward) of the op-level API matching a graph case."""
    if kind in ("cce", "cce_last"):
        axis = attrs.get("axis", 1)
        return (lambda p, t: ops.categorical_cross_entropy(p, t, reduction, axis=axis),
                lambda d, p, t: ops.categorical_cross_entropy_backward(
                    d, p, t, reduction, axis=axis, target_grad=True))
    case = Pointwise(kind, **({"delta": attrs["delta"]} if "delta" in attrs else {}))
    return (lambda p, t: case.forward(p, t, reduction),
            lambda d, p, t: case.backward(d, p, t, reduction))


@pytest.mark.parametrize("reduction", ["mean", "none"])
@pytest.mark.parametrize("op_type,attrs,kind", GRAPH_CASES, ids=[c[2] for c in GRAPH_CASES])
def test_graph_node_matches_op_level(op_type, attrs, kind, reduction, rng):
    shape = (5, 3, 4)
    if kind.startswith("cce"):
        p, t = categorical_inputs(rng, shape, axis=attrs.get("axis", 1))
    else:
        p, t = Pointwise(kind).inputs(rng, shape)
    ex = _core.Executor(loss_graph(op_type, {**attrs, "reduction": reduction}, shape))
    forward, backward = op_level(kind, attrs, reduction)
    (loss,) = ex.run([p, t])
    assert_close(loss, forward(p, t), 1e-6, "loss")
    seed = randn(rng, shape[0]) if reduction == "none" else np.ones((), F32)
    grads = ex.gradients([p, t], "loss", seed)
    dp, dt = backward(seed, p, t)
    assert_close(grads["pred"], dp, 1e-6, "dpred")
    assert_close(grads["target"], dt, 1e-6, "dtarget")


def test_graph_loss_ops_are_listed_and_check_attributes():
    listed = _core.supported_ops()
    for op in ("MeanSquaredError", "MeanAbsoluteError", "Huber", "BinaryCrossEntropy",
               "CategoricalCrossEntropy"):
        assert "engine." + op in listed
    bad = [("Huber", {"delta": -1.0}, "engine.Huber 'loss': delta must be positive"),
           ("BinaryCrossEntropy", {"from_logits": 2}, "from_logits must be 0 or 1, got 2"),
           ("MeanAbsoluteError", {"reduction": "avg"}, "engine.MeanAbsoluteError 'loss': "
                                                       "unknown reduction 'avg'")]
    for op_type, attrs, message in bad:
        with pytest.raises(ValueError, match=message):
            _core.Executor(loss_graph(op_type, attrs, (2, 3)))
    ex = _core.Executor(loss_graph("CategoricalCrossEntropy", {"axis": 0}, (2, 3)))
    with pytest.raises(ValueError, match="engine.CategoricalCrossEntropy 'loss': "
                                         "categorical_cross_entropy: the class axis cannot"):
        ex.run([np.ones((2, 3), F32), np.ones((2, 3), F32)])
