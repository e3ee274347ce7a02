"""SimpleRNN, LSTM, GRU (both reset_after forms) and Bidirectional against float64 numpy
references written from Keras's equations: outputs, gradients through time (finite
differences), ONNX export against onnxruntime, save/load, and a short training run."""
import numpy as np
import pytest

import engine
from engine import layers as L
from helpers import assert_close, numeric_grads


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def rnn_ref(layer, x, weights):
    """Outputs of `layer` (its configuration) for x [batch, steps, features] in float64."""
    w = [np.asarray(a, np.float64) for a in weights]
    kernel, recurrent = w[0], w[1]
    bias = w[2] if layer.use_bias else np.zeros((2, kernel.shape[1]) if getattr(layer, "reset_after", False)
                                                else kernel.shape[1])
    u = layer.units
    h = np.zeros((x.shape[0], u))
    c = np.zeros_like(h)
    outputs = []
    steps = range(x.shape[1])[::-1] if layer.go_backwards else range(x.shape[1])
    for t in steps:
        xt = x[:, t].astype(np.float64)
        if isinstance(layer, L.LSTM):
            z = xt @ kernel + h @ recurrent + bias
            i, f, g, o = (z[:, k * u:(k + 1) * u] for k in range(4))
            c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
            h = sigmoid(o) * np.tanh(c)
        elif isinstance(layer, L.GRU):
            if layer.reset_after:
                xz = xt @ kernel + bias[0]
                hz = h @ recurrent + bias[1]
                z = sigmoid(xz[:, :u] + hz[:, :u])
                r = sigmoid(xz[:, u:2 * u] + hz[:, u:2 * u])
                cand = np.tanh(xz[:, 2 * u:] + r * hz[:, 2 * u:])
            else:
                xz = xt @ kernel + bias
                z = sigmoid(xz[:, :u] + h @ recurrent[:, :u])
                r = sigmoid(xz[:, u:2 * u] + h @ recurrent[:, u:2 * u])
                cand = np.tanh(xz[:, 2 * u:] + (r * h) @ recurrent[:, 2 * u:])
            h = z * h + (1 - z) * cand
        else:
            h = np.tanh(xt @ kernel + h @ recurrent + bias)
        outputs.append(h)
    return np.stack(outputs, axis=1) if layer.return_sequences else outputs[-1]


