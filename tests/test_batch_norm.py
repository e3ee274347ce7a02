"""BatchNormalization: forward (inference and training) and running statistics vs numpy
float64, backward vs float64 finite differences and numpy, onnxruntime one-node models."""
import numpy as np
import pytest

from engine import ops
from helpers import ELEMENTWISE_RTOL, REDUCTION_RTOL, assert_close, numeric_grads, randn

SHAPES = [(7, 13), (2, 3, 7, 5), (3, 13, 9, 11), (5, 7, 33), (257, 33)]


def channel_view(a, ndim):
    """[C] -> broadcastable against [N, C, ...]."""
    return np.asarray(a, np.float64).reshape((1, -1) + (1,) * (ndim - 2))


def batch_axes(x):
    return (0,) + tuple(range(2, x.ndim))


def bn_ref(x, scale, bias, mean, var, eps):
    x = np.asarray(x, np.float64)
    c = lambda a: channel_view(a, x.ndim)  # noqa: E731
    return c(scale) * (x - c(mean)) / np.sqrt(c(var) + eps) + c(bias)


def bn_train_ref(x, scale, bias, eps):
    x = np.asarray(x, np.float64)
    mean = x.mean(axis=batch_axes(x))
    var = x.var(axis=batch_axes(x))  # biased, as Keras 3 / ONNX / onnxruntime
    return bn_ref(x, scale, bias, mean, var, eps), mean, var


def bn_backward_ref(dy, x, scale, eps):
    """Independent derivation of the training-mode gradient (through mean and var)."""
    x, dy = np.asarray(x, np.float64), np.asarray(dy, np.float64)
    ax = batch_axes(x)
    m = x.size / x.shape[1]
    c = lambda a: channel_view(a, x.ndim)  # noqa: E731
    mu = x.mean(axis=ax)
    var = x.var(axis=ax)
    xc = x - c(mu)
    inv = 1.0 / np.sqrt(var + eps)
    dxhat = dy * c(scale)
    dvar = np.sum(dxhat * xc, axis=ax) * -0.5 * inv ** 3
    dmu = np.sum(-dxhat * c(inv), axis=ax) + dvar * np.mean(-2.0 * xc, axis=ax)
    dx = dxhat * c(inv) + c(dvar) * 2.0 * xc / m + c(dmu) / m
    return dx, np.sum(dy * xc * c(inv), axis=ax), np.sum(dy, axis=ax)


def params(rng, C):
    scale = (rng.uniform(0.5, 1.5, C) * rng.choice([-1, 1], C)).astype(np.float32)
    bias = randn(rng, C)
    mean = randn(rng, C)
    var = rng.uniform(0.3, 2.0, C).astype(np.float32)
    return scale, bias, mean, var


def sample_x(rng, shape, C):
    """Per-channel offsets and spreads, so that normalisation has work to do."""
    off = channel_view(rng.uniform(-3, 3, C), len(shape))
    spread = channel_view(rng.uniform(0.5, 3, C), len(shape))
    return (rng.standard_normal(shape) * spread + off).astype(np.float32)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_inference_forward_matches_numpy(shape, rng, kernel_impl):
    C = shape[1]
    x = sample_x(rng, shape, C)
    scale, bias, mean, var = params(rng, C)
    y = ops.batch_norm(x, scale, bias, mean, var, epsilon=1e-3)
    assert_close(y, bn_ref(x, scale, bias, mean, var, 1e-3), ELEMENTWISE_RTOL)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("momentum,eps", [(0.9, 1e-5), (0.99, 1e-3)], ids=["onnx", "keras"])
def test_training_forward_and_running_stats(shape, momentum, eps, rng, kernel_impl):
    C = shape[1]
    x = sample_x(rng, shape, C)
    scale, bias, mean, var = params(rng, C)
    running_mean, running_var = mean.copy(), var.copy()
    y, saved_mean, saved_inv_std = ops.batch_norm(
        x, scale, bias, running_mean, running_var, epsilon=eps, momentum=momentum, training=True)
    y_ref, bmean, bvar = bn_train_ref(x, scale, bias, eps)
    assert_close(y, y_ref, REDUCTION_RTOL, "y")
    assert_close(saved_mean, bmean, REDUCTION_RTOL, "saved_mean")
    assert_close(saved_inv_std, 1 / np.sqrt(bvar + eps), REDUCTION_RTOL, "saved_inv_std")
    # Updated in place, with the biased batch variance (Keras 3 moments, ONNX, onnxruntime).
    assert_close(running_mean, momentum * mean.astype(np.float64) + (1 - momentum) * bmean,
                 ELEMENTWISE_RTOL, "running_mean")
    assert_close(running_var, momentum * var.astype(np.float64) + (1 - momentum) * bvar,
                 ELEMENTWISE_RTOL, "running_var")


