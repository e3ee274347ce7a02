"""Keras masks and stateful recurrent layers: Embedding(mask_zero=True) and Masking make them,
SimpleRNN / LSTM / GRU / Bidirectional take them as the op's sequence_lens, Dense and
TimeDistributed pass them on, GlobalAveragePooling1D averages the unmasked steps; stateful=True carries the final states
of a batch into the next (predict, train_on_batch, fit). Checked
against a float64 numpy loop written from Keras's backend rnn() with a mask (a masked step
keeps the states and outputs the carried hidden state, or zeros with zero_output_for_mask),
finite differences, and onnxruntime on the exported models."""
import numpy as np
import pytest

import engine
from engine import layers as L
from helpers import assert_close, numeric_grads


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def cell_step(layer, w, xt, h, c, h_rec=None):
    """One step of `layer`'s cell in float64 (Keras's weights and gate order): new (h, c).
    h_rec: the h_{t-1} the recurrent products read (recurrent dropout), else h."""
    h_rec = h if h_rec is None else h_rec
    kernel, recurrent = w[0], w[1]
    u = layer.units
    reset_after = isinstance(layer, L.GRU) and layer.reset_after
    bias = w[2] if layer.use_bias else np.zeros((2, 3 * u) if reset_after else kernel.shape[1])
    if isinstance(layer, L.LSTM):
        i, f, g, o = np.split(xt @ kernel + h_rec @ recurrent + bias, 4, axis=1)
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        return sigmoid(o) * np.tanh(c), c
    if isinstance(layer, L.GRU):
        if reset_after:
            xz, hz = xt @ kernel + bias[0], h_rec @ recurrent + bias[1]
            z = sigmoid(xz[:, :u] + hz[:, :u])
            r = sigmoid(xz[:, u:2 * u] + hz[:, u:2 * u])
            cand = np.tanh(xz[:, 2 * u:] + r * hz[:, 2 * u:])
        else:
            xz = xt @ kernel + bias
            z = sigmoid(xz[:, :u] + h_rec @ recurrent[:, :u])
            r = sigmoid(xz[:, u:2 * u] + h_rec @ recurrent[:, u:2 * u])
            cand = np.tanh(xz[:, 2 * u:] + (r * h_rec) @ recurrent[:, 2 * u:])
        return z * h + (1 - z) * cand, c
    act = {"tanh": np.tanh, "softsign": lambda z: z / (1 + np.abs(z))}[engine.activations.serialize(layer.activation)]
    return act(xt @ kernel + h_rec @ recurrent + bias), c


def masked_ref(layer, x, weights, mask, zero_output=None, initial=None, recurrent_keep=None):
    """Keras's rnn() with a mask: [outputs or last output] + [h (, c)] for return_state;
    `initial`: the initial [h (, c)] (zeros by default); recurrent_keep: the recurrent
    dropout mask ([batch, units]) of the h the products read."""
    w = [np.asarray(a, np.float64) for a in weights]
    zero_output = layer.zero_output_for_mask if zero_output is None else zero_output
    h = np.zeros((x.shape[0], layer.units)) if initial is None else np.asarray(initial[0], np.float64)
    c = np.zeros_like(h) if initial is None or len(initial) < 2 else np.asarray(initial[1], np.float64)
    outputs = []
    order = range(x.shape[1])[::-1] if layer.go_backwards else range(x.shape[1])
    for t in order:  # Keras lists the outputs in the order it computes them
        keep = mask[:, t, None]
        h_rec = None if recurrent_keep is None else h * recurrent_keep / (1 - layer.recurrent_dropout)
        h_new, c_new = cell_step(layer, w, x[:, t].astype(np.float64), h, c, h_rec)
        outputs.append(np.where(keep, h_new, 0.0 if zero_output else h))
        h, c = np.where(keep, h_new, h), np.where(keep, c_new, c)
    result = np.stack(outputs, axis=1) if layer.return_sequences else outputs[-1]
    if layer.return_state:
        return [result, h] + ([c] if isinstance(layer, L.LSTM) else [])
    return result


