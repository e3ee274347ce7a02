"""NaN and infinity are never hidden: every kernel treats them as IEEE arithmetic, numpy,
PyTorch and onnxruntime do (Relu, the Relu fused into Conv and Gemm, max pooling, Clip),
and training stops with FloatingPointError before a non-finite loss or non-finite
gradients reach the weights."""
import numpy as np
import pytest

import engine
from engine import layers, ops

SPECIALS = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.5, -2.5], np.float32)


def with_specials(rng, shape):
    x = rng.standard_normal(shape).astype(np.float32).ravel()
    x[rng.choice(x.size, len(SPECIALS), replace=False)] = SPECIALS
    return x.reshape(shape)


def assert_same(got, expected):
    # Equal, NaN where the reference has NaN, and the same infinities.
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=0, equal_nan=True)


ACTIVATIONS = {
    "relu": (ops.relu, lambda x: np.maximum(x, 0), {}),
    "leaky_relu": (ops.leaky_relu, lambda x: np.where(x >= 0, x, 0.3 * x), {"alpha": 0.3}),
    "elu": (ops.elu, lambda x: np.where(x > 0, x, 0.7 * np.expm1(x)), {"alpha": 0.7}),
    "sigmoid": (ops.sigmoid, lambda x: 1 / (1 + np.exp(-x)), {}),
    "tanh": (ops.tanh, np.tanh, {}),
    "softplus": (ops.softplus, lambda x: np.logaddexp(0, x), {}),
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activations_pass_nan_and_infinities(name, rng, kernel_impl):
    fwd, ref, kwargs = ACTIVATIONS[name]
    x = with_specials(rng, (5, 37))
    with np.errstate(all="ignore"):
        expected = ref(x.astype(np.float64))
    assert_same(fwd(x, **kwargs), expected)


def test_relu_gradient_at_nan_passes_dy_as_pytorch(kernel_impl):
    # PyTorch: dx = 0 where x <= 0, else dy (NaN x lets dy through).
    x = np.array([np.nan, -1.0, 0.0, 2.0, np.inf, -np.inf], np.float32)
    dy = np.arange(1, 7, dtype=np.float32)
    np.testing.assert_array_equal(ops.relu_backward(dy, x), [1, 0, 0, 4, 5, 0])


def test_clip_keeps_nan_and_stops_its_gradient(kernel_impl):
    x = np.array([np.nan, -np.inf, np.inf, 0.5, -3.0, 3.0], np.float32)
    assert_same(ops.clip(x, -1.0, 1.0), [np.nan, -1, 1, 0.5, -1, 1])
    dy = np.ones_like(x)
    np.testing.assert_array_equal(ops.clip_backward(dy, x, -1.0, 1.0), [0, 0, 0, 1, 0, 0])


def max_pool_ref(x, k, s, p):
    n, c, h, w = x.shape
    padded = np.full((n, c, h + 2 * p, w + 2 * p), -np.inf)
    padded[:, :, p:p + h, p:p + w] = x
    oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    y = np.empty((n, c, oh, ow))
    for i in range(oh):
        for j in range(ow):
            # np.max propagates NaN, as the engine must.
            y[:, :, i, j] = padded[:, :, i * s:i * s + k, j * s:j * s + k].max(axis=(2, 3))
    return y


@pytest.mark.parametrize("k, s, p", [(2, 2, 0), (3, 1, 1), (3, 2, 1)], ids=["2x2", "k3s1p1", "k3s2p1"])
def test_max_pool_propagates_nan(k, s, p, rng, kernel_impl):
    x = with_specials(rng, (2, 3, 8, 9))
    y = ops.max_pool2d(x, kernel_shape=(k, k), strides=(s, s), pads=(p, p, p, p))
    assert_same(y, max_pool_ref(x.astype(np.float64), k, s, p))
    assert np.isnan(y).any()


def test_max_pool_gradient_goes_to_the_nan(kernel_impl):
    x = np.array([[[[1.0, np.nan], [5.0, 2.0]]]], np.float32)
    dx = ops.max_pool2d_backward(np.array([[[[3.0]]]], np.float32), x, kernel_shape=(2, 2),
                                 strides=(2, 2))
    np.testing.assert_array_equal(dx, [[[[0, 3], [0, 0]]]])


def onnx_model(nodes, inits, x_shape):
    onnx = pytest.importorskip("onnx", reason="onnx is not installed")
    from onnx import TensorProto, helper, numpy_helper
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(v, k) for k, v in inits.items()])
    return helper.make_model(graph, ir_version=8, opset_imports=[helper.make_opsetid("", 17)])


