"""The layers written with engine.ops in call(): embeddings, layer/group/unit normalization,
ReLU/Softmax/ELU/PReLU, Permute/RepeatVector/Cropping2D/UpSampling2D, global pooling,
spatial and alpha dropout, activity regularization. Each is checked against a numpy float64
reference written from Keras 3's formulas, against onnxruntime on the exported file, through
save/load, and (through a Dense before it, or its own weights) against float64 finite
differences of the loss."""
import math

import numpy as np
import pytest

import engine
from engine import layers as L
from helpers import assert_close

SELU_ALPHA, SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


# ---- numpy float64 references (Keras 3's formulas) -------------------------------------------------

def np_relu(x, max_value=None, negative_slope=0.0, threshold=0.0):
    y = np.where(x > threshold, x, 0.0)
    if max_value is not None:
        y = np.minimum(y, max_value)
    return y - negative_slope * np.maximum(threshold - x, 0.0)


def np_softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def np_layer_norm(x, gamma, beta, axes, epsilon, rms=False):
    shape = [x.shape[a] if a in axes else 1 for a in range(x.ndim)]
    # rms_scaling: Keras divides the uncentred inputs by the standard deviation.
    centred = x if rms else x - x.mean(axis=axes, keepdims=True)
    y = centred / np.sqrt(x.var(axis=axes, keepdims=True) + epsilon)
    y = y * gamma.reshape(shape)
    return y if beta is None else y + beta.reshape(shape)