def padded(rng, lengths, steps, features, starts=None):
    """Padded float sequences (zeros outside each row's run of `lengths` steps from `starts`,
    0 by default: right-padded) and their mask."""
    starts = np.zeros(len(lengths), int) if starts is None else np.asarray(starts)
    t = np.arange(steps)[None, :]
    mask = (t >= starts[:, None]) & (t < starts[:, None] + np.asarray(lengths)[:, None])
    x = rng.standard_normal((len(lengths), steps, features)).astype(np.float32)
    return np.where(mask[..., None], x, 0.0).astype(np.float32), mask


def jitter(model, rng):
    model.set_weights([w + rng.standard_normal(w.shape).astype(np.float32) * 0.3 for w in model.get_weights()])


LAYERS = {
    "simple_rnn_sequences": lambda: L.SimpleRNN(4, return_sequences=True),
    "simple_rnn_backwards": lambda: L.SimpleRNN(3, go_backwards=True),
    "lstm": lambda: L.LSTM(4),
    "lstm_sequences_backwards": lambda: L.LSTM(3, return_sequences=True, go_backwards=True),
    "lstm_zero_output": lambda: L.LSTM(3, return_sequences=True, zero_output_for_mask=True),
    "lstm_state": lambda: L.LSTM(3, return_sequences=True, return_state=True),
    "gru_sequences": lambda: L.GRU(4, return_sequences=True),
    "gru_reset_before": lambda: L.GRU(4, reset_after=False),
    "gru_backwards_zero_output": lambda: L.GRU(3, return_sequences=True, go_backwards=True,
                                               zero_output_for_mask=True),
    "gru_state_last_zero_output": lambda: L.GRU(3, return_state=True, zero_output_for_mask=True),
}


HOLES = np.array([[1, 0, 1, 1, 0, 0, 1], [0, 1, 0, 0, 1, 1, 0], [0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 1, 0, 0, 0],
                  [1, 1, 0, 1, 0, 1, 1]], bool)


@pytest.mark.parametrize("starts", [None, [0, 2, 3, 5, 1], "holes"], ids=["right-padded", "padded-before-too",
                                                                          "holes"])
@pytest.mark.parametrize("name", sorted(LAYERS))
def test_masked_steps_follow_keras(name, starts, rng):
    if starts == "holes":  # masked steps between unmasked ones
        x, mask = padded(rng, [7] * 5, 7, 3)
        x, mask = np.where(HOLES[..., None], x, 0.0).astype(np.float32), HOLES
    else:
        x, mask = padded(rng, [7, 3, 0, 1, 5], 7, 3, starts)
    layer = LAYERS[name]()
    model = engine.Sequential([engine.Input((7, 3)), L.Masking(0.0), layer])
    jitter(model, rng)
    got = model.predict(x)
    want = masked_ref(layer, x, layer.get_weights(), mask)
    for k, (g, w) in enumerate(zip(got, want) if isinstance(want, list) else [(got, want)]):
        assert_close(g, w, 1e-5, what=f"{name} output {k}")


def test_embedding_mask_flows_through_stacked_layers(rng):
    """Embedding(mask_zero) -> LSTM(return_sequences) -> TimeDistributed(Dense) -> GRU: every
    recurrent layer sees the mask; the last one ends it."""
    lengths = [6, 2, 4]
    ids = rng.integers(1, 11, (3, 6))
    ids[np.arange(6)[None, :] >= np.asarray(lengths)[:, None]] = 0
    mask = ids != 0
    emb, lstm = L.Embedding(11, 5, mask_zero=True), L.LSTM(4, return_sequences=True)
    dense, gru = L.Dense(3, activation="tanh"), L.GRU(2)
    inp = engine.Input((6,), dtype="int64")
    seq = lstm(emb(inp))
    td = L.TimeDistributed(dense)(seq)
    out = gru(td)
    assert seq._keras_mask is not None and td._keras_mask is not None and out._keras_mask is None
    model = engine.Model(inp, out)
    jitter(model, rng)
    x = emb.get_weights()[0].astype(np.float64)[ids]
    h1 = masked_ref(lstm, x, lstm.get_weights(), mask)
    d = np.tanh(h1 @ dense.kernel.numpy() + dense.bias.numpy())
    assert_close(model.predict(ids), masked_ref(gru, d, gru.get_weights(), mask), 1e-5)