@pytest.mark.parametrize("kind", ["conv", "depthwise", "gemm"])
def test_relu_fused_into_conv_and_gemm_keeps_nan_as_onnxruntime(kind, rng):
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
    from onnx import helper
    if kind == "gemm":
        x = with_specials(rng, (4, 6))
        inits = {"w": rng.standard_normal((6, 5)).astype(np.float32)}
        first = helper.make_node("Gemm", ["x", "w"], ["h"])
    else:
        x = with_specials(rng, (2, 4, 6, 5))
        group = 4 if kind == "depthwise" else 1
        inits = {"w": rng.standard_normal((4, 4 // group, 3, 3)).astype(np.float32)}
        first = helper.make_node("Conv", ["x", "w"], ["h"], pads=[1, 1, 1, 1], group=group)
    model = onnx_model([first, helper.make_node("Relu", ["h"], ["y"])], inits, list(x.shape))
    ours = engine.onnx.load(model.SerializeToString())
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    expected = sess.run(None, {"x": x})[0]
    got = ours.predict(x)
    assert np.isnan(expected).any()
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4, equal_nan=True)


def conv_bn_relu(seed=0):
    engine.set_seed(seed)
    model = engine.models.Sequential([
        layers.Conv2D(4, 3, padding="same"), layers.BatchNormalization(), layers.Activation("relu"),
        layers.Flatten(), layers.Dense(3, activation="softmax")])
    model.build((None, 1, 6, 6))
    return model


def digits_like(rng, n=64):
    x = rng.standard_normal((n, 1, 6, 6)).astype(np.float32)
    y = rng.integers(0, 3, n)
    return x, y


def test_nan_weight_behind_batch_norm_and_relu_stops_fit(rng):
    model = conv_bn_relu()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    weights = model.get_weights()
    weights[0].flat[0] = np.nan
    model.set_weights(weights)
    with pytest.raises(FloatingPointError, match="nan"):
        model.fit(*digits_like(rng), epochs=2, batch_size=16, verbose=0)


def test_exploding_learning_rate_stops_fit_before_nan_reaches_the_weights(rng):
    model = conv_bn_relu()
    model.compile(optimizer=engine.optimizers.Adam(learning_rate=1e37),
                  loss="sparse_categorical_crossentropy")
    with pytest.raises(FloatingPointError):
        model.fit(*digits_like(rng), epochs=5, batch_size=16, verbose=0)
    assert all(not np.isnan(w).any() for w in model.get_weights())


def test_finite_loss_with_infinite_gradients_is_not_applied():
    # loss = (x w)^2 = 1e38 fits float32; its gradient 2 x (x w) = 2e39 does not.
    model = engine.models.Sequential([layers.Dense(1, use_bias=False)])
    model.build((None, 1))
    model.set_weights([np.array([[0.1]], np.float32)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.array([[1e20]], np.float32), np.zeros((1, 1), np.float32)
    assert np.isfinite(model.evaluate(x, y, verbose=0))
    with pytest.raises(FloatingPointError, match="gradients' global norm is inf"):
        model.train_on_batch(x, y)
    np.testing.assert_array_equal(model.get_weights()[0], np.float32([[0.1]]))
