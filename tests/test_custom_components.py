"""Custom components as the book writes them (chapters 10-12 and 17, NCHW and Keras 3 names):
layers with build()/call(), subclassed models, losses, activations and Lambda written with
engine.ops, add_loss, Monte Carlo dropout, tied weights, nested models. Each is checked
against numpy float64, the equivalent built-in model, or onnxruntime."""
import numpy as np
import pytest

import engine
from engine import layers as L
from engine import ops
from helpers import assert_close


# ---- the book's components ----------------------------------------------------------------------

class MyDense(L.Layer):
    def __init__(self, units, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.activation = engine.activations.get(activation)

    def build(self, batch_input_shape):
        self.kernel = self.add_weight(name="kernel", shape=[batch_input_shape[-1], self.units],
                                      initializer="glorot_normal")
        self.bias = self.add_weight(name="bias", shape=[self.units], initializer="zeros")
        super().build(batch_input_shape)

    def call(self, X):
        return self.activation(X @ self.kernel + self.bias)

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "activation": engine.activations.serialize(self.activation)}


class WideAndDeepModel(engine.Model):
    def __init__(self, units=30, activation="relu", **kwargs):
        super().__init__(**kwargs)
        self.hidden1 = L.Dense(units, activation=activation)
        self.hidden2 = L.Dense(units, activation=activation)
        self.main_output = L.Dense(1)
        self.aux_output = L.Dense(1)

    def call(self, inputs):
        input_A, input_B = inputs
        hidden1 = self.hidden1(input_B)
        hidden2 = self.hidden2(hidden1)
        concat = ops.concatenate([input_A, hidden2], axis=1)
        return self.main_output(concat), self.aux_output(hidden2)


class MCDropout(L.Dropout):
    def call(self, inputs):
        return super().call(inputs, training=True)


class ResidualBlock(L.Layer):
    def __init__(self, n_layers, n_neurons, **kwargs):
        super().__init__(**kwargs)
        self.hidden = [L.Dense(n_neurons, activation="elu", kernel_initializer="he_normal")
                       for _ in range(n_layers)]

    def call(self, inputs):
        Z = inputs
        for layer in self.hidden:
            Z = layer(Z)
        return inputs + Z


class ResidualRegressor(engine.Model):
    def __init__(self, output_dim, **kwargs):
        super().__init__(**kwargs)
        self.hidden1 = L.Dense(30, activation="elu", kernel_initializer="he_normal")
        self.block1 = ResidualBlock(2, 30)
        self.block2 = ResidualBlock(2, 30)
        self.out = L.Dense(output_dim)

    def call(self, inputs):
        Z = self.hidden1(inputs)
        for _ in range(1 + 3):
            Z = self.block1(Z)
        Z = self.block2(Z)
        return self.out(Z)


class DenseTranspose(L.Layer):
    """The decoder half of a tied autoencoder: the encoder layer's kernel, transposed."""

    def __init__(self, dense, activation=None, **kwargs):
        self.dense = dense
        self.activation = engine.activations.get(activation)
        super().__init__(**kwargs)

    def build(self, batch_input_shape):
        self.biases = self.add_weight(name="bias", shape=[self.dense.input_shape[-1]], initializer="zeros")
        super().build(batch_input_shape)

    def call(self, inputs):
        z = ops.matmul(inputs, ops.transpose(self.dense.kernel))
        return self.activation(z + self.biases)


class ReconstructingRegressor(engine.Model):
    """The book's auxiliary reconstruction loss through add_loss."""

    def __init__(self, output_dim, **kwargs):
        super().__init__(**kwargs)
        self.hidden = [L.Dense(30, activation="selu", kernel_initializer="lecun_normal") for _ in range(2)]
        self.out = L.Dense(output_dim)
        self.reconstruct = L.Dense(8)

    def call(self, inputs):
        Z = inputs
        for layer in self.hidden:
            Z = layer(Z)
        reconstruction = self.reconstruct(Z)
        self.add_loss(0.05 * ops.mean(ops.square(reconstruction - inputs)))
        return self.out(Z)