@pytest.mark.parametrize("sequences", [True, False])
def test_bidirectional_with_a_mask(sequences, rng):
    lengths = [5, 1, 3, 0]
    x, mask = padded(rng, lengths, 5, 2)
    bi = L.Bidirectional(L.LSTM(3, return_sequences=sequences))
    model = engine.Sequential([engine.Input((5, 2)), L.Masking(), bi])
    jitter(model, rng)
    # Keras's Bidirectional zeros the masked steps of returned sequences in both directions.
    forward = masked_ref(bi.forward_layer, x, bi.forward_layer.get_weights(), mask, zero_output=sequences)
    backward = masked_ref(bi.backward_layer, x, bi.backward_layer.get_weights(), mask, zero_output=sequences)
    if sequences:
        backward = backward[:, ::-1]
    assert_close(model.predict(x), np.concatenate([forward, backward], -1), 1e-5)


def test_global_average_pooling_averages_the_unmasked_steps(rng):
    ids = np.array([[3, 1, 4, 0, 0], [5, 0, 0, 0, 0], [2, 6, 5, 3, 5]])
    emb = L.Embedding(7, 4, mask_zero=True)
    model = engine.Sequential([engine.Input((5,), dtype="int64"), emb, L.GlobalAveragePooling1D()])
    table = emb.get_weights()[0].astype(np.float64)
    want = np.stack([table[row[row != 0]].mean(axis=0) for row in ids])
    assert_close(model.predict(ids), want, 1e-6)


@pytest.mark.parametrize("make", [lambda: L.LSTM(3, return_sequences=True),
                                  lambda: L.GRU(2, go_backwards=True),
                                  lambda: L.SimpleRNN(3, return_sequences=True, go_backwards=True)],
                         ids=["lstm", "gru_backwards", "simple_rnn_backwards"])
def test_masked_gradients_match_finite_differences(make, rng):
    x, mask = padded(rng, [4, 2, 1, 4], 4, 2, starts=[0, 0, 2, 0])
    mask[3, 1] = False  # a hole
    x[3, 1] = 0.0
    layer = make()
    model = engine.Sequential([engine.Input((4, 2)), L.Masking(), layer])
    model.compile(loss="mse", optimizer="sgd")
    jitter(model, rng)
    weights = [w.astype(np.float64) for w in model.get_weights()]
    y = rng.standard_normal(masked_ref(layer, x, weights, mask).shape).astype(np.float32)
    # Keras 3: the sequences carry the mask, and the loss is the mean over their valid steps.
    out_mask = mask if layer.return_sequences else None

    def loss(ws):
        squares = (masked_ref(layer, x, ws, mask) - y) ** 2
        if out_mask is None:
            return np.mean(squares)
        return np.sum(squares.mean(axis=-1) * out_mask) / out_mask.sum()

    _, grads = model.value_and_grad(x, y)
    numeric = numeric_grads(lambda *ws: loss(list(ws)), weights, 1.0)
    for k, (got, want) in enumerate(zip(grads, numeric)):
        assert_close(got, want, 1e-4, what=f"weight {k}")


def test_the_unrolled_cell_takes_any_mask(rng):
    """unroll=True, or an activation the op lacks, unrolls the cell, which takes masks with
    holes too."""
    x = rng.standard_normal((3, 6, 2)).astype(np.float32)
    mask = np.array([[0, 1, 1, 0, 1, 0], [1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 1]], bool)
    for layer in (L.SimpleRNN(3, activation="softsign", return_sequences=True),
                  L.SimpleRNN(2, activation="softsign", go_backwards=True, zero_output_for_mask=True),
                  L.LSTM(3, unroll=True, return_sequences=True), L.GRU(2, unroll=True, go_backwards=True)):
        assert_close(layer(x, mask=mask), masked_ref(layer, x, layer.get_weights(), mask), 1e-5)


def test_mask_given_to_the_call(rng):
    """An explicit mask= reaches the layer, symbolically and eagerly."""
    x = rng.standard_normal((3, 5, 2)).astype(np.float32)
    mask = np.arange(5)[None, :] < np.array([[5], [2], [4]])
    lstm = L.LSTM(3, return_sequences=True)
    got = lstm(x, mask=mask)
    assert_close(got, masked_ref(lstm, x, lstm.get_weights(), mask), 1e-5)
    inp, m = engine.Input((5, 2)), engine.Input((5,), dtype="bool")
    model = engine.Model([inp, m], lstm(inp, mask=m))
    assert_close(model.predict([x, mask]), got, 1e-6)