def np_group_norm(x, gamma, beta, groups, epsilon):
    """NCHW (channel axis 1): statistics per sample and group of channels."""
    n, c = x.shape[:2]
    g = x.reshape(n, groups, c // groups, *x.shape[2:])
    axes = tuple(range(2, g.ndim))
    y = ((g - g.mean(axis=axes, keepdims=True)) / np.sqrt(g.var(axis=axes, keepdims=True) + epsilon)).reshape(x.shape)
    shape = (1, c) + (1,) * (x.ndim - 2)
    return y * gamma.reshape(shape) + beta.reshape(shape)


def np_bilinear(x, factor, axis):
    """Half-pixel-centre bilinear upsampling along one axis, edges clamped (tf.image.resize)."""
    size = x.shape[axis]
    out = []
    for o in range(size * factor):
        src = min(max((o + 0.5) / factor - 0.5, 0.0), size - 1)
        lo = int(math.floor(src))
        hi = min(lo + 1, size - 1)
        w = src - lo
        out.append(np.take(x, lo, axis=axis) * (1 - w) + np.take(x, hi, axis=axis) * w)
    return np.stack(out, axis=axis)


# ---- the cases: (id, layer factory, input shape, numpy reference f(x, weights)) -----------------------

def _weights_of(layer):
    return [w.numpy().astype(np.float64) for w in layer.weights]


CASES = [
    ("relu-default", lambda: L.ReLU(), (3, 4, 5), lambda x, w: np_relu(x)),
    ("relu6", lambda: L.ReLU(6.0), (7,), lambda x, w: np_relu(x, 6.0)),
    ("relu-slope", lambda: L.ReLU(negative_slope=0.1), (7,), lambda x, w: np_relu(x, None, 0.1)),
    ("relu-all", lambda: L.ReLU(max_value=1.5, negative_slope=0.2, threshold=0.3), (3, 5),
     lambda x, w: np_relu(x, 1.5, 0.2, 0.3)),
    ("relu-threshold", lambda: L.ReLU(threshold=0.4), (3, 5), lambda x, w: np_relu(x, None, 0.0, 0.4)),
    ("softmax-last", lambda: L.Softmax(), (3, 7), lambda x, w: np_softmax(x, -1)),
    ("softmax-channels", lambda: L.Softmax(axis=1), (3, 4, 5), lambda x, w: np_softmax(x, 1)),
    ("softmax-axes", lambda: L.Softmax(axis=(2, 3)), (3, 4, 5), lambda x, w: np_softmax(x, (2, 3))),
    ("elu", lambda: L.ELU(0.7), (3, 5), lambda x, w: np.where(x > 0, x, 0.7 * np.expm1(np.minimum(x, 0)))),
    ("prelu-per-element", lambda: L.PReLU(), (3, 5),
     lambda x, w: np.maximum(x, 0) - w[0] * np.maximum(-x, 0)),
    ("prelu-per-channel", lambda: L.PReLU(shared_axes=[2, 3]), (3, 4, 5),
     lambda x, w: np.maximum(x, 0) - w[0] * np.maximum(-x, 0)),
    ("layer-norm-last", lambda: L.LayerNormalization(), (4, 7),
     lambda x, w: np_layer_norm(x, w[0], w[1], (2,), 1e-3)),
    ("layer-norm-axes", lambda: L.LayerNormalization(axis=(1, 3), epsilon=1e-5), (3, 4, 5),
     lambda x, w: np_layer_norm(x, w[0], w[1], (1, 3), 1e-5)),
    ("layer-norm-trailing-no-scale", lambda: L.LayerNormalization(axis=(2, 3), scale=False), (3, 4, 5),
     lambda x, w: np_layer_norm(x, np.ones((4, 5)), w[0], (2, 3), 1e-3)),
    ("layer-norm-no-center", lambda: L.LayerNormalization(center=False), (4, 7),
     lambda x, w: np_layer_norm(x, w[0], None, (2,), 1e-3)),
    ("layer-norm-rms", lambda: L.LayerNormalization(rms_scaling=True), (4, 7),
     lambda x, w: np_layer_norm(x, w[0], None, (2,), 1e-3, rms=True)),
    ("group-norm", lambda: L.GroupNormalization(groups=2), (6, 3, 5),
     lambda x, w: np_group_norm(x, w[0], w[1], 2, 1e-3)),
    ("instance-norm", lambda: L.GroupNormalization(groups=-1, epsilon=1e-5), (3, 4, 5),
     lambda x, w: np_group_norm(x, w[0], w[1], 3, 1e-5)),
    ("group-norm-last", lambda: L.GroupNormalization(groups=3, axis=-1), (5, 6),
     lambda x, w: np.swapaxes(np_group_norm(np.swapaxes(x, 1, 2), w[0], w[1], 3, 1e-3), 1, 2)),
    ("unit-norm", lambda: L.UnitNormalization(), (4, 7),
     lambda x, w: x / np.sqrt(np.maximum((x ** 2).sum(-1, keepdims=True), 1e-12))),
    ("unit-norm-channels", lambda: L.UnitNormalization(axis=1), (3, 4, 5),
     lambda x, w: x / np.sqrt(np.maximum((x ** 2).sum(1, keepdims=True), 1e-12))),
    ("permute", lambda: L.Permute((3, 1, 2)), (3, 4, 5), lambda x, w: x.transpose(0, 3, 1, 2)),
    ("repeat-vector", lambda: L.RepeatVector(3), (5,), lambda x, w: np.repeat(x[:, None], 3, axis=1)),
    ("cropping", lambda: L.Cropping2D(((1, 0), (2, 1))), (3, 4, 7), lambda x, w: x[:, :, 1:, 2:-1]),
    ("cropping-int", lambda: L.Cropping2D(1), (3, 4, 5), lambda x, w: x[:, :, 1:-1, 1:-1]),
    ("cropping-nhwc", lambda: L.Cropping2D((1, 2), data_format="channels_last"), (5, 7, 3),
     lambda x, w: x[:, 1:-1, 2:-2, :]),
    ("upsampling-nearest", lambda: L.UpSampling2D((2, 3)), (3, 4, 5),
     lambda x, w: np.repeat(np.repeat(x, 2, axis=2), 3, axis=3)),
    ("upsampling-nearest-nhwc", lambda: L.UpSampling2D(2, data_format="channels_last"), (4, 5, 3),
     lambda x, w: np.repeat(np.repeat(x, 2, axis=1), 2, axis=2)),
    ("upsampling-bilinear", lambda: L.UpSampling2D((2, 3), interpolation="bilinear"), (3, 4, 5),
     lambda x, w: np_bilinear(np_bilinear(x, 2, 2), 3, 3)),
    ("upsampling-bilinear-nhwc", lambda: L.UpSampling2D((3, 2), data_format="channels_last",
                                                        interpolation="bilinear"), (4, 5, 3),
     lambda x, w: np_bilinear(np_bilinear(x, 3, 1), 2, 2)),
    ("global-max-2d", lambda: L.GlobalMaxPooling2D(), (3, 4, 5), lambda x, w: x.max(axis=(2, 3))),
    ("global-max-2d-keepdims", lambda: L.GlobalMaxPooling2D(keepdims=True), (3, 4, 5),
     lambda x, w: x.max(axis=(2, 3), keepdims=True)),
    ("global-max-2d-nhwc", lambda: L.GlobalMaxPooling2D(data_format="channels_last"), (4, 5, 3),
     lambda x, w: x.max(axis=(1, 2))),
    ("global-avg-1d", lambda: L.GlobalAveragePooling1D(), (7, 3), lambda x, w: x.mean(axis=1)),
    ("global-avg-1d-ncw", lambda: L.GlobalAveragePooling1D(data_format="channels_first", keepdims=True),
     (3, 7), lambda x, w: x.mean(axis=2, keepdims=True)),
    ("global-max-1d", lambda: L.GlobalMaxPooling1D(), (7, 3), lambda x, w: x.max(axis=1)),
    # The dropout layers and ActivityRegularization are the identity at inference.
    ("spatial-dropout-2d", lambda: L.SpatialDropout2D(0.4, seed=3), (3, 4, 5), lambda x, w: x),
    ("spatial-dropout-1d", lambda: L.SpatialDropout1D(0.4, seed=3), (6, 3), lambda x, w: x),
    ("alpha-dropout", lambda: L.AlphaDropout(0.2, seed=5), (6,), lambda x, w: x),
    ("activity-regularization", lambda: L.ActivityRegularization(l1=0.01, l2=0.02), (3, 4), lambda x, w: x),
]
CASE_IDS = [c[0] for c in CASES]


def _build(rng, make, shape):
    """A model of the one layer, its weights set to random values (not the ones/zeros the
    initializers give, which would hide a swapped gamma and beta)."""
    layer = make()
    model = engine.Sequential([engine.Input(shape), layer])
    layer.set_weights([rng.uniform(0.5, 1.5, w.shape).astype(np.float32) for w in layer.weights])
    return model, layer


def _inputs(rng, shape, n=4):
    # Continuous values: a kink (0, a ReLU threshold or cap) or a tie of a max within the
    # finite-difference step is vanishingly unlikely.
    x = rng.standard_normal((n,) + shape) * 1.5
    return x.astype(np.float32)


@pytest.mark.parametrize("label,make,shape,reference", CASES, ids=CASE_IDS)
def test_forward_matches_numpy_float64(rng, label, make, shape, reference):
    model, layer = _build(rng, make, shape)
    x = _inputs(rng, shape)
    expected = reference(x.astype(np.float64), _weights_of(layer))
    assert_close(model.predict(x, verbose=0), expected, 1e-5, what=label)
    # Called on an array, the layer computes the same.
    assert_close(layer(x), expected, 1e-5, what=f"{label} (eager)")


@pytest.mark.parametrize("label,make,shape,reference", CASES, ids=CASE_IDS)
def test_onnx_export_matches_onnxruntime_imports_and_save_load(rng, tmp_path, label, make, shape, reference):
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is a test extra")
    model, _ = _build(rng, make, shape)
    x = _inputs(rng, shape, n=3)
    ours = model.predict(x, verbose=0)
    path = tmp_path / "model.onnx"
    model.export_onnx(path)
    onnx = pytest.importorskip("onnx")
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert_close(ours, session.run(None, {session.get_inputs()[0].name: x})[0], 1e-5, what=label)
    assert_close(engine.onnx.load(path).predict(x, verbose=0), ours, 1e-6, what=f"{label} (imported)")
    model.save(tmp_path / "model.ckpt")
    loaded = engine.load_model(tmp_path / "model.ckpt")
    assert type(loaded.layers[-1]) is type(model.layers[-1])
    assert loaded.layers[-1].get_config() == model.layers[-1].get_config()
    assert np.array_equal(loaded.predict(x, verbose=0), ours)


# ---- gradients: float64 finite differences of the loss ------------------------------------------------

def _check_grads(model, x, y, loss_of_weights, rtol=1e-4):
    """model.value_and_grad (mse) against central differences of loss_of_weights(weights),
    the same loss in numpy float64, for every trainable weight."""
    model.compile(optimizer="sgd", loss="mse")
    loss, grads = model.value_and_grad(x, y)
    weights = [w.numpy().astype(np.float64) for w in model.trainable_weights]
    assert loss == pytest.approx(loss_of_weights(weights), rel=1e-5)
    eps = 1e-6
    for k, w in enumerate(weights):
        numeric = np.zeros_like(w)
        for i in range(w.size):
            old = w.flat[i]
            w.flat[i] = old + eps
            up = loss_of_weights(weights)
            w.flat[i] = old - eps
            down = loss_of_weights(weights)
            w.flat[i] = old
            numeric.flat[i] = (up - down) / (2 * eps)
        assert_close(grads[k], numeric, rtol, what=f"gradient of {model.trainable_weights[k].name}")


@pytest.mark.parametrize("label,make,shape,reference", [c for c in CASES if "dropout" not in c[0]],
                         ids=[c for c in CASE_IDS if "dropout" not in c])
def test_gradients_through_the_layer_match_finite_differences(rng, label, make, shape, reference):
    """A Dense on the last axis before the layer: its kernel's gradient goes through the
    layer's backward; the layer's own weights (PReLU's alpha, gamma and beta) are checked too."""
    engine.set_seed(1)
    dense = L.Dense(shape[-1], use_bias=False)
    layer = make()
    model = engine.Sequential([engine.Input(shape), dense, layer])
    layer.set_weights([rng.uniform(0.5, 1.5, w.shape).astype(np.float32) for w in layer.weights])
    x = _inputs(rng, shape, n=2)
    y = rng.standard_normal(model.predict(x, verbose=0).shape).astype(np.float32)
    x64, y64 = x.astype(np.float64), y.astype(np.float64)
    penalty = {"activity-regularization": lambda h: (0.01 * np.abs(h) + 0.02 * h ** 2).sum() / len(h)}.get(
        label, lambda h: 0.0)

    def loss(weights):
        h = x64 @ weights[0]
        return np.mean((reference(h, weights[1:]) - y64) ** 2) + penalty(h)
    _check_grads(model, x, y, loss)


def test_embedding_gathers_rows_and_its_gradient_is_the_scatter_add(rng):
    vocab, dim = 7, 3
    ids = np.array([[1, 4, 4], [0, 6, 1]], np.int64)
    model = engine.Sequential([engine.Input((3,), dtype="int64"), L.Embedding(vocab, dim)])
    table = model.layers[0].embeddings.numpy().astype(np.float64)
    assert np.array_equal(model.predict(ids, verbose=0), table[ids].astype(np.float32))
    y = rng.standard_normal((2, 3, dim)).astype(np.float32)
    _check_grads(model, ids, y, lambda w: np.mean((w[0][ids] - y) ** 2))
    # Exactly the scatter-add: rows never looked up get no gradient.
    model.compile(optimizer="sgd", loss="mse")
    _, (grad,) = model.value_and_grad(ids, y)
    expected = np.zeros((vocab, dim))
    np.add.at(expected, ids, 2 * (table[ids] - y) / y.size)
    assert_close(grad, expected, 1e-5)
    assert not grad[[2, 3, 5]].any()


def test_embedding_defaults_float_ids_mask_and_training(rng):
    layer = L.Embedding(50, 4, mask_zero=True)
    model = engine.Sequential([engine.Input((5,)), layer, L.GlobalAveragePooling1D(), L.Dense(1)])
    table = layer.embeddings.numpy()
    # Keras's "uniform" initializer: U[-0.05, 0.05].
    assert table.shape == (50, 4) and np.abs(table).max() <= 0.05 and table.std() > 0.01
    ids = rng.integers(0, 50, (64, 5))
    assert np.array_equal(layer(ids.astype(np.float32)), table[ids])  # float ids are cast, as Keras does
    assert np.array_equal(layer.compute_mask(ids), ids != 0)
    assert L.Embedding(3, 2).compute_mask(ids) is None
    y = (ids.mean(axis=1, keepdims=True) / 50).astype(np.float32)
    model.compile(optimizer=engine.optimizers.Adam(0.01), loss="mse")
    history = model.fit(ids.astype(np.float32), y, epochs=20, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    assert not np.array_equal(layer.embeddings.numpy(), table)
    with pytest.warns(UserWarning, match="input_length"):
        L.Embedding(5, 2, input_length=3)
    weights = rng.standard_normal((5, 2)).astype(np.float32)
    for given in ([weights], weights):
        assert np.array_equal(L.Embedding(5, 2, weights=given).get_weights()[0], weights)


def test_layer_and_group_normalization_train_gamma_and_beta(rng):
    x = _inputs(rng, (6, 3, 5), n=32)
    y = (np.tanh(x) * 2 + 0.5).astype(np.float32)
    for make in (lambda: L.LayerNormalization(axis=(1, 2, 3)), lambda: L.GroupNormalization(groups=3)):
        layer = make()
        model = engine.Sequential([engine.Input((6, 3, 5)), layer])
        model.compile(optimizer=engine.optimizers.SGD(0.1), loss="mse")
        assert [w.name.split("/")[-1] for w in model.trainable_weights] == ["gamma", "beta"]
        history = model.fit(x, y, epochs=5, batch_size=8, verbose=0)
        assert history.history["loss"][-1] < history.history["loss"][0]
        gamma, beta = layer.get_weights()
        assert not np.allclose(gamma, 1) and not np.allclose(beta, 0)


def test_layer_normalization_over_trailing_axes_is_one_onnx_node(tmp_path):
    onnx = pytest.importorskip("onnx")
    for axis, fused in ((-1, True), ((2, 3), True), ((1, 3), False)):
        model = engine.Sequential([engine.Input((3, 4, 5)), L.LayerNormalization(axis=axis)])
        model.export_onnx(tmp_path / "ln.onnx")
        types = [node.op_type for node in onnx.load(str(tmp_path / "ln.onnx")).graph.node]
        assert (types == ["LayerNormalization"]) == fused, (axis, types)


def test_bilinear_upsampling_is_one_onnx_resize_node(tmp_path):
    onnx = pytest.importorskip("onnx")
    model = engine.Sequential([engine.Input((3, 4, 5)), L.UpSampling2D((2, 3), interpolation="bilinear")])
    model.export_onnx(tmp_path / "up.onnx")
    nodes = onnx.load(str(tmp_path / "up.onnx")).graph.node
    assert [node.op_type for node in nodes] == ["Resize"]
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in nodes[0].attribute}
    assert attrs["mode"] == b"linear" and attrs["coordinate_transformation_mode"] == b"half_pixel"
    assert "antialias" not in attrs  # opset 17 has none


def test_layer_normalization_weights_follow_center_scale_and_rms_scaling():
    def names(**kw):
        layer = L.LayerNormalization(**kw)
        layer.build((None, 3, 4))
        return [w.name.split("/")[-1] for w in layer.weights]
    assert names() == ["gamma", "beta"]
    assert names(center=False) == ["gamma"]
    assert names(scale=False) == ["beta"]
    assert names(rms_scaling=True) == ["gamma"]
    layer = L.LayerNormalization(axis=[1, 2])
    layer.build((None, 3, 4))
    assert layer.gamma.shape == (3, 4)


# ---- the random layers while training --------------------------------------------------------------

def test_spatial_dropout_drops_whole_channels_and_scales_the_rest(rng):
    x = rng.uniform(1.0, 2.0, (64, 8, 3, 5)).astype(np.float32)
    model = engine.Sequential([engine.Input((8, 3, 5)), L.SpatialDropout2D(0.25, seed=7)])
    first, second = model(x, training=True), model(x, training=True)
    assert not np.array_equal(first, second)  # a fresh mask each call
    kept = first != 0
    # Each feature map is kept or dropped whole; the kept ones are scaled by 1 / (1 - rate).
    assert np.array_equal(kept.all(axis=(2, 3)), kept.any(axis=(2, 3)))
    assert_close(first[kept], x[kept] / 0.75, 1e-6)
    assert abs(1 - kept.all(axis=(2, 3)).mean() - 0.25) < 0.05
    seq = rng.uniform(1.0, 2.0, (64, 6, 8)).astype(np.float32)
    out = L.SpatialDropout1D(0.5, seed=2)(seq, training=True)
    kept = out != 0
    assert np.array_equal(kept.all(axis=1), kept.any(axis=1))  # one draw per (sample, channel)
    nhwc = L.SpatialDropout2D(0.5, data_format="channels_last", seed=2)(x.transpose(0, 2, 3, 1), training=True)
    kept = nhwc != 0
    assert np.array_equal(kept.all(axis=(1, 2)), kept.any(axis=(1, 2)))


def test_alpha_dropout_keeps_selu_mean_and_variance(rng):
    x = rng.standard_normal((4000, 16)).astype(np.float32)
    rate = 0.2
    out = engine.Sequential([engine.Input((16,)), L.AlphaDropout(rate, seed=11)])(x, training=True)
    alpha_p = -SELU_ALPHA * SELU_SCALE
    a = ((1 - rate) * (1 + rate * alpha_p ** 2)) ** -0.5
    b = -a * alpha_p * rate
    dropped = np.isclose(out, a * alpha_p + b, atol=1e-6)
    assert abs(dropped.mean() - rate) < 0.01
    assert_close(out[~dropped], a * x[~dropped].astype(np.float64) + b, 1e-6)
    assert abs(out.mean()) < 0.02 and abs(out.std() - 1) < 0.02
    shared = L.AlphaDropout(0.5, noise_shape=(None, 1), seed=1)(x[:50], training=True)
    assert np.all(np.isclose(shared, a * alpha_p + b).all(axis=1) | ~np.isclose(shared, a * alpha_p + b).any(axis=1))


def test_activity_regularization_adds_its_penalty_over_the_batch_size(rng):
    x = rng.standard_normal((10, 6)).astype(np.float32)
    y = rng.standard_normal((10, 2)).astype(np.float32)
    dense = L.Dense(2)
    model = engine.Sequential([engine.Input((6,)), dense, L.ActivityRegularization(l1=0.05, l2=0.1)])
    model.compile(optimizer=engine.optimizers.SGD(0.0), loss="mse")
    h = x.astype(np.float64) @ dense.kernel.numpy() + dense.bias.numpy()
    penalty = (0.05 * np.abs(h).sum() + 0.1 * (h ** 2).sum()) / len(x)
    assert model.evaluate(x, y, batch_size=10, verbose=0) == pytest.approx(np.mean((h - y) ** 2) + penalty, rel=1e-5)
    assert_close(model.predict(x, verbose=0), h, 1e-6)  # the identity on the outputs


# ---- a small model of the book's kind, end to end --------------------------------------------------

def test_book_style_models_train_export_and_reload(rng, tmp_path):
    """An Embedding + LayerNormalization text classifier, and an NCHW net with PReLU, ReLU6,
    GroupNormalization, SpatialDropout2D, UpSampling2D, Cropping2D and GlobalMaxPooling2D."""
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is a test extra")
    engine.set_seed(4)
    ids = rng.integers(1, 30, (96, 8))
    labels = (ids < 15).mean(axis=1, keepdims=True) > 0.5
    text = engine.Sequential([
        engine.Input((8,), dtype="int64"), L.Embedding(30, 8), L.LayerNormalization(),
        L.Permute((2, 1)), L.GlobalMaxPooling1D(data_format="channels_first"), L.Dense(8),
        L.ReLU(negative_slope=0.1), L.Dense(1, activation="sigmoid")])
    images = rng.standard_normal((48, 3, 6, 6)).astype(np.float32)
    targets = (images.mean(axis=(1, 2, 3)) > 0).astype(np.float32)[:, None]
    vision = engine.Sequential([
        engine.Input((3, 6, 6)), L.Conv2D(4, 3, padding="same"), L.GroupNormalization(groups=2),
        L.PReLU(shared_axes=[2, 3]), L.SpatialDropout2D(0.1), L.UpSampling2D(interpolation="bilinear"),
        L.Cropping2D(2), L.ReLU(6.0), L.GlobalMaxPooling2D(), L.Dense(1, activation="sigmoid")])
    for name, model, x, y in (("text", text, ids, labels.astype(np.float32)), ("vision", vision, images, targets)):
        model.compile(optimizer=engine.optimizers.Adam(0.01), loss="binary_crossentropy")
        history = model.fit(x, y, epochs=8, batch_size=16, verbose=0)
        assert history.history["loss"][-1] < history.history["loss"][0], name
        model.export_onnx(tmp_path / f"{name}.onnx")
        session = ort.InferenceSession(str(tmp_path / f"{name}.onnx"), providers=["CPUExecutionProvider"])
        assert_close(model.predict(x, verbose=0), session.run(None, {session.get_inputs()[0].name: x})[0], 1e-5,
                     what=name)
        model.save(tmp_path / f"{name}.ckpt")
        assert np.array_equal(engine.load_model(tmp_path / f"{name}.ckpt").predict(x, verbose=0),
                              model.predict(x, verbose=0))


# ---- shapes the layers refuse -----------------------------------------------------------------------

@pytest.mark.parametrize("make,shape,message", [
    (lambda: L.RepeatVector(2), (3, 4), "rank 2"),
    (lambda: L.Permute((2, 1)), (3, 4, 5), "rank 3"),
    (lambda: L.Cropping2D(((2, 2), (0, 0))), (3, 4, 5), "leaves nothing"),
    (lambda: L.UpSampling2D(), (3, None, 5), "known image sizes"),
    (lambda: L.GroupNormalization(groups=4), (6, 3, 3), r"groups \(4\) must divide the number of channels \(6\)"),
    (lambda: L.LayerNormalization(axis=3), (4, 5), "out of range"),
    (lambda: L.LayerNormalization(axis=0), (4, 5), "batch axis"),
    (lambda: L.PReLU(), (None, 5), "known sizes"),
    (lambda: L.PReLU(shared_axes=3), (4, 5), "out of range"),
    (lambda: L.GlobalMaxPooling2D(), (4, 5), "rank 4"),
    (lambda: L.GlobalAveragePooling1D(), (4, 5, 6), "rank 3"),
    (lambda: L.AlphaDropout(0.5, noise_shape=(None, 3)), (4,), "does not broadcast"),
    (lambda: L.SpatialDropout2D(0.5), (4, 5), "rank 4"),
], ids=["repeat-rank", "permute-rank", "crop-all", "upsample-unknown", "groups", "ln-axis", "ln-batch",
        "prelu-unknown", "prelu-axis", "gmp2d-rank", "gap1d-rank", "alpha-noise", "spatial-rank"])
def test_unsuitable_inputs_are_clear_errors(make, shape, message):
    layer = make()
    with pytest.raises(ValueError, match=f"^{layer.name}: .*{message}"):
        layer(engine.Input(shape))