def huber_fn(y_true, y_pred):
    error = y_true - y_pred
    is_small_error = ops.abs(error) < 1
    squared_loss = ops.square(error) / 2
    linear_loss = ops.abs(error) - 0.5
    return ops.where(is_small_error, squared_loss, linear_loss)


class HuberLoss(engine.losses.Loss):
    def __init__(self, threshold=1.0, **kwargs):
        self.threshold = threshold
        super().__init__(**kwargs)

    def call(self, y_true, y_pred):
        error = y_true - y_pred
        is_small_error = ops.abs(error) < self.threshold
        squared_loss = ops.square(error) / 2
        linear_loss = self.threshold * ops.abs(error) - self.threshold ** 2 / 2
        return ops.where(is_small_error, squared_loss, linear_loss)

    def get_config(self):
        return {**super().get_config(), "threshold": self.threshold}


def my_softplus(z):
    return ops.log(ops.exp(z) + 1.0)


def regression_data(rng, n=64, d=8):
    x = rng.standard_normal((n, d)).astype(np.float32)
    y = (x[:, :1] * 2 - x[:, 1:2] + 0.1 * rng.standard_normal((n, 1))).astype(np.float32)
    return x, y


# ---- engine.ops --------------------------------------------------------------------------------

def test_ops_on_arrays_match_numpy(rng):
    # float64 arrays are converted by the Keras-only names; names shared with the low-level
    # kernels (add, matmul, softmax, ...) take float32 arrays.
    a = rng.standard_normal((3, 4)).astype(np.float32)
    b = rng.uniform(0.5, 2.0, (1, 4)).astype(np.float32)
    a32, b32 = a, b
    checks = {
        "add": (ops.add(a, b), a32.astype(np.float64) + b32), "subtract": (ops.subtract(a, 2.0), a32 - 2.0),
        "divide": (ops.divide(a, b), a32 / b32.astype(np.float64)), "exp": (ops.exp(a.astype(np.float64)), np.exp(a32.astype(np.float64))),
        "square": (ops.square(a), a32.astype(np.float64) ** 2), "abs": (ops.abs(a), np.abs(a32)),
        "sqrt": (ops.sqrt(b), np.sqrt(b32.astype(np.float64))), "log": (ops.log(b), np.log(b32.astype(np.float64))),
        "maximum": (ops.maximum(a, 0.0), np.maximum(a32, 0)), "power": (ops.power(b, 3.0), b32.astype(np.float64) ** 3),
        "mean": (ops.mean(a, axis=1), a32.astype(np.float64).mean(axis=1)),
        "sum": (ops.sum(a), a32.astype(np.float64).sum()), "max": (ops.max(a, axis=0, keepdims=True), a32.max(0, keepdims=True)),
        "matmul": (ops.matmul(a, b.T.copy()), a32.astype(np.float64) @ b32.T.astype(np.float64)),
        "transpose": (ops.transpose(a), a32.T), "reshape": (ops.reshape(a, (2, -1)), a32.reshape(2, -1)),
        "softmax": (ops.softmax(a), np.exp(a32) / np.exp(a32.astype(np.float64)).sum(-1, keepdims=True)),
        "where": (ops.where(a > 0, a, 0.0), np.where(a32 > 0, a32, 0)),
        "one_hot": (ops.one_hot(np.array([2, 0]), 3), np.eye(3)[[2, 0]]),
        "concatenate": (ops.concatenate([a, b], axis=0), np.concatenate([a32, b32])),
        "stack": (ops.stack([a, a], axis=1), np.stack([a32, a32], axis=1)),
        "getitem": (ops.getitem(a, (slice(None), 1)), a32[:, 1]),
        "clip": (ops.clip(a, -0.5, 0.5), np.clip(a32, -0.5, 0.5)),
    }
    for name, (out, ref) in checks.items():
        assert np.shape(out) == np.shape(ref), name
        assert_close(np.asarray(out, np.float64), np.asarray(ref, np.float64), 1e-6, what=name)