def test_masked_functional_models_save_and_load(rng, tmp_path):
    x = rng.standard_normal((3, 5, 2)).astype(np.float32)
    mask = np.arange(5)[None, :] < np.array([[5], [2], [4]])
    inp, m = engine.Input((5, 2)), engine.Input((5,), dtype="bool")
    explicit = engine.Model([inp, m], L.GRU(3, return_sequences=True)(inp, mask=m))
    ids = engine.Input((5,), dtype="int64")
    derived = engine.Model(ids, L.LSTM(2)(L.Embedding(9, 3, mask_zero=True)(ids)))
    tokens = np.array([[1, 2, 3, 0, 0], [4, 0, 0, 0, 0]])
    for model, inputs in ((explicit, [x, mask]), (derived, tokens)):
        model.save(tmp_path / f"{model.name}.ckpt")
        loaded = engine.load_model(tmp_path / f"{model.name}.ckpt")
        assert np.array_equal(loaded.predict(inputs), model.predict(inputs))


def test_mask_propagation_rules():
    inp = engine.Input((6,), dtype="int64")
    emb = L.Embedding(9, 4, mask_zero=True)(inp)
    assert emb._keras_mask is not None
    assert L.Dense(3)(emb)._keras_mask is emb._keras_mask
    assert L.Dropout(0.5)(emb)._keras_mask is emb._keras_mask
    assert L.Flatten()(emb)._keras_mask is None  # Keras: Flatten does not support masking
    assert L.LSTM(2)(emb)._keras_mask is None
    assert L.GlobalAveragePooling1D()(emb)._keras_mask is None
    seq, h, c = L.LSTM(2, return_sequences=True, return_state=True)(emb)
    assert seq._keras_mask is emb._keras_mask and h._keras_mask is None and c._keras_mask is None
    assert L.Embedding(9, 4)(inp)._keras_mask is None


def test_masked_model_exports_to_onnx(rng, tmp_path):
    """The masks' lengths and step orders export as ONNX ops (ReduceSum, MatMul,
    GatherElements), sequence_lens int32: onnxruntime agrees, masks with holes included."""
    onnx = pytest.importorskip("onnx", reason="onnx checks the exported file")
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is a test extra")
    ids = rng.integers(1, 13, (5, 7))
    ids[np.arange(7)[None, :] >= np.array([[7], [3], [1], [6], [4]])] = 0
    ids[3] = np.roll(ids[3], 1)  # padded before its data
    ids[4] = np.roll(ids[4], 2)
    ids[0, [1, 4]] = 0  # holes
    model = engine.Sequential([engine.Input((7,), dtype="int64"), L.Embedding(13, 4, mask_zero=True),
                               L.Bidirectional(L.GRU(3, return_sequences=True)), L.LSTM(5, go_backwards=True),
                               L.Dense(2)])
    jitter(model, rng)
    path = tmp_path / "masked.onnx"
    model.export_onnx(path)
    exported = onnx.load(path)
    onnx.checker.check_model(exported, full_check=True)
    assert [n.op_type for n in exported.graph.node].count("ReduceSum") >= 1
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    want = session.run(None, {session.get_inputs()[0].name: ids})[0]
    assert_close(model.predict(ids), want, 1e-5)
    assert_close(engine.onnx.load(path).predict(ids), want, 1e-5)


def test_masking_layer_zeros_masked_steps_and_saves(rng, tmp_path):
    x = rng.standard_normal((2, 4, 3)).astype(np.float32)
    x[0, 2:] = -1.0
    model = engine.Sequential([engine.Input((4, 3)), L.Masking(mask_value=-1.0), L.SimpleRNN(2)])
    got = model.predict(x)
    inner = engine.Sequential([engine.Input((4, 3)), model.layers[0]])
    assert np.array_equal(inner.predict(x)[0, 2:], np.zeros((2, 3))) and np.array_equal(inner.predict(x)[1], x[1])
    model.save(tmp_path / "m.ckpt")
    assert np.array_equal(engine.load_model(tmp_path / "m.ckpt").predict(x), got)


