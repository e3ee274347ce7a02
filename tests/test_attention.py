"""MultiHeadAttention against a float64 numpy reference of Keras's definition (projections,
scaled dot products, softmax, causal mask, output projection), trained through fit, exported
to ONNX against onnxruntime, and saved and loaded with its causal mask."""
import numpy as np
import pytest

import engine
from engine import layers as L
from helpers import assert_close


def mha_ref(layer, query, value, key, causal=False):
    w = {v.name.split("/")[-1]: v.numpy().astype(np.float64) for v in layer.weights}

    def heads(x, name):
        return np.einsum("btf,fhd->bhtd", x.astype(np.float64), w[f"{name}_kernel"]) + \
            w[f"{name}_bias"][None, :, None, :]

    q, k, v = heads(query, "query") / np.sqrt(layer.key_dim), heads(key, "key"), heads(value, "value")
    scores = np.einsum("bhqd,bhkd->bhqk", q, k)
    if causal:
        tq, tk = scores.shape[-2:]
        scores = np.where(np.tril(np.ones((tq, tk), bool), k=tk - tq), scores, -1e9)
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    attended = np.einsum("bhqk,bhkd->bqhd", weights, v)
    return np.einsum("bqhd,hdo->bqo", attended, w["output_kernel"]) + w["output_bias"]


@pytest.mark.parametrize("causal", [False, True])
def test_matches_the_definition(rng, causal):
    query = rng.standard_normal((2, 5, 6)).astype(np.float32)
    value = rng.standard_normal((2, 7, 4)).astype(np.float32)
    layer = L.MultiHeadAttention(num_heads=3, key_dim=2, value_dim=5)
    q_in, v_in = engine.Input((5, 6)), engine.Input((7, 4))
    model = engine.Model([q_in, v_in], layer(q_in, v_in, use_causal_mask=causal))
    for var in layer.weights:
        var.assign(rng.standard_normal(var.shape).astype(np.float32) * 0.5)
    assert_close(model.predict([query, value]), mha_ref(layer, query, value, value, causal), 1e-5)
    assert [tuple(v.shape) for v in layer.weights] == [(6, 3, 2), (3, 2), (4, 3, 2), (3, 2), (4, 3, 5), (3, 5),
                                                      (3, 5, 6), (6,)]


def test_a_transformer_block_trains_exports_and_reloads(rng, tmp_path):
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is a test extra")
    x = rng.standard_normal((64, 8, 16)).astype(np.float32)
    y = (x[:, :, :1].mean(axis=1) > 0).astype(np.int64).reshape(-1)
    inp = engine.Input((8, 16))
    attended = L.MultiHeadAttention(num_heads=4, key_dim=8, dropout=0.1)(inp, inp, use_causal_mask=True)
    h = L.LayerNormalization()(L.Add()([inp, attended]))
    out = L.Dense(2, activation="softmax")(L.GlobalAveragePooling1D()(h))
    model = engine.Model(inp, out)
    model.compile(loss="sparse_categorical_crossentropy", optimizer=engine.optimizers.Adam(1e-2))
    history = model.fit(x, y, epochs=5, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    expected = model.predict(x[:4])
    path = tmp_path / "transformer.onnx"
    model.export_onnx(path)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert_close(session.run(None, {session.get_inputs()[0].name: x[:4]})[0], expected, 1e-5)
    model.save(tmp_path / "transformer.ckpt")
    # The causal mask is a call argument: it comes back with the model.
    assert np.array_equal(engine.load_model(tmp_path / "transformer.ckpt").predict(x[:4]), expected)