def test_operators_on_symbolic_tensors_build_graph_nodes(rng):
    x = rng.standard_normal((5, 4)).astype(np.float32)
    w = rng.standard_normal((4, 3)).astype(np.float32)
    inp = engine.Input((4,))
    y = (2.0 * inp - 1.0) @ w
    z = ops.sum(ops.relu(y) ** 2, axis=-1, keepdims=True) / 3.0 + abs(-inp[:, :1])
    model = engine.Model(inp, [y, z, -inp[:, 1:3]])
    assert z.shape == (None, 1) and y.shape == (None, 3)
    got = model.predict(x)
    x64, w64 = x.astype(np.float64), w.astype(np.float64)
    y_ref = (2 * x64 - 1) @ w64
    assert_close(got[0], y_ref, 1e-5)
    assert_close(got[1], (np.maximum(y_ref, 0) ** 2).sum(-1, keepdims=True) / 3 + np.abs(x64[:, :1]), 1e-5)
    assert np.array_equal(got[2], -x[:, 1:3])


def test_python_control_flow_on_a_symbolic_tensor_is_a_clear_error():
    class Branchy(L.Layer):
        def call(self, x):
            return x if ops.sum(x) > 0 else -x

    with pytest.raises(TypeError, match="no truth value.*engine.ops.where"):
        Branchy()(engine.Input((3,)))

    class UsesNumpy(L.Layer):
        def call(self, x):
            return np.tanh(np.zeros(3))

    with pytest.raises(TypeError, match="must return symbolic tensors"):
        UsesNumpy()(engine.Input((3,)))


# ---- layers with call() ------------------------------------------------------------------------

def test_custom_dense_equals_the_built_in_dense_and_trains_the_same(rng):
    x, y = regression_data(rng)
    custom = engine.Sequential([engine.Input((8,)), MyDense(16, activation="relu"), MyDense(1)])
    builtin = engine.Sequential([engine.Input((8,)), L.Dense(16, activation="relu"), L.Dense(1)])
    builtin.set_weights(custom.get_weights())
    assert_close(custom.predict(x), builtin.predict(x), 1e-6)
    # Called directly on arrays, the layer computes the same as in a model.
    layer = custom.layers[0]
    assert_close(layer(x), np.maximum(x.astype(np.float64) @ layer.kernel.numpy() + layer.bias.numpy(), 0), 1e-5)
    for model in (custom, builtin):
        model.compile(optimizer=engine.optimizers.SGD(learning_rate=0.05), loss="mse")
        model.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    for a, b in zip(custom.get_weights(), builtin.get_weights()):
        assert_close(a, b, 1e-5)


def test_subclassed_wide_and_deep_equals_the_functional_one(rng):
    xa = rng.standard_normal((40, 5)).astype(np.float32)
    xb = rng.standard_normal((40, 6)).astype(np.float32)
    y = rng.standard_normal((40, 1)).astype(np.float32)
    subclassed = WideAndDeepModel(30, activation="relu")
    subclassed.build([(None, 5), (None, 6)])

    input_A, input_B = engine.Input((5,)), engine.Input((6,))
    h1 = L.Dense(30, activation="relu")(input_B)
    h2 = L.Dense(30, activation="relu")(h1)
    concat = L.Concatenate(axis=1)([input_A, h2])
    functional = engine.Model([input_A, input_B], [L.Dense(1)(concat), L.Dense(1)(h2)])
    functional.set_weights(subclassed.get_weights())
    for a, b in zip(subclassed.predict((xa, xb)), functional.predict((xa, xb))):
        assert_close(a, b, 1e-6)
    assert subclassed.count_params() == functional.count_params() == 5 * 0 + (6 * 30 + 30) + (30 * 30 + 30) + 36 + 31
    for model in (subclassed, functional):
        model.compile(loss=["mse", "mse"], loss_weights=[0.9, 0.1], optimizer=engine.optimizers.SGD(0.01))
        history = model.fit((xa, xb), (y, y), epochs=2, batch_size=8, shuffle=False, verbose=0)
    for a, b in zip(subclassed.get_weights(), functional.get_weights()):
        assert_close(a, b, 1e-5)
    lines = []
    subclassed.summary(print_fn=lines.append)
    assert any("dense" in line for line in lines)
    assert len(history.history) == 3  # loss and each output's loss