def test_input_dropout_is_one_mask_per_sequence_and_feature(rng):
    """Keras 3's cells multiply the inputs by one mask per sequence (shared by the steps and
    the gates) in training: SpatialDropout1D with the same seed draws the same mask."""
    x = rng.standard_normal((6, 5, 4)).astype(np.float32)
    everything = np.ones((6, 5), bool)
    for layer in (L.LSTM(3, return_sequences=True, dropout=0.4, seed=123), L.GRU(3, dropout=0.4, seed=123)):
        layer.build((None, 5, 4))
        keep = L.SpatialDropout1D(0.4, seed=123)(np.ones_like(x), training=True) != 0
        assert keep.any() and not keep.all() and (keep == keep[:, :1]).all()
        want = masked_ref(layer, x * keep / 0.6, layer.get_weights(), everything)
        assert_close(layer(x, training=True), want, 1e-5)
        assert_close(layer(x), masked_ref(layer, x, layer.get_weights(), everything), 1e-5)


@pytest.mark.parametrize("make", [
    lambda: L.LSTM(4, return_sequences=True, recurrent_dropout=0.3, seed=7),
    lambda: L.GRU(3, recurrent_dropout=0.4, dropout=0.2, seed=9),
    lambda: L.GRU(3, reset_after=False, return_sequences=True, go_backwards=True, recurrent_dropout=0.3, seed=11),
    lambda: L.SimpleRNN(5, recurrent_dropout=0.5, seed=13)], ids=["lstm", "gru_dropouts", "gru_reset_before",
                                                                  "simple_rnn"])
def test_recurrent_dropout_drops_the_h_the_products_read(make, rng):
    """Keras 3's cells: h_{t-1} times one mask per sequence and unit in the recurrent products
    (the carried state stays whole), while training only."""
    x = rng.standard_normal((5, 6, 3)).astype(np.float32)
    mask = np.ones((5, 6), bool)
    layer = make()
    layer.build((None, 6, 3))
    jitter_layer = [w + rng.standard_normal(w.shape).astype(np.float32) * 0.3 for w in layer.get_weights()]
    layer.set_weights(jitter_layer)
    keep = L.Lambda(lambda t: engine.ops.cast(layer._recurrent_keep(t), "float32"))(x, training=True) != 0
    assert keep.any() and not keep.all()
    inputs = x
    if layer.dropout:
        inputs = x * (L.SpatialDropout1D(layer.dropout, seed=layer.seed)(np.ones_like(x), training=True) != 0) / (
            1 - layer.dropout)
    want = masked_ref(layer, inputs, layer.get_weights(), mask, recurrent_keep=keep)
    assert_close(layer(x, training=True), want, 1e-5)
    assert_close(layer(x), masked_ref(layer, x, layer.get_weights(), mask), 1e-5)  # inference: none


def test_recurrent_dropout_gradients_match_finite_differences(rng):
    """The unrolled training graph differentiates through the dropped products."""
    x = rng.standard_normal((3, 4, 2)).astype(np.float32)
    layer = L.GRU(2, recurrent_dropout=0.5, seed=5)
    model = engine.Sequential([engine.Input((4, 2)), layer])
    model.compile(loss="mse", optimizer="sgd")
    jitter(model, rng)
    keep = L.Lambda(lambda t: engine.ops.cast(layer._recurrent_keep(t), "float32"))(x, training=True) != 0
    mask = np.ones((3, 4), bool)
    weights = [w.astype(np.float64) for w in model.get_weights()]
    y = rng.standard_normal((3, 2)).astype(np.float32)

    def loss(ws):
        return np.mean((masked_ref(layer, x, ws, mask, recurrent_keep=keep) - y) ** 2)

    _, grads = model.value_and_grad(x, y)
    numeric = numeric_grads(lambda *ws: loss(list(ws)), weights, 1.0)
    for k, (got, want) in enumerate(zip(grads, numeric)):
        assert_close(got, want, 1e-4, what=f"weight {k}")


def final_states(layer, x, weights, initial=None):
    """The states after a run over x (no mask), as Keras carries them."""
    probe = type(layer).from_config({**layer.get_config(), "return_state": True, "stateful": False})
    return masked_ref(probe, x, weights, np.ones(x.shape[:2], bool), initial=initial)[1:]


STATEFUL = {
    "lstm_sequences": lambda: L.LSTM(4, stateful=True, return_sequences=True),
    "gru": lambda: L.GRU(3, stateful=True),
    "simple_rnn_backwards": lambda: L.SimpleRNN(3, stateful=True, go_backwards=True, return_sequences=True),
}


