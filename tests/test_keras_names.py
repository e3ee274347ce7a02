"""Keras 3 behaviour the book's programs rely on: fresh dropout masks on every training-mode
call (MC Dropout), Keras's variable lists and `losses`, and layer aliases."""
import numpy as np
import pytest

import engine
from engine import layers as L
from helpers import assert_close


def mc_model():
    engine.set_seed(5)
    return engine.Sequential([
        engine.Input((8,)),
        L.Dense(16, activation="relu", kernel_regularizer=engine.regularizers.L2(0.01)),
        L.Dropout(0.5),
        L.Dense(3, activation="softmax", bias_regularizer=engine.regularizers.L1(0.02)),
    ])


def test_training_mode_calls_draw_fresh_dropout_masks_that_replay_from_the_seed(rng):
    x = rng.standard_normal((20, 8)).astype(np.float32)
    model = mc_model()
    samples = np.stack([model(x, training=True) for _ in range(30)])
    # MC Dropout: the averaged predictions have spread, and each call differs.
    assert samples.std(axis=0).mean() > 1e-3
    assert not np.array_equal(samples[0], samples[1])
    # The same seed gives the same sequence of masks.
    again = mc_model()
    for expected in samples[:5]:
        assert np.array_equal(again(x, training=True), expected)
    # Inference calls are deterministic and drop nothing: they equal the expectation of
    # the dropped units (inverted dropout), not any sample.
    assert np.array_equal(model(x), model(x))
    assert np.array_equal(model.predict(x), model(x))


def test_variable_lists_and_regularization_losses():
    model = mc_model()
    assert model.variables == model.weights
    assert model.trainable_variables == model.trainable_weights
    assert model.non_trainable_variables == model.non_trainable_weights == []
    dense1, _, dense2 = model.layers
    w1 = dense1.kernel.numpy().astype(np.float64)
    b2 = dense2.bias.numpy().astype(np.float64)
    expected = [0.01 * np.square(w1).sum(), 0.02 * np.abs(b2).sum()]
    assert np.allclose(model.losses, expected, rtol=1e-12)
    assert np.allclose(dense1.losses, expected[:1], rtol=1e-12)
    dense1.trainable = False
    assert dense1.trainable_variables == [] and len(dense1.non_trainable_variables) == 2
    assert len(model.trainable_variables) == 2


def test_global_avg_pool_2d_is_the_keras_alias(rng):
    x = rng.standard_normal((2, 3, 5, 7)).astype(np.float32)
    model = engine.Sequential([engine.Input((3, 5, 7)), L.GlobalAvgPool2D()])
    assert L.GlobalAvgPool2D is L.GlobalAveragePooling2D and L.Convolution2D is L.Conv2D
    assert_close(model.predict(x), x.astype(np.float64).mean(axis=(2, 3)), 1e-6)


def binary_model():
    engine.set_seed(2)
    model = engine.Sequential([engine.Input((4,)), L.Dense(1, activation="sigmoid")])
    return model


def binary_data(rng, n=64):
    x = rng.standard_normal((n, 4)).astype(np.float32)
    y = (x[:, 0] + 0.5 * rng.standard_normal(n) > 0).astype(np.float32)
    w = rng.uniform(0.1, 3.0, n).astype(np.float32)
    return x, y, w


def test_compiled_metrics_ignore_sample_weight_and_weighted_metrics_use_it(rng):
    x, y, w = binary_data(rng)
    model = binary_model()
    model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy"],
                  weighted_metrics=["accuracy"])
    logs = model.evaluate(x, y, sample_weight=w, return_dict=True, verbose=0)
    right = (model.predict(x)[:, 0] > 0.5) == (y > 0.5)
    assert logs["accuracy"] == pytest.approx(right.mean(), abs=1e-6)
    assert logs["weighted_accuracy"] == pytest.approx((right * w).sum() / w.sum(), abs=1e-6)
    history = model.fit(x, y, sample_weight=w, epochs=1, batch_size=64, verbose=0)
    assert set(history.history) == {"loss", "accuracy", "weighted_accuracy"}
    # Several weighted metrics for a single output, as a list (like `metrics`).
    model.compile(optimizer="sgd", loss="binary_crossentropy", weighted_metrics=["accuracy", "mae"])
    logs = model.evaluate(x, y, sample_weight=w, return_dict=True, verbose=0)
    assert logs["accuracy"] == pytest.approx((right * w).sum() / w.sum(), abs=1e-6)
    error = np.abs(model.predict(x)[:, 0].astype(np.float64) - y.reshape(-1))
    assert logs["mae"] == pytest.approx((error * w).sum() / w.sum(), rel=1e-5)