def test_a_subclassed_model_compiles_before_it_is_built_and_builds_on_fit(rng):
    x, y = regression_data(rng)
    model = ResidualRegressor(1)
    model.compile(loss="mse", optimizer="nadam")
    history = model.fit(x, y, epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    # The blocks reused four times share their weights: 30*8+30 + 2 blocks * 2 * (30*30+30) + 31.
    assert model.count_params() == 270 + 4 * 930 + 31


def test_mc_dropout_subclass_draws_masks_at_inference_and_replays_from_the_seed(rng):
    x = rng.standard_normal((30, 8)).astype(np.float32)

    def build():
        engine.set_seed(11)
        return engine.Sequential([engine.Input((8,)), L.Dense(32, activation="relu"), MCDropout(0.3),
                                  L.Dense(1)])

    model = build()
    samples = np.stack([model.predict(x) for _ in range(20)])
    assert samples.std(axis=0).mean() > 1e-3
    again = build()
    for expected in samples[:3]:
        assert np.array_equal(again.predict(x), expected)


def test_a_layer_branching_on_training_gets_the_mode(rng):
    class AddOneWhileTraining(L.Layer):
        def call(self, x, training=None):
            return x + 1.0 if training else x

    x = rng.standard_normal((6, 3)).astype(np.float32)
    model = engine.Sequential([engine.Input((3,)), AddOneWhileTraining()])
    assert np.array_equal(model.predict(x), x)
    assert np.array_equal(model(x, training=True), x + 1)
    model.compile(loss="mse", optimizer="sgd")
    # evaluate runs in inference mode: the loss of the unchanged inputs.
    assert model.evaluate(x, x, verbose=0) == pytest.approx(0.0, abs=1e-7)


def test_tied_autoencoder_shares_the_kernel(rng):
    x = rng.uniform(0, 1, (32, 12)).astype(np.float32)
    dense_1 = L.Dense(6, activation="relu")
    encoder = engine.Sequential([engine.Input((12,)), dense_1])
    decoder = engine.Sequential([engine.Input((6,)), DenseTranspose(dense_1, activation="sigmoid")])
    autoencoder = engine.Sequential([encoder, decoder])
    # One kernel (12x6) and two biases: the decoder adds only its bias.
    assert autoencoder.count_params() == 12 * 6 + 6 + 12
    code = np.maximum(x.astype(np.float64) @ dense_1.kernel.numpy() + dense_1.bias.numpy(), 0)
    recon = 1 / (1 + np.exp(-(code @ dense_1.kernel.numpy().T + decoder.layers[0].biases.numpy())))
    assert_close(autoencoder.predict(x), recon, 1e-5)
    before = dense_1.kernel.numpy()
    autoencoder.compile(loss="mse", optimizer=engine.optimizers.SGD(learning_rate=1.0))
    autoencoder.fit(x, x, epochs=1, verbose=0)
    assert not np.array_equal(before, dense_1.kernel.numpy())
    # The decoder reads the trained kernel, not the one it was traced with.
    dense_1.kernel.assign(dense_1.kernel.numpy() * 2)
    kernel = dense_1.kernel.numpy().astype(np.float64)
    code = np.maximum(x.astype(np.float64) @ kernel + dense_1.bias.numpy(), 0)
    recon = 1 / (1 + np.exp(-(code @ kernel.T + decoder.layers[0].biases.numpy())))
    assert_close(autoencoder.predict(x), recon, 1e-5)


def test_add_loss_joins_the_training_loss(rng):
    x, y = regression_data(rng, n=16)
    model = ReconstructingRegressor(1)
    model.compile(loss="mse", optimizer=engine.optimizers.SGD(learning_rate=0.0))
    model.build((None, 8))
    loss = model.evaluate(x, y, batch_size=16, verbose=0)
    # numpy float64: the mse plus 0.05 times the reconstruction error of the same batch.
    h, x64 = x.astype(np.float64), x.astype(np.float64)
    for layer in model.hidden:
        z = h @ layer.kernel.numpy() + layer.bias.numpy()
        h = 1.0507009873554805 * np.where(z > 0, z, 1.6732632423543772 * np.expm1(np.minimum(z, 0)))
    pred = h @ model.out.kernel.numpy() + model.out.bias.numpy()
    recon = h @ model.reconstruct.kernel.numpy() + model.reconstruct.bias.numpy()
    expected = np.mean((pred - y) ** 2) + 0.05 * np.mean((recon - x64) ** 2)
    assert loss == pytest.approx(expected, rel=1e-5)


# ---- losses, activations and Lambda as functions -------------------------------------------------

@pytest.mark.parametrize("loss", [huber_fn, HuberLoss(1.0)], ids=["function", "subclass"])
def test_a_python_huber_loss_trains_to_the_built_in_huber_weights(rng, loss):
    x, y = regression_data(rng)
    y = y * 3  # errors on both sides of the threshold

    def build():
        engine.set_seed(3)
        return engine.Sequential([engine.Input((8,)), L.Dense(8, activation="relu"), L.Dense(1)])

    results = []
    for spec in (loss, "huber"):
        model = build()
        model.compile(loss=spec, optimizer=engine.optimizers.SGD(learning_rate=0.05))
        history = model.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
        results.append((history.history["loss"], model.get_weights()))
    assert np.allclose(results[0][0], results[1][0], rtol=1e-5)
    for a, b in zip(results[0][1], results[1][1]):
        assert_close(a, b, 1e-5)
    # On arrays, the loss object computes the same as the built-in one.
    pred = rng.standard_normal((10, 1)).astype(np.float32) * 2
    built_in = engine.losses.Huber()(y[:10], pred)
    assert engine.losses.get(loss)(y[:10], pred) == pytest.approx(built_in, rel=1e-6)


def test_python_activation_and_lambda_are_traced(rng):
    x = rng.standard_normal((7, 4)).astype(np.float32)
    inp = engine.Input((4,))
    h = L.Dense(5, activation=my_softplus)(inp)
    out = L.Lambda(lambda t: ops.exp(-t) * 2.0)(h)
    model = engine.Model(inp, out)
    dense = model.layers[1]
    h_ref = np.log1p(np.exp(x.astype(np.float64) @ dense.kernel.numpy() + dense.bias.numpy()))
    assert_close(model.predict(x), np.exp(-h_ref) * 2, 1e-5)
    # activations.get gives functions, as Keras's does.
    assert np.array_equal(engine.activations.get("relu")(x), np.maximum(x, 0))


# ---- saving, ONNX ------------------------------------------------------------------------------

def test_custom_layer_loss_and_subclassed_model_survive_save_and_load(rng, tmp_path):
    x, y = regression_data(rng)
    model = engine.Sequential([engine.Input((8,)), MyDense(8, activation="relu"), MyDense(1)])
    model.compile(loss=huber_fn, optimizer="adam")
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "custom.ckpt")
    with pytest.raises(ValueError, match="MyDense.*custom_objects"):
        engine.load_model(tmp_path / "custom.ckpt")
    loaded = engine.load_model(tmp_path / "custom.ckpt", custom_objects={"MyDense": MyDense, "huber_fn": huber_fn})
    assert np.array_equal(loaded.predict(x), model.predict(x))
    loaded.fit(x, y, epochs=1, verbose=0)  # the loss function came back with the optimizer state

    sub = ResidualRegressor(1)
    sub.compile(loss="mse", optimizer="nadam")
    sub.fit(x, y, epochs=1, verbose=0)
    sub.save(tmp_path / "sub.ckpt")
    again = engine.load_model(tmp_path / "sub.ckpt", custom_objects={"ResidualRegressor": ResidualRegressor})
    assert np.array_equal(again.predict(x), sub.predict(x))