@pytest.mark.parametrize("name", sorted(STATEFUL))
def test_stateful_layers_carry_their_states_between_calls(name, rng):
    x = rng.standard_normal((3, 10, 2)).astype(np.float32)
    layer = STATEFUL[name]()
    model = engine.Sequential([engine.Input((5, 2), batch_size=3), layer])
    jitter(model, rng)
    assert len(model.get_weights()) == 3  # the states are no weights (Keras)
    w = layer.get_weights()
    everything = np.ones((3, 5), bool)
    first, second = x[:, :5], x[:, 5:]
    assert_close(model.predict(first), masked_ref(layer, first, w, everything), 1e-5)
    after_first = final_states(layer, first, w)
    for got, want in zip(layer.states, after_first):
        assert_close(got, want, 1e-5)
    assert_close(model.predict(second), masked_ref(layer, second, w, everything, initial=after_first), 1e-5)
    layer.reset_state()
    assert all(not s.any() for s in layer.states)
    assert_close(model.predict(second), masked_ref(layer, second, w, everything), 1e-5)


def test_stateful_training_carries_the_states_like_train_on_batch(rng):
    """fit without shuffling = train_on_batch batch after batch; each step starts from the
    states the step before ended with (computed with the weights before its update)."""
    x = rng.standard_normal((6, 4, 2)).astype(np.float32)
    y = rng.standard_normal((6, 3)).astype(np.float32)

    def make():
        engine.set_seed(3)
        model = engine.Sequential([engine.Input((4, 2), batch_size=3), L.LSTM(3, stateful=True)])
        model.compile(loss="mse", optimizer=engine.optimizers.SGD(learning_rate=0.1))
        return model

    a, b = make(), make()
    w0 = a.layers[0].get_weights()
    a.train_on_batch(x[:3], y[:3])
    for got, want in zip(a.layers[0].states, final_states(a.layers[0], x[:3], w0)):
        assert_close(got, want, 1e-5)
    w1 = a.layers[0].get_weights()
    carried = a.layers[0].states
    a.train_on_batch(x[3:], y[3:])
    for got, want in zip(a.layers[0].states, final_states(a.layers[0], x[3:], w1, initial=carried)):
        assert_close(got, want, 1e-5)
    b.fit(x, y, batch_size=3, epochs=1, shuffle=False, verbose=0)
    for got, want in zip(b.get_weights() + b.layers[0].states, a.get_weights() + a.layers[0].states):
        assert_close(got, want, 1e-6)


def test_stateful_bidirectional_and_masks(rng):
    x, mask = padded(rng, [5, 2, 4], 5, 2, starts=[0, 1, 0])
    bi = L.Bidirectional(L.GRU(3, stateful=True))
    model = engine.Sequential([engine.Input((5, 2), batch_size=3), L.Masking(), bi])
    jitter(model, rng)
    first = model.predict(x)
    forward, backward = bi.forward_layer, bi.backward_layer
    h_f = masked_ref(forward, x, forward.get_weights(), mask)
    assert_close(forward.states[0], h_f, 1e-5)  # the last valid step's state carries on
    assert not np.allclose(model.predict(x), first)
    bi.reset_state()
    assert_close(model.predict(x), first, 1e-6)
    assert backward.states[0].any()


def test_stateful_needs_a_fixed_batch_size(rng):
    with pytest.raises(ValueError, match=r"stateful=True needs a fixed batch size"):
        engine.Sequential([engine.Input((4, 2)), L.LSTM(2, stateful=True)])
    model = engine.Sequential([engine.Input((4, 2), batch_size=3), L.LSTM(2, stateful=True)])
    with pytest.raises(ValueError):
        model.predict(rng.standard_normal((5, 4, 2)).astype(np.float32))


def test_stateful_model_exports_with_its_current_states(rng, tmp_path):
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is a test extra")
    x = rng.standard_normal((2, 4, 3)).astype(np.float32)
    model = engine.Sequential([engine.Input((4, 3), batch_size=2), L.GRU(3, stateful=True), L.Dense(2)])
    model.predict(x)  # states away from zero
    path = tmp_path / "stateful.onnx"
    model.export_onnx(path)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    want = session.run(None, {session.get_inputs()[0].name: x})[0]
    assert_close(model.predict(x), want, 1e-5)


