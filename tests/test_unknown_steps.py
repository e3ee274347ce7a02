"""Sequences whose length is known only at run time (Input((None, features)), as the book's
RNN chapters build them): recurrent layers, masks, Bidirectional, TimeDistributed(Dense),
attention with a causal mask and the ops they build on, against float64 numpy references,
finite differences and onnxruntime, at several lengths through one model."""
import numpy as np
import pytest

import engine
from engine import layers as L
from engine import ops
from helpers import assert_close, numeric_grads
from test_attention import attention_ref, mha_ref
from test_recurrent import rnn_ref
from test_rnn_mask import LAYERS, jitter, masked_ref, padded

LENGTHS = (7, 3, 1)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_recurrent_layers_run_any_length(name, rng):
    layer = LAYERS[name]()
    model = engine.Sequential([engine.Input((None, 3)), layer])
    jitter(model, rng)
    for steps in LENGTHS:
        x = rng.standard_normal((4, steps, 3)).astype(np.float32)
        got = model.predict(x)
        want = masked_ref(layer, x, layer.get_weights(), np.ones((4, steps), bool))
        for k, (g, w) in enumerate(zip(got, want) if isinstance(want, list) else [(got, want)]):
            assert_close(g, w, 1e-5, what=f"{name} at {steps} steps, output {k}")


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_masked_sequences_of_any_length(name, rng):
    layer = LAYERS[name]()
    model = engine.Sequential([engine.Input((None, 3)), L.Masking(0.0), layer])
    jitter(model, rng)
    for steps, lengths, starts in ((7, [7, 3, 0, 1, 5], [0, 2, 4, 5, 1]), (4, [4, 2, 1, 0, 3], None)):
        x, mask = padded(rng, lengths, steps, 3, starts)
        got = model.predict(x)
        want = masked_ref(layer, x, layer.get_weights(), mask)
        for k, (g, w) in enumerate(zip(got, want) if isinstance(want, list) else [(got, want)]):
            assert_close(g, w, 1e-5, what=f"{name} at {steps} steps, output {k}")