def test_nested_autoencoder_save_load_predict_is_identical(rng, tmp_path):
    x = rng.uniform(0, 1, (16, 1, 8, 8)).astype(np.float32)
    encoder = engine.Sequential([engine.Input((1, 8, 8)), L.Flatten(), L.Dense(16, activation="relu"),
                                 MyDense(4, activation="relu")])
    decoder = engine.Sequential([engine.Input((4,)), L.Dense(64, activation="sigmoid"), L.Reshape((1, 8, 8))])
    autoencoder = engine.Sequential([encoder, decoder])
    autoencoder.compile(loss="mse", optimizer="adam")
    autoencoder.fit(x, x, epochs=1, verbose=0)
    autoencoder.save(tmp_path / "ae.ckpt")
    loaded = engine.load_model(tmp_path / "ae.ckpt", custom_objects={"MyDense": MyDense})
    assert np.array_equal(loaded.predict(x), autoencoder.predict(x))


def test_custom_components_export_to_onnx_and_match_onnxruntime(rng, tmp_path):
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is a test extra")
    x, _ = regression_data(rng, n=12)
    model = ResidualRegressor(2)
    model.build((None, 8))
    inp = engine.Input((8,))
    z = MyDense(6, activation=my_softplus)(inp)
    z = L.Lambda(lambda t: ops.sqrt(ops.square(t) + 1.0) - ops.mean(t, axis=-1, keepdims=True))(z)
    functional = engine.Model(inp, ops.where(z > 0.5, z, ops.tanh(z)) @ np.ones((6, 2), np.float32))
    for name, m in (("subclassed", model), ("functional", functional)):
        path = tmp_path / f"{name}.onnx"
        m.export_onnx(path)
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        expected = session.run(None, {session.get_inputs()[0].name: x})[0]
        assert_close(m.predict(x), expected, 1e-5, what=name)