LAYERS = {
    "simple_rnn": lambda: L.SimpleRNN(4, return_sequences=True),
    "lstm": lambda: L.LSTM(4),
    "lstm_backwards": lambda: L.LSTM(3, return_sequences=True, go_backwards=True),
    "gru": lambda: L.GRU(4, return_sequences=True),
    "gru_reset_before": lambda: L.GRU(4, reset_after=False),
    "gru_no_bias": lambda: L.GRU(3, use_bias=False),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_outputs_match_the_keras_equations(name, rng):
    x = rng.standard_normal((3, 5, 2)).astype(np.float32)
    layer = LAYERS[name]()
    model = engine.Sequential([engine.Input((5, 2)), layer])
    weights = [w + rng.standard_normal(w.shape).astype(np.float32) * 0.3 for w in model.get_weights()]
    model.set_weights(weights)
    assert_close(model.predict(x), rnn_ref(layer, x, weights), 1e-5)


@pytest.mark.parametrize("name", ["lstm", "gru", "gru_reset_before", "simple_rnn"])
def test_gradients_through_time_match_finite_differences(name, rng):
    x = rng.standard_normal((2, 4, 2)).astype(np.float32)
    layer = LAYERS[name]()
    model = engine.Sequential([engine.Input((4, 2)), layer])
    model.compile(loss="mse", optimizer="sgd")
    weights = [w.astype(np.float64) for w in model.get_weights()]
    y = rng.standard_normal(rnn_ref(layer, x, weights).shape).astype(np.float32)

    def loss(ws):
        return np.mean((rnn_ref(layer, x, ws) - y) ** 2)

    _, grads = model.value_and_grad(x, y)
    numeric = numeric_grads(lambda *ws: loss(list(ws)), weights, 1.0)
    for k, (got, want) in enumerate(zip(grads, numeric)):
        assert_close(got, want, 1e-4, what=f"{name} weight {k}")


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_a_large_batch_runs_in_slices_as_in_one(name, rng):
    """41 sequences: on several threads each runs its own batch slice through every step
    (predict without saved states, training with them); the results are those of one
    thread, and predict matches the float64 reference."""
    x = rng.standard_normal((41, 6, 5)).astype(np.float32)
    layer = LAYERS[name]()
    model = engine.Sequential([engine.Input((6, 5)), layer])
    model.compile(loss="mse", optimizer="sgd")
    weights = [w + rng.standard_normal(w.shape).astype(np.float32) * 0.3 for w in model.get_weights()]
    model.set_weights(weights)
    y = rng.standard_normal(rnn_ref(layer, x, weights).shape).astype(np.float32)
    before = engine.get_num_threads()
    results = {}
    try:
        for threads in (1, 3):
            engine.set_num_threads(threads)
            results[threads] = model.predict(x, batch_size=41), model.value_and_grad(x, y)
    finally:
        engine.set_num_threads(before)
    assert_close(results[3][0], rnn_ref(layer, x, weights), 1e-5)
    assert_close(results[3][0], results[1][0], 1e-6, what="predict")
    (loss3, grads3), (loss1, grads1) = results[3][1], results[1][1]
    assert_close(np.asarray(loss3), np.asarray(loss1), 1e-6, what="loss")
    for k, (a, b) in enumerate(zip(grads3, grads1)):
        assert_close(a, b, 1e-5, what=f"weight {k}")


def test_masked_sequences_of_a_large_batch_run_in_slices(rng):
    """Sequence lengths (a mask) and both directions, 29 sequences on three threads."""
    x = rng.standard_normal((29, 7, 3)).astype(np.float32)
    lengths = rng.integers(1, 8, size=29)
    x[np.arange(7)[None, :] >= lengths[:, None]] = 0.0
    bi = L.Bidirectional(L.LSTM(5, return_sequences=True))
    model = engine.Sequential([engine.Input((7, 3)), L.Masking(0.0), bi])
    before = engine.get_num_threads()
    try:
        engine.set_num_threads(1)
        one = model.predict(x, batch_size=29)
        engine.set_num_threads(3)
        three = model.predict(x, batch_size=29)
    finally:
        engine.set_num_threads(before)
    assert np.isfinite(one).all()
    assert_close(three, one, 1e-6)


def test_bidirectional_merges_a_forward_and_a_backward_pass(rng):
    x = rng.standard_normal((2, 5, 3)).astype(np.float32)
    for mode in ("concat", "sum", "ave", "mul"):
        bi = L.Bidirectional(L.GRU(4, return_sequences=True), merge_mode=mode)
        model = engine.Sequential([engine.Input((5, 3)), bi])
        forward = rnn_ref(bi.forward_layer, x, bi.forward_layer.get_weights())
        backward = rnn_ref(bi.backward_layer, x, bi.backward_layer.get_weights())[:, ::-1]
        expected = {"concat": lambda: np.concatenate([forward, backward], -1), "sum": lambda: forward + backward,
                    "ave": lambda: (forward + backward) / 2, "mul": lambda: forward * backward}[mode]()
        assert_close(model.predict(x), expected, 1e-5, what=mode)


def test_return_state_and_stacked_layers_export_to_onnx(rng, tmp_path):
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is a test extra")
    x = rng.standard_normal((3, 6, 2)).astype(np.float32)
    inp = engine.Input((6, 2))
    sequence, h, c = L.LSTM(5, return_sequences=True, return_state=True)(inp)
    out = L.Bidirectional(L.GRU(3))(sequence)
    model = engine.Model(inp, [out, h, c])
    got = model.predict(x)
    lstm_sequence, lstm_h, _ = model.layers[1](x)
    assert np.array_equal(lstm_h, lstm_sequence[:, -1]) and np.array_equal(got[1], lstm_h)
    path = tmp_path / "rnn.onnx"
    model.export_onnx(path)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for mine, theirs in zip(got, session.run(None, {session.get_inputs()[0].name: x})):
        assert_close(mine, theirs, 1e-5)
    model.save(tmp_path / "rnn.ckpt")
    for a, b in zip(engine.load_model(tmp_path / "rnn.ckpt").predict(x), got):
        assert np.array_equal(a, b)


def test_an_lstm_forecaster_learns_a_series(rng):
    # The book's setting, small: predict the next value of noisy sine series from 20 steps.
    t = np.arange(21)
    phase = rng.uniform(0, 2 * np.pi, (256, 1))
    series = (np.sin(0.4 * t + phase) + 0.05 * rng.standard_normal((256, 21))).astype(np.float32)
    x, y = series[:, :20, None], series[:, 20:]
    engine.set_seed(1)
    model = engine.Sequential([engine.Input((20, 1)), L.LSTM(16), L.Dense(1)])
    model.compile(loss="mse", optimizer=engine.optimizers.Adam(learning_rate=0.02))
    history = model.fit(x, y, batch_size=32, epochs=8, verbose=0)
    assert history.history["loss"][-1] < 0.1 * history.history["loss"][0]


def test_time_distributed_applies_the_layer_to_every_step(rng, tmp_path):
    x = rng.standard_normal((3, 4, 5)).astype(np.float32)
    dense = L.Dense(2, activation="tanh")
    model = engine.Sequential([engine.Input((4, 5)), L.TimeDistributed(dense)])
    expected = np.tanh(x.astype(np.float64) @ dense.kernel.numpy() + dense.bias.numpy())
    assert_close(model.predict(x), expected, 1e-5)
    model.save(tmp_path / "td.ckpt")
    assert np.array_equal(engine.load_model(tmp_path / "td.ckpt").predict(x), model.predict(x))


EXPORTED = {
    "lstm_sequences_backwards": (lambda: L.LSTM(4, return_sequences=True, go_backwards=True), "LSTM"),
    "lstm_state": (lambda: L.LSTM(3, return_state=True), "LSTM"),
    "gru": (lambda: L.GRU(4, return_sequences=True), "GRU"),
    "gru_reset_before_backwards": (lambda: L.GRU(3, reset_after=False, go_backwards=True), "GRU"),
    "simple_rnn_relu": (lambda: L.SimpleRNN(5, activation="relu", return_sequences=True), "RNN"),
    "bidirectional_lstm": (lambda: L.Bidirectional(L.LSTM(3, return_sequences=True)), "LSTM"),
}


@pytest.mark.parametrize("name", sorted(EXPORTED))
def test_layers_export_one_recurrent_node_each(name, rng, tmp_path):
    """The fused layers export as ONNX RNN / LSTM / GRU nodes (no unrolled steps) that the
    checker accepts, onnxruntime runs alike, and the importer reads back."""
    onnx = pytest.importorskip("onnx", reason="onnx checks the exported file")
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is a test extra")
    make, op = EXPORTED[name]
    x = rng.standard_normal((3, 6, 2)).astype(np.float32)
    model = engine.Sequential([engine.Input((6, 2)), make()])
    model.set_weights([w + rng.standard_normal(w.shape).astype(np.float32) * 0.3 for w in model.get_weights()])
    got = model.predict(x)
    got = got if isinstance(got, list) else [got]
    path = tmp_path / "rnn.onnx"
    model.export_onnx(path)
    exported = onnx.load(path)
    onnx.checker.check_model(exported, full_check=True)
    ops = [n.op_type for n in exported.graph.node]
    assert ops.count(op) == (2 if name.startswith("bidirectional") else 1), ops
    assert "MatMul" not in ops and "Sigmoid" not in ops, ops  # no unrolled cell
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    theirs = session.run(None, {session.get_inputs()[0].name: x})
    imported = engine.onnx.load(path).predict(x)
    imported = imported if isinstance(imported, list) else [imported]
    for mine, want, back in zip(got, theirs, imported):
        assert_close(mine, want, 1e-5)
        assert_close(back, want, 1e-5)


def test_initial_state_feeds_the_fused_layer(rng):
    """call() with initial states (eagerly: Layer.__call__ passes no initial_state)."""
    x = rng.standard_normal((2, 4, 3)).astype(np.float32)
    h0, c0 = rng.standard_normal((2, 5)).astype(np.float32), rng.standard_normal((2, 5)).astype(np.float32)
    lstm = L.LSTM(5, return_sequences=True)
    lstm.build((None, 4, 3))
    got = lstm.call(x, initial_state=[h0, c0])
    w = [a.astype(np.float64) for a in lstm.get_weights()]
    kernel, recurrent, bias = w
    h, c, want = h0.astype(np.float64), c0.astype(np.float64), []
    for t in range(4):
        i, f, g, o = np.split(x[:, t] @ kernel + h @ recurrent + bias, 4, axis=1)
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(c)
        want.append(h)
    assert_close(np.asarray(got), np.stack(want, axis=1), 1e-5)


def test_activations_the_op_lacks_unroll_the_cell(rng, tmp_path):
    """hard_sigmoid is no ONNX RNN activation here: the layer runs its cell step by step."""
    x = rng.standard_normal((2, 3, 2)).astype(np.float32)
    layer = L.GRU(3, recurrent_activation="hard_sigmoid")
    model = engine.Sequential([engine.Input((3, 2)), layer])
    path = tmp_path / "gru.onnx"
    model.export_onnx(path)
    onnx = pytest.importorskip("onnx", reason="onnx reads the exported file")
    assert "GRU" not in [n.op_type for n in onnx.load(path).graph.node]
    assert model.predict(x).shape == (2, 3)
