"""Models: layers compiled into a core graph, checked against float64 numpy references
and finite differences; planning, errors and weight handling."""
import numpy as np
import pytest

import engine
from engine import layers as L
from helpers import assert_close
from model_reference import reference_forward


def randn(rng, *shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def mlp():
    return engine.Sequential([
        engine.Input((13,)),
        L.Dense(17, activation="relu"),
        L.Dense(11, activation="tanh"),
        L.Dense(5, activation="softmax"),
    ])


def cnn():
    inputs = engine.Input((3, 13, 11))
    x = L.Conv2D(6, 3, padding="same", activation="relu")(inputs)
    x = L.BatchNormalization()(x)
    x = L.MaxPool2D(2)(x)
    x = L.Conv2D(4, (3, 2), strides=2, padding="same", activation="elu")(x)
    x = L.AvgPool2D(2, strides=1, padding="same")(x)
    x = L.Flatten()(x)
    outputs = L.Dense(7)(x)
    return engine.Model(inputs, outputs)


def branching():
    inputs = engine.Input((4, 9, 9))
    a = L.Conv2D(5, 3, padding="same", activation="relu")(inputs)
    b = L.Conv2D(5, 1)(inputs)
    s = L.Add()([a, b])
    c = L.Concatenate(axis=1)([s, inputs])
    g = L.GlobalAveragePooling2D()(c)
    return engine.Model(inputs, L.Dense(3, activation="sigmoid")(g))


def wide_and_deep():
    """The book's Wide & Deep network: two inputs, a concatenation, an auxiliary output."""
    input_wide = engine.Input((5,), name="wide")
    input_deep = engine.Input((6,), name="deep")
    hidden1 = L.Dense(30, activation="relu")(input_deep)
    hidden2 = L.Dense(30, activation="relu")(hidden1)
    concat = L.Concatenate()([input_wide, hidden2])
    output = L.Dense(1, name="main_output")(concat)
    aux_output = L.Dense(1, name="aux_output")(hidden2)
    return engine.Model([input_wide, input_deep], [output, aux_output])


MODELS = {
    "mlp": (mlp, [(13,)]),
    "cnn": (cnn, [(3, 13, 11)]),
    "branching": (branching, [(4, 9, 9)]),
    "wide_and_deep": (wide_and_deep, [(5,), (6,)]),
}


def make_inputs(rng, shapes, batch):
    return [randn(rng, batch, *s) for s in shapes]


def randomize_bn(model, rng):
    """Non-trivial moving statistics so inference-mode BN is really exercised."""
    for layer in model.layers:
        if isinstance(layer, L.BatchNormalization):
            c = layer.gamma.shape[0]
            layer.set_weights([1 + 0.2 * randn(rng, c), 0.1 * randn(rng, c), 0.1 * randn(rng, c),
                               0.5 + rng.random(c).astype(np.float32)])


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("batch", [1, 7])
def test_forward_matches_numpy(name, batch, rng):
    engine.set_seed(1)
    build, shapes = MODELS[name]
    model = build()
    randomize_bn(model, rng)
    xs = make_inputs(rng, shapes, batch)
    got = model.predict(xs if len(xs) > 1 else xs[0], batch_size=4)
    got = got if isinstance(got, list) else [got]
    for g, r in zip(got, reference_forward(model, xs)):
        assert_close(g, r, 1e-4)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_gradients_match_finite_differences(name, rng):
    engine.set_seed(2)
    build, shapes = MODELS[name]
    model = build()
    randomize_bn(model, rng)
    xs = make_inputs(rng, shapes, 3)
    outs = model.predict(xs if len(xs) > 1 else xs[0])
    out0 = outs[0] if isinstance(outs, list) else outs
    seed = randn(rng, *out0.shape)
    gx, gw = model._gradients(xs if len(xs) > 1 else xs[0], seed)

    W = {id(v): v.value.astype(np.float64) for v in model.weights}
    X = [x.astype(np.float64) for x in xs]

    def loss():
        return float(np.sum(reference_forward(model, X, W)[0] * seed))

    def numeric(arr, count=12, eps=1e-6):
        flat = arr.reshape(-1)
        idx = rng.choice(flat.size, size=min(count, flat.size), replace=False)
        out = []
        for i in idx:
            old = flat[i]
            flat[i] = old + eps
            up = loss()
            flat[i] = old - eps
            down = loss()
            flat[i] = old
            out.append((up - down) / (2 * eps))
        return idx, np.array(out)

    for k, x in enumerate(X):
        idx, num = numeric(x)
        assert_close(gx[k].reshape(-1)[idx], num, 1e-3, f"input {k}")
    trainable = model.trainable_weights
    assert set(gw) == {id(v) for v in trainable}
    for v in trainable:
        idx, num = numeric(W[id(v)])
        assert_close(gw[id(v)].reshape(-1)[idx], num, 1e-3, v.name)


def test_fan_out_sums_gradients(rng):
    inputs = engine.Input((6,))
    h = L.Dense(6, use_bias=False)(inputs)
    y = L.Add()([h, inputs])  # `inputs` feeds both the Dense and the Add
    model = engine.Model(inputs, y)
    x = randn(rng, 4, 6)
    seed = randn(rng, 4, 6)
    gx, gw = model._gradients(x, seed)
    kernel = model.layers[1].kernel.value.astype(np.float64)
    np.testing.assert_allclose(gx[0], seed @ kernel.T + seed, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gw[id(model.layers[1].kernel)], x.T.astype(np.float64) @ seed, rtol=1e-5, atol=1e-5)


def test_frozen_layers_get_no_gradient(rng):
    model = mlp()
    model.layers[1].trainable = False
    x = randn(rng, 3, 13)
    _, gw = model._gradients(x, randn(rng, 3, 5))
    frozen = {id(v) for v in model.layers[1].weights}
    assert frozen.isdisjoint(gw)
    assert len(gw) == 4


def test_replanning_on_batch_size_gives_identical_results(rng):
    model = cnn()
    x = randn(rng, 10, 3, 13, 11)
    full = model.predict(x, batch_size=10)
    pieces = model.predict(x, batch_size=3)  # batches 3, 3, 3, 1
    np.testing.assert_array_equal(full, pieces)
    np.testing.assert_array_equal(model(x[:1]), full[:1])


def test_repeated_calls_allocate_nothing_new(rng):
    model = cnn()
    x = randn(rng, 8, 3, 13, 11)
    model(x)
    before = model.executor_stats()
    for _ in range(3):
        model(x)
    after = model.executor_stats()
    assert after["plans"] == before["plans"] == 1
    assert after["buffer_allocations"] == before["buffer_allocations"]
    assert after["planned_bytes"] > 0
    model(x[:5])  # a new batch size plans once more
    assert model.executor_stats()["plans"] == 2
    model(x)  # and the first plan is still cached
    assert model.executor_stats()["plans"] == 2


def test_parameter_counts_and_summary():
    model = engine.Sequential([
        engine.Input((784,)),
        L.Dense(300, activation="relu"),
        L.Dense(100, activation="relu"),
        L.Dense(10, activation="softmax"),
    ])
    assert [l.count_params() for l in model.layers] == [235500, 30100, 1010]
    assert model.count_params() == 266610
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "Total params: 266,610" in text
    assert "(None, 300)" in text and "Dense" in text

    conv = L.Conv2D(8, 3, groups=2)
    engine.Model(i := engine.Input((4, 7, 7)), conv(i))
    assert conv.kernel.shape == (8, 2, 3, 3) and conv.count_params() == 8 * 2 * 9 + 8
    bn = L.BatchNormalization()
    engine.Model(i := engine.Input((5, 3, 3)), bn(i))
    assert bn.count_params() == 20 and len(bn.trainable_weights) == 2


def test_weights_round_trip_and_clone(rng):
    a = cnn()
    b = engine.clone_model(a)
    x = randn(rng, 2, 3, 13, 11)
    assert not np.allclose(a.predict(x), b.predict(x))
    b.set_weights(a.get_weights())
    np.testing.assert_array_equal(a.predict(x), b.predict(x))
    w = a.layers[1].get_weights()
    w[0] += 1
    a.layers[1].set_weights(w)
    np.testing.assert_array_equal(a.layers[1].get_weights()[0], w[0])
    assert not np.allclose(a.predict(x), b.predict(x))


def test_initializers_are_seeded():
    engine.set_seed(42)
    w1 = mlp().get_weights()
    engine.set_seed(42)
    w2 = mlp().get_weights()
    for p, q in zip(w1, w2):
        np.testing.assert_array_equal(p, q)


def test_batch_norm_training_updates_moving_statistics(rng):
    inputs = engine.Input((3, 5, 5))
    bn = L.BatchNormalization(momentum=0.9)
    model = engine.Model(inputs, bn(inputs))
    x = randn(rng, 4, 3, 5, 5) * 2 + 1
    y = model(x, training=True)
    mean = x.astype(np.float64).mean(axis=(0, 2, 3))
    var = x.astype(np.float64).var(axis=(0, 2, 3))
    assert_close(y, (x - mean[None, :, None, None]) / np.sqrt(var[None, :, None, None] + 1e-3), 1e-4)
    assert_close(bn.moving_mean.value, 0.1 * mean, 1e-4)


def test_dropout_is_identity_at_inference_and_scales_in_training(rng):
    inputs = engine.Input((1000,))
    model = engine.Model(inputs, L.Dropout(0.25, seed=3)(inputs))
    x = np.ones((4, 1000), np.float32)
    np.testing.assert_array_equal(model(x), x)
    y = model(x, training=True)
    kept = y != 0
    np.testing.assert_allclose(y[kept], 1 / 0.75, rtol=1e-6)
    assert 0.7 < kept.mean() < 0.8


def test_wrong_input_shape_names_input_and_shapes(rng):
    model = mlp()
    with pytest.raises(ValueError, match=r"expects shape \[-1, 13\].*got \[2, 12\]"):
        model.predict(randn(rng, 2, 12))
    with pytest.raises(ValueError, match="expects 2 input"):
        wide_and_deep().predict(randn(rng, 2, 5))


def test_incompatible_layers_raise_with_layer_name():
    inputs = engine.Input((10,))
    with pytest.raises(ValueError, match="conv2d.*rank 4"):
        L.Conv2D(4, 3)(inputs)
    a = engine.Input((4,))
    b = engine.Input((5,))
    with pytest.raises(ValueError, match="add.*incompatible"):
        L.Add()([a, b])
    with pytest.raises(ValueError, match="concatenate"):
        L.Concatenate(axis=1)([engine.Input((2, 3)), engine.Input((2, 4))])
    with pytest.raises(ValueError, match="not connected|not among"):
        engine.Model(engine.Input((3,)), L.Dense(2)(b))


def test_unknown_activation_and_bad_arguments():
    with pytest.raises(ValueError, match="unknown activation 'relux'"):
        L.Dense(3, activation="relux")
    with pytest.raises(ValueError, match="units must be positive"):
        L.Dense(0)
    with pytest.raises(ValueError, match="padding"):
        L.Conv2D(3, 3, padding="full")
    with pytest.raises(ValueError, match="rate"):
        L.Dropout(1.5)


LAYER_CASES = {
    "dense_selu": ((7,), lambda: L.Dense(5, activation="selu"), (None, 5), 40),
    "dense_no_bias_3d": ((3, 7), lambda: L.Dense(4, use_bias=False), (None, 3, 4), 28),
    "conv_valid_strided": ((2, 9, 8), lambda: L.Conv2D(3, (3, 2), strides=2), (None, 3, 4, 4), 39),
    "conv_same_dilated_groups": ((4, 7, 7), lambda: L.Conv2D(6, 3, padding="same", dilation_rate=2, groups=2,
                                                             activation="sigmoid"), (None, 6, 7, 7), 114),
    "maxpool_same": ((3, 7, 5), lambda: L.MaxPool2D(2, padding="same"), (None, 3, 4, 3), 0),
    "avgpool_same": ((3, 7, 5), lambda: L.AvgPool2D(3, strides=2, padding="same"), (None, 3, 4, 3), 0),
    "global_avg_pool": ((3, 5, 4), lambda: L.GlobalAveragePooling2D(), (None, 3), 0),
    "flatten": ((3, 2, 5), lambda: L.Flatten(), (None, 30), 0),
    "reshape": ((3, 2, 5), lambda: L.Reshape((5, -1)), (None, 5, 6), 0),
    "activation_softplus": ((9,), lambda: L.Activation("softplus"), (None, 9), 0),
    "leaky_relu": ((9,), lambda: L.LeakyReLU(), (None, 9), 0),
    "dropout_inference": ((9,), lambda: L.Dropout(0.5), (None, 9), 0),
    "batch_norm_2d": ((6,), lambda: L.BatchNormalization(), (None, 6), 24),
    "identity": ((4,), lambda: L.Identity(), (None, 4), 0),
}


@pytest.mark.parametrize("name", sorted(LAYER_CASES))
def test_each_layer_shape_params_and_values(name, rng):
    shape, make, out_shape, params = LAYER_CASES[name]
    layer = make()
    inputs = engine.Input(shape)
    model = engine.Model(inputs, layer(inputs))
    randomize_bn(model, rng)
    assert model.outputs[0].shape == out_shape
    assert layer.count_params() == params
    x = randn(rng, 3, *shape)
    y = model.predict(x)
    assert y.shape == (3,) + out_shape[1:]
    assert_close(y, reference_forward(model, [x])[0], 1e-5)


@pytest.mark.parametrize("use_bias", [True, False])
def test_batch_norm_folds_into_conv_for_inference(use_bias, rng):
    inputs = engine.Input((3, 9, 9))
    x = L.Conv2D(5, 3, padding="same", use_bias=use_bias)(inputs)
    x = L.BatchNormalization()(x)
    x = L.Activation("relu")(x)
    x = L.Conv2D(4, 1)(x)
    x = L.BatchNormalization()(x)  # folded, no Relu after it
    model = engine.Model(inputs, L.Flatten()(x))
    randomize_bn(model, rng)
    data = randn(rng, 4, 3, 9, 9)
    assert_close(model.predict(data), reference_forward(model, [data])[0], 1e-5)
    assert model.executor_stats()["folded_batch_norms"] == 2
    # The folded weights follow the live parameters.
    bn = model.layers[2]
    bn.set_weights([w * 1.5 for w in bn.get_weights()])
    assert_close(model.predict(data), reference_forward(model, [data])[0], 1e-5)