# ---- a GAN: two models trained in turns through train_on_batch -----------------------------------

def test_gan_trains_generator_and_discriminator_in_turns(rng):
    engine.set_seed(2)
    codings = 4
    generator = engine.Sequential([engine.Input((codings,)), L.Dense(16, activation="selu"),
                                   L.Dense(8, activation="sigmoid")])
    discriminator = engine.Sequential([engine.Input((8,)), L.Dense(16, activation="selu"),
                                       L.Dense(1, activation="sigmoid")])
    gan = engine.Sequential([generator, discriminator])
    discriminator.compile(loss="binary_crossentropy", optimizer="rmsprop")
    discriminator.trainable = False
    gan.compile(loss="binary_crossentropy", optimizer="rmsprop")
    real = rng.uniform(0.6, 1.0, (32, 8)).astype(np.float32)
    for _ in range(3):
        noise = rng.standard_normal((32, codings)).astype(np.float32)
        fake = generator.predict(noise)
        d_before = discriminator.get_weights()
        discriminator.trainable = True
        discriminator.train_on_batch(np.concatenate([fake, real]),
                                     np.concatenate([np.zeros((32, 1)), np.ones((32, 1))]))
        assert any(not np.array_equal(a, b) for a, b in zip(d_before, discriminator.get_weights()))
        discriminator.trainable = False
        d_before, g_before = discriminator.get_weights(), generator.get_weights()
        gan.train_on_batch(noise, np.ones((32, 1), np.float32))
        # The generator's step leaves the frozen discriminator unchanged.
        assert all(np.array_equal(a, b) for a, b in zip(d_before, discriminator.get_weights()))
        assert any(not np.array_equal(a, b) for a, b in zip(g_before, generator.get_weights()))


def test_a_functional_model_built_with_ops_saves_loads_and_clones(rng, tmp_path):
    x = rng.standard_normal((9, 5)).astype(np.float32)
    inp = engine.Input((5,))
    h = L.Dense(4)(inp)
    out = ops.concatenate([ops.exp(h) * 0.5, ops.mean(h, axis=-1, keepdims=True) - 1.0], axis=1)
    model = engine.Model(inp, out)
    model.save(tmp_path / "ops.ckpt")
    loaded = engine.load_model(tmp_path / "ops.ckpt")
    assert np.array_equal(loaded.predict(x), model.predict(x))
    clone = engine.clone_model(model)
    dense = clone.layers[1]
    h_ref = x.astype(np.float64) @ dense.kernel.numpy() + dense.bias.numpy()
    expected = np.concatenate([np.exp(h_ref) * 0.5, h_ref.mean(-1, keepdims=True) - 1], axis=1)
    assert_close(clone.predict(x), expected, 1e-5)


def test_gaussian_noise_and_dropout_act_only_while_training(rng):
    x = np.ones((2000, 8), np.float32)
    for layer, mean, std in ((L.GaussianNoise(0.5, seed=1), 1.0, 0.5),
                             (L.GaussianDropout(0.2, seed=2), 1.0, np.sqrt(0.2 / 0.8))):
        model = engine.Sequential([engine.Input((8,)), layer])
        assert np.array_equal(model.predict(x), x)
        first, second = model(x, training=True), model(x, training=True)
        assert not np.array_equal(first, second)  # fresh draws each call
        assert abs(first.mean() - mean) < 0.02 and abs(first.std() - std) < 0.02