def test_metric_objects_start_afresh_in_evaluate(rng):
    x, y, _ = binary_data(rng)
    xe, ye, _ = binary_data(rng, 40)
    model = binary_model()
    model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=[engine.metrics.Precision()])
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    logs = model.evaluate(xe, ye, return_dict=True, verbose=0)
    predicted = model.predict(xe)[:, 0] > 0.5
    expected = (predicted & (ye > 0.5)).sum() / max(predicted.sum(), 1)
    assert logs["precision"] == pytest.approx(expected, abs=1e-6)


def test_history_has_learning_rate_only_from_the_callbacks_that_set_it(rng):
    x, y, _ = binary_data(rng)
    model = binary_model()
    model.compile(optimizer=engine.optimizers.SGD(0.1), loss="binary_crossentropy")
    assert "learning_rate" not in model.fit(x, y, epochs=2, verbose=0).history
    scheduler = engine.callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.5)
    history = model.fit(x, y, epochs=2, verbose=0, callbacks=[scheduler])
    assert history.history["learning_rate"] == pytest.approx([0.05, 0.025])


def test_two_output_model_reports_each_output_loss(rng):
    """The book's Wide & Deep with an auxiliary output: evaluate gives [loss, main_loss,
    aux_loss] (Keras's order) and History has each output's loss."""
    engine.set_seed(4)
    wide = engine.Input((5,), name="wide")
    deep = engine.Input((6,), name="deep")
    h = L.Dense(30, activation="relu")(deep)
    h = L.Dense(30, activation="relu")(h)
    concat = L.Concatenate()([wide, h])
    main = L.Dense(1, name="main")(concat)
    aux = L.Dense(1, name="aux")(h)
    model = engine.Model(inputs=[wide, deep], outputs=[main, aux])
    model.compile(optimizer="sgd", loss=["mse", "mse"], loss_weights=[0.9, 0.1])
    xw = rng.standard_normal((50, 5)).astype(np.float32)
    xd = rng.standard_normal((50, 6)).astype(np.float32)
    y = rng.standard_normal((50, 1)).astype(np.float32)
    total, main_loss, aux_loss = model.evaluate([xw, xd], [y, y], verbose=0)
    pm, pa = model.predict([xw, xd])
    assert main_loss == pytest.approx(np.mean((pm.astype(np.float64) - y) ** 2), rel=1e-5)
    assert aux_loss == pytest.approx(np.mean((pa.astype(np.float64) - y) ** 2), rel=1e-5)
    assert total == pytest.approx(0.9 * main_loss + 0.1 * aux_loss, rel=1e-5)
    history = model.fit([xw, xd], [y, y], epochs=2, batch_size=25, verbose=0)
    assert list(history.history) == ["loss", "main_loss", "aux_loss"]
    for a, b, c in zip(*(history.history[k] for k in ("loss", "main_loss", "aux_loss"))):
        assert a == pytest.approx(0.9 * b + 0.1 * c, rel=1e-5)


class HuberMetric(engine.metrics.Metric):
    """The book's custom streaming metric, written with numpy (chapter 12)."""

    def __init__(self, threshold=1.0, **kwargs):
        super().__init__(**kwargs)
        self.threshold = threshold
        self.total = self.add_weight("total", initializer="zeros")
        self.count = self.add_weight("count", initializer="zeros")

    def update_state(self, y_true, y_pred, sample_weight=None):
        error = np.asarray(y_true, np.float64) - np.asarray(y_pred, np.float64)
        small = np.abs(error) < self.threshold
        losses = np.where(small, 0.5 * error ** 2, self.threshold * np.abs(error) - 0.5 * self.threshold ** 2)
        self.total.assign_add(losses.sum())
        self.count.assign_add(error.size)

    def result(self):
        return self.total / self.count


def huber_mean(y, p, threshold=1.0):
    e = np.asarray(y, np.float64) - np.asarray(p, np.float64)
    return np.where(np.abs(e) < threshold, 0.5 * e ** 2, threshold * np.abs(e) - 0.5 * threshold ** 2).mean()