def test_training_statistics_stable_for_large_mean(rng, kernel_impl):
    # |mean| = 1000 std: a float one-pass E[x^2] - E[x]^2 would lose the variance entirely.
    # (Much larger ratios are beyond what a float32 saved mean can represent.)
    x = (100.0 + rng.standard_normal((13, 7, 9, 11)) * 0.1).astype(np.float32)
    scale, bias, _, _ = params(rng, 7)
    rm, rv = np.zeros(7, np.float32), np.ones(7, np.float32)
    y, _, inv_std = ops.batch_norm(x, scale, bias, rm, rv, epsilon=1e-8, training=True)
    y_ref, _, var = bn_train_ref(x, scale, bias, 1e-8)
    assert_close(inv_std, 1 / np.sqrt(var + 1e-8), 1e-4, "inv_std")
    assert_close(y, y_ref, REDUCTION_RTOL, "y")


@pytest.mark.parametrize("shape", [(2, 3, 2, 3), (5, 2), (3, 2, 4)], ids=str)
def test_training_backward_matches_finite_differences(shape, rng, kernel_impl):
    C = shape[1]
    x = sample_x(rng, shape, C)
    scale, bias, _, _ = params(rng, C)
    dy = randn(rng, *shape)
    rm, rv = np.zeros(C, np.float32), np.ones(C, np.float32)
    _, saved_mean, saved_inv_std = ops.batch_norm(x, scale, bias, rm, rv, epsilon=1e-3,
                                                  training=True)
    dx, dscale, dbias = ops.batch_norm_backward(dy, x, scale, saved_mean, saved_inv_std)
    f = lambda x_, s_, b_: bn_train_ref(x_, s_, b_, 1e-3)[0]  # noqa: E731
    nx, ns, nb = numeric_grads(f, [x, scale, bias], dy)
    assert_close(dx, nx, REDUCTION_RTOL, "dx")
    assert_close(dscale, ns, REDUCTION_RTOL, "dscale")
    assert_close(dbias, nb, REDUCTION_RTOL, "dbias")


def test_frozen_backward_matches_finite_differences(rng, kernel_impl):
    shape, C, eps = (2, 3, 3, 2), 3, 1e-3
    x = sample_x(rng, shape, C)
    scale, bias, mean, var = params(rng, C)
    dy = randn(rng, *shape)
    inv_std = (1 / np.sqrt(var.astype(np.float64) + eps)).astype(np.float32)
    dx, dscale, dbias = ops.batch_norm_backward(dy, x, scale, mean, inv_std, training=False)
    f = lambda x_, s_, b_: bn_ref(x_, s_, b_, mean, var, eps)  # noqa: E731
    nx, ns, nb = numeric_grads(f, [x, scale, bias], dy)
    assert_close(dx, nx, REDUCTION_RTOL, "dx")
    assert_close(dscale, ns, REDUCTION_RTOL, "dscale")
    assert_close(dbias, nb, REDUCTION_RTOL, "dbias")


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_training_backward_matches_numpy(shape, rng, kernel_impl):
    C, eps = shape[1], 1e-5
    x = sample_x(rng, shape, C)
    scale, bias, _, _ = params(rng, C)
    dy = randn(rng, *shape)
    rm, rv = np.zeros(C, np.float32), np.ones(C, np.float32)
    _, sm, si = ops.batch_norm(x, scale, bias, rm, rv, epsilon=eps, training=True)
    dx, dscale, dbias = ops.batch_norm_backward(dy, x, scale, sm, si)
    rdx, rds, rdb = bn_backward_ref(dy, x, scale, eps)
    assert_close(dx, rdx, REDUCTION_RTOL, "dx")
    assert_close(dscale, rds, REDUCTION_RTOL, "dscale")
    assert_close(dbias, rdb, REDUCTION_RTOL, "dbias")