def test_regularizer_and_constraint_written_as_functions(rng):
    def my_l1(weights):
        return ops.sum(ops.abs(0.01 * weights))

    def my_positive(weights):
        return ops.where(weights < 0.0, ops.zeros_like(weights), weights)

    x, y = regression_data(rng)
    dense = L.Dense(1, kernel_regularizer=my_l1, kernel_constraint=my_positive)
    model = engine.Sequential([engine.Input((8,)), dense])
    model.compile(loss="mse", optimizer=engine.optimizers.SGD(learning_rate=0.0))
    kernel = dense.kernel.numpy().astype(np.float64)
    pred = x @ kernel + dense.bias.numpy()
    expected = np.mean((pred - y) ** 2) + 0.01 * np.abs(kernel).sum()
    assert model.evaluate(x, y, batch_size=64, verbose=0) == pytest.approx(expected, rel=1e-5)
    assert dense.losses == [pytest.approx(0.01 * np.abs(kernel).sum(), rel=1e-6)]
    model.fit(x, y, batch_size=64, epochs=1, verbose=0)
    assert np.all(dense.kernel.numpy() >= 0)


def test_add_loss_on_a_functional_model(rng):
    x, y = regression_data(rng, n=16)
    inp = engine.Input((8,))
    hidden = L.Dense(4, activation="tanh")(inp)
    model = engine.Model(inp, L.Dense(1)(hidden))
    model.add_loss(0.1 * ops.mean(ops.square(hidden)))
    model.compile(loss="mse", optimizer=engine.optimizers.SGD(learning_rate=0.0))
    dense1, dense2 = model.layers[1], model.layers[2]
    h = np.tanh(x.astype(np.float64) @ dense1.kernel.numpy() + dense1.bias.numpy())
    pred = h @ dense2.kernel.numpy() + dense2.bias.numpy()
    expected = np.mean((pred - y) ** 2) + 0.1 * np.mean(h ** 2)
    assert model.evaluate(x, y, batch_size=16, verbose=0) == pytest.approx(expected, rel=1e-5)
    with pytest.raises(ValueError, match="depends on input 'other', which is not among the inputs"):
        model.add_loss(ops.mean(engine.Input((3,), name="other")))


def test_data_movement_ops_match_numpy_on_arrays_and_in_a_model(rng):
    x = rng.standard_normal((4, 6)).astype(np.float32)
    ids = np.array([[5, 0], [2, 2]], np.int64)
    cases = [
        (lambda t: ops.take(t, ids, axis=1), lambda a: np.take(a, ids, axis=1)),
        (lambda t: ops.tile(t, (1, 2)), lambda a: np.tile(a, (1, 2))),
        (lambda t: ops.split(t, [1, 4], axis=1)[1], lambda a: np.split(a, [1, 4], axis=1)[1]),
        (lambda t: t[:, ::-2], lambda a: a[:, ::-2]),
        (lambda t: t[..., 1:5:2, None], lambda a: a[..., 1:5:2, None]),
        (lambda t: ops.broadcast_to(ops.expand_dims(t, 1), (4, 3, 6)),
         lambda a: np.broadcast_to(a[:, None], (4, 3, 6))),
        (lambda t: ops.cumsum(t, axis=1), lambda a: np.cumsum(a, axis=1)),
        (lambda t: ops.cumsum(t), lambda a: np.cumsum(a)),
        (lambda t: ops.take_along_axis(t, np.array([[5, 0, 0], [1, 2, 3], [0, 0, 0], [4, 4, 5]]), axis=1),
         lambda a: np.take_along_axis(a, np.array([[5, 0, 0], [1, 2, 3], [0, 0, 0], [4, 4, 5]]), axis=1)),
        (lambda t: ops.take_along_axis(ops.tile(ops.expand_dims(t, 2), (1, 1, 2)), np.array([[[2], [0], [5]]] * 4),
                                       axis=1),  # the indices broadcast along the last axis
         lambda a: np.take_along_axis(np.tile(a[:, :, None], (1, 1, 2)), np.array([[[2], [0], [5]]] * 4), axis=1)),
    ]
    inp = engine.Input((6,))
    for fn, ref in cases:
        expected = ref(x)
        assert np.array_equal(fn(x), expected)
        model = engine.Model(inp, fn(inp))
        assert np.array_equal(model.predict(x), expected)