def test_a_keras_style_metric_subclass_streams_and_runs_in_fit(rng):
    metric = HuberMetric(2.0)
    assert metric.name == "huber_metric" and len(metric.variables) == 2
    y1, p1 = rng.standard_normal(10), rng.standard_normal(10) * 3
    y2, p2 = rng.standard_normal(7), rng.standard_normal(7) * 3
    assert float(metric(y1, p1)) == pytest.approx(huber_mean(y1, p1, 2.0))
    assert float(metric(y2, p2)) == pytest.approx(huber_mean(np.r_[y1, y2], np.r_[p1, p2], 2.0))
    metric.reset_state()
    assert float(metric.total) == 0.0 and float(metric.count) == 0.0

    engine.set_seed(1)
    model = engine.Sequential([engine.Input((3,)), L.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", metrics=[HuberMetric(1.0)])
    x = rng.standard_normal((30, 3)).astype(np.float32)
    y = (rng.standard_normal((30, 1)) * 2).astype(np.float32)
    logs = model.evaluate(x, y, return_dict=True, verbose=0, batch_size=7)
    assert logs["huber_metric"] == pytest.approx(huber_mean(y, model.predict(x)), rel=1e-6)


def test_built_in_metrics_are_callable_like_keras(rng):
    y = (rng.random(40) > 0.5).astype(np.float32)
    p = rng.random(40).astype(np.float32)
    precision = engine.metrics.Precision()
    predicted = p > 0.5
    assert precision(y, p) == pytest.approx((predicted & (y > 0.5)).sum() / predicted.sum())
    accuracy = engine.metrics.BinaryAccuracy()
    assert accuracy(y, p) == pytest.approx(np.mean(predicted == (y > 0.5)))


def autoencoder():
    engine.set_seed(6)
    encoder = engine.Sequential([engine.Input((8,)), L.Dense(4, activation="relu")], name="encoder")
    decoder = engine.Sequential([engine.Input((4,)), L.Dense(8)], name="decoder")
    return encoder, decoder, engine.Sequential([encoder, decoder], name="autoencoder")


def test_models_nest_as_layers_train_save_and_export(rng, tmp_path):
    """The book's stacked autoencoder: Sequential([encoder, decoder]) shares the two models'
    weights, trains, saves and loads, and exports to ONNX."""
    ort = pytest.importorskip("onnxruntime")
    encoder, decoder, ae = autoencoder()
    x = rng.standard_normal((40, 8)).astype(np.float32)
    ae.compile(optimizer=engine.optimizers.SGD(0.05), loss="mse")
    before = encoder.get_weights()[0].copy()
    ae.fit(x, x, epochs=3, batch_size=10, verbose=0)
    assert not np.array_equal(encoder.get_weights()[0], before)  # trained through the stack
    assert_close(ae.predict(x), decoder.predict(encoder.predict(x)), 1e-6)
    path = str(tmp_path / "ae.engine")
    ae.save(path)
    restored = engine.load_model(path)
    assert [layer.name for layer in restored.layers] == ["encoder", "decoder"]
    assert np.array_equal(restored.predict(x), ae.predict(x))
    onnx_path = str(tmp_path / "ae.onnx")
    engine.onnx.export(ae, onnx_path)
    session = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    assert_close(session.run(None, {session.get_inputs()[0].name: x})[0], ae.predict(x), 1e-6)


def test_a_model_is_a_layer_of_a_functional_model_and_layers_can_be_shared(rng):
    encoder, _, _ = autoencoder()
    a = engine.Input((8,), name="a")
    b = engine.Input((8,), name="b")
    shared = L.Dense(3, name="shared")
    merged = L.Add()([shared(encoder(a)), shared(encoder(b))])  # tied weights, two calls
    model = engine.Model([a, b], merged)
    xa = rng.standard_normal((6, 8)).astype(np.float32)
    xb = rng.standard_normal((6, 8)).astype(np.float32)
    w, bias = (v.astype(np.float64) for v in shared.get_weights())
    ea, eb = encoder.predict(xa).astype(np.float64), encoder.predict(xb).astype(np.float64)
    assert_close(model.predict([xa, xb]), ea @ w + bias + eb @ w + bias, 1e-5)
    assert len(model.trainable_weights) == 4  # the encoder's two and the shared layer's two