def test_single_value_per_channel_gives_zero_variance(kernel_impl):
    # M = 1: the batch variance is 0 (biased), so y = bias and the running var decays.
    x = np.array([[1.5, -2.0, 3.0]], np.float32)
    scale = np.array([2.0, 3.0, 4.0], np.float32)
    bias = np.array([0.5, -0.5, 1.0], np.float32)
    rm, rv = np.zeros(3, np.float32), np.ones(3, np.float32)
    y, _, _ = ops.batch_norm(x, scale, bias, rm, rv, epsilon=1e-3, momentum=0.9, training=True)
    assert_close(y, bias[None, :], ELEMENTWISE_RTOL)
    assert_close(rv, np.full(3, 0.9), ELEMENTWISE_RTOL)
    assert_close(rm, 0.1 * x[0].astype(np.float64), ELEMENTWISE_RTOL)


def _bn_model(C, shape, training, eps, momentum):
    onnx = pytest.importorskip("onnx", reason="onnx is needed for the onnxruntime comparison")
    from onnx import TensorProto, helper
    outputs = ["y", "running_mean", "running_var"] if training else ["y"]
    attrs = {"epsilon": eps, "momentum": momentum}
    if training:
        attrs["training_mode"] = 1
    node = helper.make_node("BatchNormalization", ["x", "scale", "bias", "mean", "var"],
                            outputs, **attrs)
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))] + [
        helper.make_tensor_value_info(n, TensorProto.FLOAT, [C])
        for n in ("scale", "bias", "mean", "var")]
    outs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, list(shape) if n == "y" else [C])
            for n in outputs]
    graph = helper.make_graph([node], "bn", inputs, outs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 10
    onnx.checker.check_model(model)
    return model.SerializeToString()


@pytest.mark.parametrize("training", [False, True], ids=["inference", "training"])
def test_matches_onnxruntime(training, rng):
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is needed for this comparison")
    shape, C, eps, momentum = (3, 7, 9, 5), 7, 1e-3, 0.9
    x = sample_x(rng, shape, C)
    scale, bias, mean, var = params(rng, C)
    sess = ort.InferenceSession(_bn_model(C, shape, training, eps, momentum),
                                providers=["CPUExecutionProvider"])
    expected = sess.run(None, {"x": x, "scale": scale, "bias": bias, "mean": mean, "var": var})
    rm, rv = mean.copy(), var.copy()
    out = ops.batch_norm(x, scale, bias, rm, rv, epsilon=eps, momentum=momentum,
                         training=training)
    if training:
        assert_close(out[0], expected[0], 1e-4, "y")
        assert_close(rm, expected[1], 1e-5, "running_mean")
        assert_close(rv, expected[2], 1e-5, "running_var")
    else:
        assert_close(out, expected[0], 1e-5, "y")


def test_imported_training_mode_returns_running_statistics_as_onnxruntime(rng):
    """An ONNX node with training_mode=1 run for inference: y from the batch statistics and
    the updated running statistics as outputs; the inputs are left as they were."""
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is needed for this comparison")
    import engine
    shape, C, eps, momentum = (3, 7, 9, 5), 7, 1e-3, 0.8
    model = _bn_model(C, shape, True, eps, momentum)
    x = sample_x(rng, shape, C)
    scale, bias, mean, var = params(rng, C)
    feed = {"x": x, "scale": scale, "bias": bias, "mean": mean, "var": var}
    before = {k: v.copy() for k, v in feed.items()}
    expected = ort.InferenceSession(model, providers=["CPUExecutionProvider"]).run(None, feed)
    got = engine.onnx.InferenceSession(model).run(None, feed)
    for name, g, e in zip(("y", "running_mean", "running_var"), got, expected):
        assert g.shape == e.shape, name
        assert_close(g, e, 1e-5, name)
    for k, v in feed.items():
        np.testing.assert_array_equal(v, before[k])


def test_training_mode_after_a_conv_is_not_folded_into_it(rng):
    """Inference folds a BatchNormalization into the Conv before it, with the running
    statistics; one with training_mode=1 normalises with the batch's and must stay."""
    onnx = pytest.importorskip("onnx", reason="onnx is needed to build the model")
    from onnx import TensorProto, helper, numpy_helper
    import engine
    C, shape = 3, (4, 2, 5, 7)
    w = rng.standard_normal((C, 2, 1, 1)).astype(np.float32)
    scale, bias, mean, var = params(rng, C)
    inits = [numpy_helper.from_array(v, n) for n, v in
             (("w", w), ("s", scale), ("b", bias), ("m", mean), ("v", var))]
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"]),
             helper.make_node("BatchNormalization", ["c", "s", "b", "m", "v"], ["y"],
                              training_mode=1, epsilon=1e-3)]
    graph = helper.make_graph(nodes, "conv_bn",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15)])
    x = rng.standard_normal(shape).astype(np.float32)
    (y,) = engine.onnx.InferenceSession(model.SerializeToString()).run(None, {"x": x})
    c = np.einsum("oi,nihw->nohw", w[:, :, 0, 0].astype(np.float64), x.astype(np.float64))
    bm, bv = c.mean(axis=(0, 2, 3), keepdims=True), c.var(axis=(0, 2, 3), keepdims=True)
    want = scale[:, None, None] * (c - bm) / np.sqrt(bv + 1e-3) + bias[:, None, None]
    assert_close(y, want, 1e-5)