def test_bool_and_int64_outputs_keep_their_dtypes_in_onnx(rng, tmp_path):
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is a test extra")
    x = rng.standard_normal((5, 3)).astype(np.float32)
    inp = engine.Input((3,))
    model = engine.Model(inp, [inp > 0.0, ops.cast(inp * 10.0, "int64"), ops.exp(inp)])
    got = model.predict(x)
    assert [g.dtype for g in got] == [np.bool_, np.int64, np.float32]
    path = tmp_path / "typed.onnx"
    model.export_onnx(path)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for mine, theirs in zip(got, session.run(None, {session.get_inputs()[0].name: x})):
        assert mine.dtype == theirs.dtype
        assert np.array_equal(mine, theirs) if mine.dtype != np.float32 else np.allclose(mine, theirs, rtol=1e-6)


def test_mc_dropout_exports_its_forced_dropout_to_onnx(rng, tmp_path):
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is a test extra")
    x = np.ones((200, 16), np.float32)
    model = engine.Sequential([engine.Input((16,)), MCDropout(0.5)])
    path = tmp_path / "mc.onnx"
    model.export_onnx(path)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    first, second = (session.run(None, {session.get_inputs()[0].name: x})[0] for _ in range(2))
    # onnxruntime draws its own masks: half the units kept, scaled by 2, and fresh per run.
    assert set(np.unique(first)) <= {0.0, 2.0} and 0.4 < (first > 0).mean() < 0.6
    assert not np.array_equal(first, second)
    assert engine.onnx.load(path).predict(x).shape == x.shape


def test_pad_and_zero_padding_2d(rng, tmp_path):
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is a test extra")
    x = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    for mode in ("constant", "reflect", "edge"):
        widths = ((0, 0), (1, 0), (2, 1), (0, 2))
        expected = np.pad(x, widths, mode=mode, **({"constant_values": 1.5} if mode == "constant" else {}))
        got = ops.pad(x, widths, mode=mode, constant_values=1.5 if mode == "constant" else None)
        assert np.array_equal(got, expected), mode
    inp = engine.Input((3, 4, 5))
    padded = L.ZeroPadding2D(((1, 0), (2, 3)))(inp)
    assert padded.shape == (None, 3, 5, 10)
    assert np.array_equal(engine.Model(inp, padded).predict(x), np.pad(x, ((0, 0), (0, 0), (1, 0), (2, 3))))
    model = engine.Model(inp, L.Conv2D(2, 3)(padded))
    path = tmp_path / "zero_padding.onnx"
    model.export_onnx(path)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert_close(session.run(None, {session.get_inputs()[0].name: x})[0], model.predict(x), 1e-5)


def test_a_subclassed_model_builds_from_the_first_batch_of_a_dataset(rng):
    x, y = regression_data(rng)
    model = ResidualRegressor(1)
    model.compile(loss="mse", optimizer="nadam")
    history = model.fit(engine.data.Dataset.from_tensor_slices((x, y)).batch(16), epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2 and np.all(np.isfinite(history.history["loss"]))
    with pytest.raises(ValueError, match="call model.build"):
        ResidualRegressor(1).fit(((x[:8], y[:8]) for _ in range(2)), verbose=0)


def test_bool_inputs(rng):
    mask = rng.random((4, 3)) > 0.5
    x = rng.standard_normal((4, 3)).astype(np.float32)
    condition, values = engine.Input((3,), dtype="bool"), engine.Input((3,))
    model = engine.Model([condition, values], ops.where(condition, values, -values))
    assert np.array_equal(model.predict([mask, x]), np.where(mask, x, -x))
    with pytest.raises(TypeError, match="must be bool, got float32"):
        model.predict([x, x])
