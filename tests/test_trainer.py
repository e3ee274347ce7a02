"""compile / fit / evaluate, checkpoints and custom loops, end to end on small models."""
import os

import numpy as np
import pytest

import engine
from engine import layers as L


def digits_cnn():
    return engine.Sequential([
        engine.Input((1, 8, 8)),
        L.Conv2D(16, 3, padding="same", activation="relu"),
        L.MaxPool2D(2),
        L.Conv2D(32, 3, padding="same", activation="relu"),
        L.Flatten(),
        L.Dense(64, activation="relu"),
        L.Dense(10, activation="softmax"),
    ])


def small_mlp(dropout=0.0):
    layers = [engine.Input((6,)), L.Dense(16, activation="relu")]
    if dropout:
        layers.append(L.Dropout(dropout, seed=7))
    layers += [L.BatchNormalization(), L.Dense(3, activation="softmax")]
    return engine.Sequential(layers)


def toy_data(rng, n=96):
    x = rng.standard_normal((n, 6)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0.5).astype(np.int64)
    return x, y


def test_cnn_learns_digits():
    engine.set_seed(0)
    (xtr, ytr), (xte, yte) = engine.datasets.load_digits()
    model = digits_cnn()
    model.compile(optimizer=engine.optimizers.Adam(learning_rate=0.003),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(xtr, ytr, epochs=6, batch_size=32, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    loss, accuracy = model.evaluate(xte, yte, verbose=0)
    assert accuracy >= 0.95, f"test accuracy {accuracy:.3f}"
    predicted = model.predict(xte).argmax(1)
    assert np.mean(predicted == yte) == pytest.approx(accuracy, abs=1e-9)


def test_one_sgd_step_matches_the_gradient(rng):
    engine.set_seed(1)
    model = engine.Sequential([engine.Input((6,)), L.Dense(4, activation="tanh"), L.Dense(3)])
    model.compile(optimizer=engine.optimizers.SGD(learning_rate=0.1), loss="mse")
    x = rng.standard_normal((8, 6)).astype(np.float32)
    y = rng.standard_normal((8, 3)).astype(np.float32)
    before = [w.numpy() for w in model.trainable_weights]
    loss, grads = model.value_and_grad(x, y)
    expected_loss = np.mean((model.predict(x).astype(np.float64) - y) ** 2)
    assert loss == pytest.approx(expected_loss, rel=1e-5)
    model.train_on_batch(x, y)
    for w, b, g in zip(model.trainable_weights, before, grads):
        np.testing.assert_allclose(w.value, b - 0.1 * g, rtol=1e-5, atol=1e-6)


def test_predict_on_batch_is_the_forward_pass_in_float64(rng):
    engine.set_seed(3)
    model = engine.Sequential([engine.Input((6,)), L.Dense(5, activation="tanh"), L.Dense(3)])
    x = rng.standard_normal((7, 6)).astype(np.float32)
    (k1, b1), (k2, b2) = [[w.numpy().astype(np.float64) for w in layer.weights] for layer in model.layers]
    want = np.tanh(x.astype(np.float64) @ k1 + b1) @ k2 + b2
    got = model.predict_on_batch(x)
    assert got.shape == (7, 3) and got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="expects 1 input"):
        model.predict_on_batch([x, x])


def test_predict_gives_the_same_answers_however_the_batch_comes(rng):
    """One ready batch (C-contiguous arrays of the inputs' dtypes) goes straight to the
    executor; anything else (other dtypes, Fortran order, a dict, smaller batches) through
    the general path. Both agree, and bad batches fail the same way."""
    ids, feats = engine.Input((3,), dtype="int64"), engine.Input((4,))
    joined = L.Concatenate()([L.Flatten()(L.Embedding(9, 2)(ids)), feats])
    model = engine.Model([ids, feats], L.Dense(2)(joined))
    tokens = rng.integers(0, 9, (5, 3))
    x = rng.standard_normal((5, 4)).astype(np.float32)
    want = model.predict([tokens, x], batch_size=1)  # one sample at a time: the general path
    for given in ([tokens, x], (tokens, x), [tokens.astype(np.int32), x.astype(np.float64)],
                  [np.asfortranarray(tokens), np.asfortranarray(x)],
                  {ids._layer.name: tokens, feats._layer.name: x}):
        np.testing.assert_array_equal(model.predict(given, batch_size=8), want)
    with pytest.raises(ValueError, match="different numbers of samples"):
        model.predict([tokens, x[:4]])
    with pytest.raises(ValueError, match="expects 2 input"):
        model.predict([tokens])


def test_custom_training_loop_with_apply_gradients(rng):
    engine.set_seed(2)
    model = small_mlp()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    optimizer = engine.optimizers.Adam(learning_rate=0.01)
    x, y = toy_data(rng)
    first = None
    for step in range(40):
        loss, grads = model.value_and_grad(x, y)
        first = loss if first is None else first
        optimizer.apply_gradients(zip(grads, model.trainable_weights))
    assert loss < 0.7 * first


def test_sample_and_class_weights(rng):
    engine.set_seed(3)
    model = small_mlp()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    x, y = toy_data(rng, 20)
    probs = model.predict(x).astype(np.float64)
    per_sample = -np.log(probs[np.arange(20), y])
    w = rng.random(20).astype(np.float32)
    assert model.evaluate(x, y, sample_weight=w, verbose=0) == pytest.approx(np.sum(w * per_sample) / 20, rel=1e-5)
    # class_weight scales each sample's loss, hence its gradient, by its class's weight:
    # one SGD step with class_weight equals one with the matching sample weights.
    initial = model.get_weights()
    twins = []
    for _ in range(2):
        twin = engine.clone_model(model)
        twin.set_weights(initial)
        twin.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
        twins.append(twin)
    model.train_on_batch(x, y, class_weight={1: 3.0, 2: 0.5})
    twins[0].train_on_batch(x, y, sample_weight=np.select([y == 1, y == 2], [3.0, 0.5], 1.0).astype(np.float32))
    twins[1].train_on_batch(x, y)
    for a, b in zip(model.get_weights(), twins[0].get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert not all(np.allclose(a, b) for a, b in zip(model.get_weights(), twins[1].get_weights()))


def test_multi_output_loss_weights(rng):
    engine.set_seed(4)
    a = engine.Input((5,), name="a")
    h = L.Dense(8, activation="relu")(a)
    main = L.Dense(1, name="main")(h)
    aux = L.Dense(1, name="aux")(h)
    model = engine.Model(a, [main, aux])
    model.compile(optimizer="sgd", loss=["mse", "mae"], loss_weights=[0.9, 0.1])
    x = rng.standard_normal((10, 5)).astype(np.float32)
    y1 = rng.standard_normal((10, 1)).astype(np.float32)
    y2 = rng.standard_normal((10, 1)).astype(np.float32)
    p1, p2 = model.predict(x)
    main_loss, aux_loss = np.mean((p1 - y1) ** 2), np.mean(np.abs(p2 - y2))
    expected = [0.9 * main_loss + 0.1 * aux_loss, main_loss, aux_loss]  # Keras's order
    assert model.evaluate(x, [y1, y2], verbose=0) == pytest.approx(expected, rel=1e-5)
    assert model.evaluate(x, {"main": y1, "aux": y2}, verbose=0) == pytest.approx(expected, rel=1e-5)


def test_fit_from_a_generator(rng):
    engine.set_seed(5)
    model = small_mlp()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = toy_data(rng, 64)

    def batches():
        for i in range(0, 64, 16):
            yield x[i:i + 16], y[i:i + 16]

    history = model.fit(batches(), epochs=1, steps_per_epoch=4, verbose=0)
    assert len(history.history["loss"]) == 1 and "accuracy" in history.history


def fit_run(tmp_path, rng_seed, split_at=None):
    """Trains 3 epochs; with split_at, saves after that epoch and resumes from the file."""
    engine.set_seed(rng_seed)
    x, y = toy_data(np.random.default_rng(0), 96)
    model = small_mlp(dropout=0.2)
    model.compile(optimizer=engine.optimizers.Adam(learning_rate=0.01), loss="sparse_categorical_crossentropy")
    if split_at is None:
        return model.fit(x, y, epochs=3, batch_size=16, verbose=0).history["loss"]
    first = model.fit(x, y, epochs=split_at, batch_size=16, verbose=0).history["loss"]
    path = tmp_path / "ckpt.engine"
    model.save(path)
    del model
    restored = engine.load_model(path)
    rest = restored.fit(x, y, epochs=3, initial_epoch=split_at, batch_size=16, verbose=0).history["loss"]
    return first + rest


def test_save_load_continue_equals_uninterrupted_run(tmp_path):
    straight = fit_run(tmp_path, 11)
    resumed = fit_run(tmp_path, 11, split_at=1)
    np.testing.assert_allclose(resumed, straight, rtol=1e-6)


def test_interrupted_save_keeps_the_previous_checkpoint(tmp_path, rng, monkeypatch):
    model = small_mlp()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    path = tmp_path / "model.engine"
    model.save(path)
    original = path.read_bytes()
    model.layers[0].set_weights([w + 1 for w in model.layers[0].get_weights()])

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("simulated crash mid-save")

    monkeypatch.setattr(np.lib.format, "write_array", crash)
    with pytest.raises(KeyboardInterrupt):
        model.save(path)
    assert path.read_bytes() == original
    assert [p.name for p in tmp_path.iterdir()] == ["model.engine"]
    monkeypatch.undo()
    restored = engine.load_model(path)
    assert not np.allclose(restored.layers[0].get_weights()[0], model.layers[0].get_weights()[0])


def test_corrupt_and_foreign_checkpoints_raise_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        engine.load_model(tmp_path / "missing.engine")
    junk = tmp_path / "junk.engine"
    junk.write_bytes(os.urandom(300))
    with pytest.raises(ValueError, match="not a readable engine checkpoint"):
        engine.load_model(junk)
    model = small_mlp()
    good = tmp_path / "good.engine"
    model.save(good)
    truncated = tmp_path / "truncated.engine"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ValueError, match="not a readable engine checkpoint"):
        engine.load_model(truncated)
    np.savez(tmp_path / "foreign.npz", a=np.ones(3))
    with pytest.raises(ValueError, match="not a readable engine checkpoint"):
        engine.load_model(tmp_path / "foreign.npz")


def test_nan_loss_stops_with_a_clear_error_and_keeps_weights(rng):
    model = small_mlp()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    x, y = toy_data(rng, 32)
    x[5, 2] = np.nan
    before = model.get_weights()
    with pytest.raises(FloatingPointError, match="loss became nan at epoch 1, batch 1"):
        model.fit(x, y, epochs=1, batch_size=32, shuffle=False, verbose=0)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    history = model.fit(x, y, epochs=3, batch_size=32, verbose=0, callbacks=[engine.callbacks.TerminateOnNaN()])
    assert len(history.history.get("loss", [])) <= 1


def test_early_stopping_restores_best_weights(rng):
    engine.set_seed(6)
    model = small_mlp()
    model.compile(optimizer=engine.optimizers.SGD(learning_rate=0.05), loss="sparse_categorical_crossentropy")
    x, y = toy_data(rng, 64)
    xv, yv = toy_data(rng, 32)
    yv = (yv + 1) % 3  # validation labels the model cannot fit: val_loss rises
    best = {}

    class Track(engine.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if not best or logs["val_loss"] < best["loss"]:
                best.update(loss=logs["val_loss"], weights=self.model.get_weights())

    stop = engine.callbacks.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    history = model.fit(x, y, epochs=30, validation_data=(xv, yv), verbose=0, callbacks=[Track(), stop])
    assert len(history.history["loss"]) < 30
    for a, b in zip(best["weights"], model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_errors_before_and_during_training(rng):
    model = small_mlp()
    x, y = toy_data(rng, 8)
    with pytest.raises(RuntimeError, match="compile"):
        model.fit(x, y, verbose=0)
    with pytest.raises(ValueError, match="unknown loss"):
        model.compile(optimizer="sgd", loss="hinge-ish")
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    with pytest.raises(TypeError, match="integer class labels"):
        model.fit(x, y.astype(np.float32) + 0.5, verbose=0)
    with pytest.raises(ValueError, match="targets for 8 samples"):
        model.fit(x, y[:5], verbose=0)


@pytest.mark.parametrize("reg", [engine.regularizers.L2(0.03), engine.regularizers.L1(0.02),
                                 engine.regularizers.L1L2(l1=0.01, l2=0.02)], ids=["l2", "l1", "l1_l2"])
def test_kernel_regularizers_add_to_loss_and_gradient(reg, rng):
    def build(regularizer):
        engine.set_seed(8)
        m = engine.Sequential([engine.Input((6,)), L.Dense(5, activation="tanh", kernel_regularizer=regularizer),
                               L.Dense(3)])
        m.compile(optimizer="sgd", loss="mse")
        return m

    plain, regularized = build(None), build(reg)
    x = rng.standard_normal((8, 6)).astype(np.float32)
    y = rng.standard_normal((8, 3)).astype(np.float32)
    kernel = regularized.layers[0].kernel.value.astype(np.float64)
    loss0, g0 = plain.value_and_grad(x, y)
    loss1, g1 = regularized.value_and_grad(x, y)
    assert loss1 == pytest.approx(loss0 + reg(kernel), rel=1e-5)
    expected = g0[0] + 2 * reg.l2 * kernel + reg.l1 * np.sign(kernel)
    np.testing.assert_allclose(g1[0], expected, rtol=1e-4, atol=1e-6)
    for a, b in zip(g0[1:], g1[1:]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_max_norm_constraint_holds_after_every_update(rng):
    engine.set_seed(9)
    model = engine.Sequential([engine.Input((6,)),
                               L.Dense(8, activation="relu", kernel_constraint=engine.constraints.MaxNorm(0.5)),
                               L.Dense(3, activation="softmax")])
    model.compile(optimizer=engine.optimizers.SGD(learning_rate=0.5), loss="sparse_categorical_crossentropy")
    x, y = toy_data(rng, 64)
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    norms = np.sqrt(np.sum(model.layers[0].kernel.value.astype(np.float64) ** 2, axis=0))
    assert np.all(norms <= 0.5 + 1e-5)
    assert np.any(norms > 0.45)  # the constraint was active, not the weights merely small


def test_training_steps_allocate_nothing_after_the_first(rng):
    """Every buffer of a step is planned or reused: the core allocates nothing per step
    (forward, loss, backward and update), and a forward pass only its returned outputs."""
    from engine import _core

    engine.set_seed(10)
    model = engine.Sequential([
        engine.Input((3, 12, 12)), L.Conv2D(8, 3, padding="same", activation="relu"), L.BatchNormalization(),
        L.MaxPool2D(2), L.Conv2D(8, 3, groups=8, padding="same"), L.Dropout(0.2), L.Flatten(),
        L.Dense(16, activation="relu"), L.Dense(4, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x = rng.random((16, 3, 12, 12)).astype(np.float32)
    y = rng.integers(0, 4, 16)
    weights = np.full(16, 1 / 16, np.float32)
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    executor = model._train_executor
    threads_before = engine.get_num_threads()
    try:
        for threads in (1, 2):
            engine.set_num_threads(threads)
            executor.train_step([x, weights, y], model._train_loss)  # warms per-thread scratch
            before = _core.memory_stats()["allocations"]
            for _ in range(3):
                executor.train_step([x, weights, y], model._train_loss)
            assert _core.memory_stats()["allocations"] == before
            model(x)
            before = _core.memory_stats()["allocations"]
            model(x)
            assert _core.memory_stats()["allocations"] == before + 1  # the returned output
    finally:
        engine.set_num_threads(threads_before)