def test_running_statistics_outputs_need_training_mode():
    from engine import _core
    x = np.ones((2, 3, 4), np.float32)
    c3 = np.ones(3, np.float32)
    with pytest.raises(ValueError, match=r"BatchNormalization: the running_mean and running_var "
                                         r"outputs need training_mode=1"):
        _core.run_op("BatchNormalization", [x, c3, c3, c3, c3], {}, num_outputs=3)


def test_bad_inputs_raise_clear_errors():
    x = np.ones((2, 3, 4, 4), np.float32)
    c3, c4 = np.ones(3, np.float32), np.ones(4, np.float32)
    with pytest.raises(ValueError, match=r"BatchNormalization: scale must have shape \[3\]"):
        ops.batch_norm(x, c4, c3, c3, c3)
    with pytest.raises(ValueError, match="var must have shape"):
        ops.batch_norm(x, c3, c3, c3, c4)
    with pytest.raises(ValueError, match="rank >= 2"):
        ops.batch_norm(np.ones(3, np.float32), c3, c3, c3, c3)
    with pytest.raises(TypeError, match="BatchNormalization: x must be a float32"):
        ops.batch_norm(x.astype(np.float64), c3, c3, c3, c3)
    with pytest.raises(TypeError, match="scale must be float32"):
        ops.batch_norm(x, c3.astype(np.int64), c3, c3, c3)
    with pytest.raises(ValueError, match="C-contiguous"):
        ops.batch_norm(np.ones((4, 4, 3, 2), np.float32).transpose(3, 2, 0, 1), c3, c3, c3, c3)
    with pytest.raises(ValueError, match="epsilon must be >= 0"):
        ops.batch_norm(x, c3, c3, c3, c3, epsilon=-1.0)
    with pytest.raises(ValueError, match="momentum must be in"):
        ops.batch_norm(x, c3, c3, c3.copy(), c3.copy(), momentum=1.5, training=True)
    with pytest.raises(ValueError, match="running_mean must have shape"):
        ops.batch_norm(x, c3, c3, c4.copy(), c3.copy(), training=True)
    # Running statistics are updated in place: a list or a read-only array cannot be.
    with pytest.raises(TypeError, match="running_mean must be a float32 numpy array"):
        ops.batch_norm(x, c3, c3, [0.0, 0.0, 0.0], c3.copy(), training=True)
    frozen = c3.copy()
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="running_var must be writeable"):
        ops.batch_norm(x, c3, c3, c3.copy(), frozen, training=True)
    with pytest.raises(ValueError, match="at least one value per channel"):
        ops.batch_norm(np.ones((0, 3), np.float32), c3, c3, c3.copy(), c3.copy(), training=True)
    with pytest.raises(ValueError, match="dy .* does not match x"):
        ops.batch_norm_backward(x[:1], x, c3, c3, c3)
    with pytest.raises(ValueError, match="saved inv_std must have shape"):
        ops.batch_norm_backward(x, x, c3, c3, c4)