def test_masks_cross_nested_models_both_ways(rng, tmp_path):
    """As Keras's functional models: the mask a nested model's input carries reaches the
    layers inside it, and the masks its layers give its outputs come out with them. The
    model trains, saves, loads and exports as one graph."""
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is a test extra")
    tokens = np.array([[1, 2, 0, 0, 3], [0, 4, 5, 0, 0], [6, 7, 8, 1, 2], [0, 0, 0, 0, 0]])
    mask = tokens != 0
    # In: an encoder model (Embedding with mask_zero) and Masking feed a model of two
    # inputs that both carry the mask; Add passes on their OR to the LSTM inside (Keras's
    # merge rule).
    ids = engine.Input((5,), dtype="int64")
    emb = L.Embedding(9, 4, mask_zero=True)
    encoder = engine.Model(ids, emb(ids))
    seq_in, bias_in = engine.Input((5, 4)), engine.Input((5, 4))
    lstm = L.LSTM(3, return_sequences=True)
    body = engine.Model([seq_in, bias_in], lstm(L.Add()([seq_in, bias_in])))
    gru = L.GRU(2)
    outer_ids, extra = engine.Input((5,), dtype="int64"), engine.Input((5, 4))
    encoded = encoder(outer_ids)
    assert encoded._keras_mask is not None  # out of the encoder
    sequences = body([encoded, L.Masking()(extra)])
    assert sequences._keras_mask is not None  # in and out of the body
    model = engine.Model([outer_ids, extra], gru(sequences))
    jitter(model, rng)
    shift = np.where(mask[..., None], rng.standard_normal((4, 5, 4)), 0.0).astype(np.float32)
    x = emb.embeddings.numpy().astype(np.float64)[tokens] + shift
    h = masked_ref(lstm, x, lstm.get_weights(), mask)
    want = masked_ref(gru, h, gru.get_weights(), mask)
    got = model.predict([tokens, shift])
    assert_close(got, want, 1e-5)

    model.compile(loss="mse", optimizer="sgd")
    before = [w.copy() for w in lstm.get_weights()]
    model.fit([tokens, shift], np.zeros((4, 2), np.float32), epochs=1, verbose=0)
    assert any(not np.array_equal(a, b) for a, b in zip(before, lstm.get_weights()))
    expected = model.predict([tokens, shift])
    model.save(tmp_path / "nested.ckpt")
    assert np.array_equal(engine.load_model(tmp_path / "nested.ckpt").predict([tokens, shift]), expected)
    path = tmp_path / "nested.onnx"
    model.export_onnx(path)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = {i.name: v for i, v in zip(session.get_inputs(), [tokens, shift])}
    assert_close(session.run(None, feeds)[0], expected, 1e-5)


def test_a_sequential_model_takes_the_mask_of_its_input(rng):
    tokens = np.array([[3, 1, 0, 0], [2, 0, 0, 0], [5, 6, 7, 8]])
    emb, lstm = L.Embedding(9, 3, mask_zero=True), L.LSTM(2)
    head = engine.Sequential([engine.Input((4, 3)), lstm, L.Dense(1)])
    model = engine.Sequential([engine.Input((4,), dtype="int64"), emb, head])
    h = masked_ref(lstm, emb.embeddings.numpy()[tokens], lstm.get_weights(), tokens != 0)
    dense = head.layers[-1]
    assert_close(model.predict(tokens), h @ dense.kernel.numpy() + dense.bias.numpy(), 1e-5)


def test_clone_model_keeps_the_call_arguments(rng):
    """clone_model calls each layer as the model did: masks (explicit or carried), causal
    attention; with the weights copied over, the clone computes the same."""
    ids, explicit = engine.Input((5,), dtype="int64"), engine.Input((5,), dtype="bool")
    x = L.Embedding(9, 4, mask_zero=True)(ids)
    attended = L.MultiHeadAttention(num_heads=2, key_dim=2)(x, x, use_causal_mask=True)
    out = L.GRU(3)(L.LSTM(4, return_sequences=True)(attended), mask=explicit)
    model = engine.Model([ids, explicit], out)
    clone = engine.models.clone_model(model)
    clone.set_weights(model.get_weights())
    tokens = np.array([[1, 2, 0, 0, 3], [0, 4, 5, 0, 0]])
    keep = np.array([[1, 1, 1, 0, 0], [1, 0, 1, 1, 0]], bool)
    assert_close(clone.predict([tokens, keep]), model.predict([tokens, keep]), 1e-6)