def test_embedding_mask_zero_and_bidirectional_at_any_length(rng):
    inp = engine.Input((None,), dtype="int64")
    embedding = L.Embedding(12, 4, mask_zero=True)
    bidirectional = L.Bidirectional(L.GRU(3, return_sequences=True), merge_mode="sum")
    model = engine.Model(inp, bidirectional(embedding(inp)))
    jitter(model, rng)
    table = embedding.get_weights()[0]
    for steps in (6, 2):
        tokens = rng.integers(1, 12, (3, steps))
        tokens[1, steps // 2:] = 0
        mask = tokens != 0
        got = model.predict(tokens)
        x = table[tokens]
        forward = masked_ref(bidirectional.forward_layer, x, bidirectional.forward_layer.get_weights(), mask)
        backward = masked_ref(bidirectional.backward_layer, x, bidirectional.backward_layer.get_weights(), mask)
        assert_close(got, forward + backward[:, ::-1], 1e-5, what=f"{steps} steps")


@pytest.mark.parametrize("name", ["lstm", "gru_reset_before", "simple_rnn_sequences"])
def test_gradients_at_a_run_time_length_match_finite_differences(name, rng):
    layer = LAYERS[name]()
    model = engine.Sequential([engine.Input((None, 2)), layer])
    model.compile(loss="mse", optimizer="sgd")
    for steps in (4, 2):
        x = rng.standard_normal((2, steps, 2)).astype(np.float32)
        weights = [w.astype(np.float64) for w in model.get_weights()]
        y = rng.standard_normal(rnn_ref(layer, x, weights).shape).astype(np.float32)
        _, grads = model.value_and_grad(x, y)
        numeric = numeric_grads(lambda *ws: np.mean((rnn_ref(layer, x, list(ws)) - y) ** 2), weights, 1.0)
        for k, (got, want) in enumerate(zip(grads, numeric)):
            assert_close(got, want, 1e-4, what=f"{name} at {steps} steps, weight {k}")


def test_fit_on_run_time_lengths_matches_a_fixed_length_model(rng):
    """The book's forecaster, Input((None, 1)), trains as the same model with the length fixed."""
    x = rng.standard_normal((32, 10, 1)).astype(np.float32)
    y = x[:, -3:, 0].sum(axis=1, keepdims=True)

    def forecaster(steps):
        engine.utils.set_random_seed(3)
        model = engine.Sequential([engine.Input((steps, 1)), L.SimpleRNN(8, return_sequences=True), L.GRU(4),
                                   L.Dense(1)])
        model.compile(loss="mse", optimizer=engine.optimizers.Adam(1e-2))
        return model

    free, fixed = forecaster(None), forecaster(10)
    fixed.set_weights(free.get_weights())
    a = free.fit(x, y, epochs=3, batch_size=8, shuffle=False, verbose=0).history["loss"]
    b = fixed.fit(x, y, epochs=3, batch_size=8, shuffle=False, verbose=0).history["loss"]
    assert_close(np.array(a), np.array(b), 1e-5, what="losses")
    for k, (w1, w2) in enumerate(zip(free.get_weights(), fixed.get_weights())):
        assert_close(w1, w2, 1e-5, what=f"weight {k}")
    assert free.predict(x[:, :4]).shape == (32, 1)


def test_time_distributed_dense_at_any_length(rng):
    model = engine.Sequential([engine.Input((None, 2)), L.SimpleRNN(5, return_sequences=True),
                               L.TimeDistributed(L.Dense(3, activation="relu"))])
    jitter(model, rng)
    rnn, dense = model.layers[0], model.layers[1].layer
    for steps in (5, 2):
        x = rng.standard_normal((3, steps, 2)).astype(np.float32)
        kernel, bias = (w.astype(np.float64) for w in dense.get_weights())
        want = np.maximum(rnn_ref(rnn, x, rnn.get_weights()) @ kernel + bias, 0.0)
        assert_close(model.predict(x), want, 1e-5, what=f"{steps} steps")


def test_what_needs_a_known_length_says_so(rng):
    x = rng.standard_normal((4, 5, 2)).astype(np.float32)
    with pytest.raises(ValueError, match="number of steps must be known"):
        engine.Sequential([engine.Input((None, 2)), L.SimpleRNN(3, activation="softsign")])
    with pytest.raises(ValueError, match="recurrent_dropout while training"):
        engine.Sequential([engine.Input((None, 2)), L.GRU(3, recurrent_dropout=0.2)])
    assert engine.Sequential([engine.Input((5, 2)), L.GRU(3, recurrent_dropout=0.2)]).predict(x).shape == (4, 3)
    with pytest.raises(ValueError, match="needs known steps"):
        engine.Sequential([engine.Input((None, 2, 3)), L.TimeDistributed(L.Flatten())])


@pytest.mark.parametrize("causal", [False, True])
def test_self_attention_at_any_length(causal, rng):
    inp = engine.Input((None, 6))
    layer = L.MultiHeadAttention(num_heads=2, key_dim=3)
    model = engine.Model(inp, layer(inp, inp, use_causal_mask=causal))
    for var in layer.weights:
        var.assign(rng.standard_normal(var.shape).astype(np.float32) * 0.5)
    for steps in (5, 2):
        x = rng.standard_normal((2, steps, 6)).astype(np.float32)
        assert_close(model.predict(x), mha_ref(layer, x, x, x, causal)[0], 1e-5, what=f"{steps} steps")


@pytest.mark.parametrize("cls", [L.Attention, L.AdditiveAttention])
def test_causal_dot_and_additive_attention_at_any_length(cls, rng):
    inp = engine.Input((None, 3))
    layer = cls()
    model = engine.Model(inp, layer([inp, inp], use_causal_mask=True))
    for var in layer.weights:
        var.assign((rng.standard_normal(var.shape) * 0.7 + 1.0).astype(np.float32))
    for steps in (4, 6):
        x = rng.standard_normal((2, steps, 3)).astype(np.float32)
        assert_close(model.predict(x), attention_ref(layer, x, x, causal=True)[0], 1e-5, what=f"{steps} steps")


def test_a_model_of_any_length_exports_to_onnx_and_reloads(rng, tmp_path):
    onnx = pytest.importorskip("onnx", reason="onnx is a test extra")
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is a test extra")
    inp = engine.Input((None,), dtype="int64")
    h = L.Embedding(20, 8, mask_zero=True)(inp)
    h = L.LSTM(6, return_sequences=True)(h)
    h = L.LayerNormalization()(L.Add()([h, L.MultiHeadAttention(2, 3, output_shape=6)(h, h, use_causal_mask=True)]))
    model = engine.Model(inp, L.Dense(2)(L.GRU(4)(h)))
    jitter(model, rng)
    path = tmp_path / "model.onnx"
    model.export_onnx(path)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    loaded = engine.onnx.load(str(path))
    model.save(tmp_path / "model.keras")
    restored = engine.models.load_model(tmp_path / "model.keras")
    for steps in (9, 4):
        tokens = rng.integers(1, 20, (3, steps)).astype(np.int64)
        tokens[0, steps - 2:] = 0
        want = model.predict(tokens)
        assert_close(session.run(None, {session.get_inputs()[0].name: tokens})[0], want, 1e-5,
                     what=f"onnxruntime at {steps} steps")
        assert_close(loaded.predict(tokens), want, 1e-5, what=f"imported at {steps} steps")
        assert_close(restored.predict(tokens), want, 1e-6, what=f"reloaded at {steps} steps")


def test_reshape_keeps_run_time_sizes_and_tril_triu_follow_numpy(rng):
    x = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    for k in (-2, 0, 1):
        assert_close(ops.tril(x, k), np.tril(x, k), 1e-7)
        assert_close(ops.triu(x, k), np.triu(x, k), 1e-7)
    inp = engine.Input((None, 6))
    split = ops.reshape(inp, (-1, ops.shape(inp)[1], 2, 3))
    assert split.shape == (None, None, 2, 3)
    model = engine.Model(inp, ops.reshape(ops.transpose(split, (0, 1, 3, 2)), (-1, None, 6)))
    for steps in (4, 1):
        y = rng.standard_normal((2, steps, 6)).astype(np.float32)
        assert_close(model.predict(y), y.reshape(2, steps, 2, 3).transpose(0, 1, 3, 2).reshape(2, steps, 6), 1e-7)
    with pytest.raises(ValueError, match="keeps the input's size"):
        ops.reshape(inp, (-1, 2, 3, None))


def test_a_sequential_model_without_input_builds_on_data_and_follows_new_lengths(rng):
    """The book's sentiment model: no Input, compiled before it is built; the first data
    builds it (int64 tokens), and other lengths later run on the same weights."""
    embedding, gru, dense = L.Embedding(30, 4, mask_zero=True), L.GRU(3), L.Dense(1, activation="sigmoid")
    model = engine.Sequential([embedding, gru, dense])
    model.compile(loss="binary_crossentropy", optimizer="nadam", metrics=["accuracy"])
    tokens = rng.integers(1, 30, (16, 8))
    tokens[::2, 5:] = 0
    labels = (tokens[:, 0] > 15).astype(np.float32)
    model.fit(tokens, labels, epochs=1, verbose=0)
    assert model.inputs[0].dtype == "int64"

    def ref(t):
        h = masked_ref(gru, embedding.get_weights()[0][t], gru.get_weights(), t != 0)
        kernel, bias = dense.get_weights()
        return 1 / (1 + np.exp(-(h @ kernel + bias)))

    for steps in (8, 3, 11):
        t = rng.integers(0, 30, (4, steps))
        assert_close(model.predict(t), ref(t), 1e-5, what=f"{steps} steps")
    history = model.fit(tokens[:, :6], labels, epochs=1, verbose=0).history
    assert np.isfinite(history["loss"][0])
    lines = []
    model.summary(print_fn=lines.append)
    assert "(None, None, 4)" in "\n".join(lines) and "Operation" not in "\n".join(lines)
