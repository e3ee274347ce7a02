"""MultiHeadAttention, Attention and AdditiveAttention against float64 numpy references of
Keras's definitions (projections, dot / concat / additive scores, softmax, causal and padding
masks, output projection), their gradients against finite differences, trained through fit,
exported to ONNX against onnxruntime, and saved and loaded with their call arguments."""
import numpy as np
import pytest

import engine
from engine import layers as L
from engine import ops
from helpers import assert_close


def mha_ref(layer, query, value, key, causal=False, allowed=None, weights=None):
    """Keras 3's MultiHeadAttention in float64: (output, attention weights). `allowed` is the
    attention mask [batch, query steps, key steps]; masked scores get -1e9 and masked
    weights are zero (a row with every key masked attends to nothing)."""
    w = {v.name.split("/")[-1]: v.numpy().astype(np.float64) for v in layer.weights} if weights is None else weights

    def heads(x, name):
        return np.einsum("btf,fhd->bhtd", x.astype(np.float64), w[f"{name}_kernel"]) + \
            w[f"{name}_bias"][None, :, None, :]

    q, k, v = heads(query, "query") / np.sqrt(layer.key_dim), heads(key, "key"), heads(value, "value")
    scores = np.einsum("bhqd,bhkd->bhqk", q, k)
    mask = np.ones(scores.shape, bool)
    if allowed is not None:
        mask &= np.asarray(allowed, bool)[:, None]
    if causal:
        tq, tk = scores.shape[-2:]
        mask &= np.tril(np.ones((tq, tk), bool))
    scores = np.where(mask, scores, -1e9)
    weights_ = np.exp(scores - scores.max(-1, keepdims=True))
    weights_ = np.where(mask, weights_ / weights_.sum(-1, keepdims=True), 0.0)
    attended = np.einsum("bhqk,bhkd->bqhd", weights_, v)
    return np.einsum("bqhd,hdo->bqo", attended, w["output_kernel"]) + w["output_bias"], weights_


@pytest.mark.parametrize("causal", [False, True])
def test_matches_the_definition(rng, causal):
    query = rng.standard_normal((2, 5, 6)).astype(np.float32)
    value = rng.standard_normal((2, 7, 4)).astype(np.float32)
    layer = L.MultiHeadAttention(num_heads=3, key_dim=2, value_dim=5)
    q_in, v_in = engine.Input((5, 6)), engine.Input((7, 4))
    model = engine.Model([q_in, v_in], layer(q_in, v_in, use_causal_mask=causal))
    for var in layer.weights:
        var.assign(rng.standard_normal(var.shape).astype(np.float32) * 0.5)
    assert_close(model.predict([query, value]), mha_ref(layer, query, value, value, causal)[0], 1e-5)
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


def check_export_and_reload(model, data, tmp_path):
    """The model's ONNX file passes the full check and onnxruntime agrees; a saved copy
    computes the same (call arguments included)."""
    onnx = pytest.importorskip("onnx", reason="onnx is a test extra")
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is a test extra")
    expected = model.predict(data)
    path = tmp_path / "model.onnx"
    model.export_onnx(path)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {i.name: x for i, x in zip(session.get_inputs(), data)})
    for a, b in zip(got, expected):
        assert_close(a, b, 1e-5)
    model.save(tmp_path / "model.ckpt")
    for a, b in zip(engine.load_model(tmp_path / "model.ckpt").predict(data), expected):
        assert np.array_equal(a, b)


# ---- MultiHeadAttention's masks ---------------------------------------------------------------

MHA_Q_MASK = np.array([[1, 1, 0, 1], [0, 0, 0, 0]], bool)  # the second sequence's queries all masked
MHA_V_MASK = np.array([[1, 0, 1, 1, 1], [1, 1, 1, 0, 0]], bool)
MHA_K_MASK = np.array([[1, 1, 1, 0, 1], [0, 1, 1, 1, 1]], bool)
MHA_A_MASK = np.random.default_rng(7).random((2, 4, 5)) < 0.7
MHA_MASKS = {"query_mask": MHA_Q_MASK, "value_mask": MHA_V_MASK, "key_mask": MHA_K_MASK,
             "attention_mask": MHA_A_MASK}


def mha_allowed(query_mask=None, value_mask=None, key_mask=None, attention_mask=None):
    """Keras's merged attention mask [batch, Tq, Tk] from the masks given."""
    allowed = np.ones((2, 4, 5), bool)
    for m, expand in ((query_mask, -1), (value_mask, -2), (key_mask, -2)):
        if m is not None:
            allowed &= np.expand_dims(m, expand)
    return allowed & attention_mask if attention_mask is not None else allowed


def mha_model(layer, masks, causal=False):
    """[query, value, key] + the masks as float inputs (made bool in the graph) -> output, scores."""
    q_in, v_in, k_in = engine.Input((4, 6)), engine.Input((5, 3)), engine.Input((5, 2))
    mask_in = {name: engine.Input(MHA_MASKS[name].shape[1:]) for name in masks}
    out = layer(q_in, v_in, k_in, use_causal_mask=causal, return_attention_scores=True,
                **{name: ops.greater(m, 0.5) for name, m in mask_in.items()})
    return engine.Model([q_in, v_in, k_in] + list(mask_in.values()), list(out))


def mha_data(rng, masks):
    data = [rng.standard_normal(s).astype(np.float32) for s in ((2, 4, 6), (2, 5, 3), (2, 5, 2))]
    return data + [MHA_MASKS[name].astype(np.float32) for name in masks]


MASK_SETS = [("query_mask",), ("value_mask",), ("key_mask",), ("attention_mask",),
             ("query_mask", "value_mask", "key_mask", "attention_mask")]


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("masks", MASK_SETS, ids="+".join)
def test_mha_masks_follow_keras(masks, causal, rng):
    layer = L.MultiHeadAttention(num_heads=2, key_dim=3, value_dim=4)
    model = mha_model(layer, masks, causal)
    randomize(layer, rng)
    data = mha_data(rng, masks)
    out, scores = model.predict(data)
    allowed = mha_allowed(**{name: MHA_MASKS[name] for name in masks})
    ref_out, ref_scores = mha_ref(layer, data[0], data[1], data[2], causal, allowed)
    assert_close(out, ref_out, 1e-5)
    assert_close(scores, ref_scores, 1e-5, what="attention scores")


def test_mha_takes_the_masks_its_inputs_carry(rng):
    """Embedding(mask_zero=True) masks the queries and values by themselves, as Keras's
    layer does; the output carries the query's mask."""
    tokens = np.array([[3, 5, 0, 0, 0], [1, 2, 3, 4, 0]])
    ids = engine.Input((5,), dtype="int64")
    emb = L.Embedding(9, 6, mask_zero=True)
    x = emb(ids)
    layer = L.MultiHeadAttention(num_heads=2, key_dim=3)
    attended = layer(x, x)
    assert attended._keras_mask is x._keras_mask
    pooled = L.GlobalAveragePooling1D()(attended)  # averages the unmasked steps only
    model = engine.Model(ids, [attended, pooled])
    randomize(layer, rng)
    out, mean = model.predict(tokens)
    vectors = emb.embeddings.numpy()[tokens]
    keep = tokens != 0
    ref, _ = mha_ref(layer, vectors, vectors, vectors, allowed=keep[:, :, None] & keep[:, None, :])
    assert_close(out, ref, 1e-5)
    assert_close(mean, (ref * keep[..., None]).sum(1) / keep.sum(1, keepdims=True), 1e-5)


def test_mha_mask_gradients_match_finite_differences(rng):
    layer = L.MultiHeadAttention(num_heads=2, key_dim=2, value_dim=3)
    masks = ("query_mask", "attention_mask")
    model = mha_model(layer, masks, causal=True)
    model = engine.Model(model.inputs, model.outputs[0])
    model.compile(loss="mse", optimizer="sgd")
    randomize(layer, rng)
    data = mha_data(rng, masks)
    y = rng.standard_normal((2, 4, 6)).astype(np.float32)
    names = [w.name.split("/")[-1] for w in model.trainable_weights]
    weights = [np.array(w.numpy(), np.float64) for w in model.trainable_weights]
    allowed = mha_allowed(**{name: MHA_MASKS[name] for name in masks})

    # The output carries the query mask: Keras 3's loss is the mean over the valid queries.
    assert model.outputs[0]._keras_mask is not None
    valid = MHA_MASKS["query_mask"]

    def loss(ws):
        squares = (mha_ref(layer, *data[:3], True, allowed, dict(zip(names, ws)))[0] - y) ** 2
        return np.sum(squares.mean(axis=-1) * valid) / valid.sum()

    _, grads = model.value_and_grad(data, y)
    eps = 1e-6
    numeric = []
    for k, w in enumerate(weights):
        numeric.append(np.zeros_like(w))
        for idx in np.ndindex(w.shape):
            up, down = [x.copy() for x in weights], [x.copy() for x in weights]
            up[k][idx] += eps
            down[k][idx] -= eps
            numeric[k][idx] = (loss(up) - loss(down)) / (2 * eps)
    # As one vector: the key bias's gradient is zero (softmax ignores a shift shared by a row).
    assert_close(np.concatenate([g.ravel() for g in grads]), np.concatenate([g.ravel() for g in numeric]), 1e-4)


def test_mha_masks_export_to_onnx_and_reload(rng, tmp_path):
    masks = MASK_SETS[-1]
    layer = L.MultiHeadAttention(num_heads=2, key_dim=3, value_dim=4)
    model = mha_model(layer, masks, causal=True)
    randomize(layer, rng)
    data = mha_data(rng, masks)
    check_export_and_reload(model, data, tmp_path)


def test_mha_called_on_arrays_with_masks(rng):
    layer = L.MultiHeadAttention(num_heads=2, key_dim=3)
    q, v, k = mha_data(rng, ())
    out, scores = layer(q, v, k, value_mask=MHA_V_MASK, attention_mask=MHA_A_MASK, return_attention_scores=True)
    ref_out, ref_scores = mha_ref(layer, q, v, k, allowed=mha_allowed(value_mask=MHA_V_MASK,
                                                                       attention_mask=MHA_A_MASK))
    assert_close(out, ref_out, 1e-5)
    assert_close(scores, ref_scores, 1e-5)


def test_mha_attention_mask_broadcasts_over_the_queries(rng):
    """The book's Transformer masks the encoder's padding with not_equal(ids, 0)[:, None]:
    one [batch, 1, key steps] row for every query."""
    layer = L.MultiHeadAttention(num_heads=2, key_dim=3)
    q_in, v_in, k_in = engine.Input((4, 6)), engine.Input((5, 3)), engine.Input((5, 2))
    pad_in = engine.Input((1, 5))
    out = layer(q_in, v_in, k_in, attention_mask=ops.greater(pad_in, 0.5))
    model = engine.Model([q_in, v_in, k_in, pad_in], out)
    randomize(layer, rng)
    data = mha_data(rng, ())
    pad = MHA_V_MASK[:, None, :]
    got = model.predict(data + [pad.astype(np.float32)])
    assert_close(got, mha_ref(layer, *data, allowed=np.broadcast_to(pad, (2, 4, 5)))[0], 1e-5)


def test_mha_rejects_masks_of_the_wrong_shape():
    q, v = engine.Input((4, 6)), engine.Input((5, 3))
    with pytest.raises(ValueError, match=r"value_mask must be \[batch, 5\], got shape \(None, 4\)"):
        L.MultiHeadAttention(2, 3)(q, v, value_mask=ops.greater(engine.Input((4,)), 0.5))
    with pytest.raises(ValueError, match=r"attention_mask must be \[batch, 4, 5\] \(or 1 for a dim it broadcasts "
                                         r"over\), got shape \(None, 5, 4\)"):
        L.MultiHeadAttention(2, 3)(q, v, attention_mask=ops.greater(engine.Input((5, 4)), 0.5))


def test_attention_takes_the_masks_its_inputs_carry(rng):
    """Keras fills Attention's mask argument from the masks its inputs carry; the output
    carries the query's."""
    tokens = np.array([[3, 5, 0, 0], [1, 2, 3, 4]])
    ids = engine.Input((4,), dtype="int64")
    emb = L.Embedding(9, 3, mask_zero=True)
    x = emb(ids)
    layer = L.Attention()
    out = layer([x, x])
    assert out._keras_mask is x._keras_mask
    got = engine.Model(ids, out).predict(tokens)
    vectors = emb.embeddings.numpy()[tokens]
    ref, _ = attention_ref(layer, vectors, vectors, q_mask=tokens != 0, v_mask=tokens != 0)
    assert_close(got, ref, 1e-5)


# ---- Attention and AdditiveAttention --------------------------------------------------------

def attention_ref(layer, query, value, key=None, q_mask=None, v_mask=None, causal=False, weights=None):
    """Keras 3's Attention / AdditiveAttention in float64; (output, attention weights)."""
    w = {v.name.split("/")[-1]: np.float64(v.numpy()) for v in layer.weights} if weights is None else weights
    q, v = np.float64(query), np.float64(value)
    k = v if key is None else np.float64(key)
    scale = w.get("scale")
    if isinstance(layer, L.AdditiveAttention):
        scores = np.sum((1.0 if scale is None else scale) * np.tanh(q[:, :, None] + k[:, None]), axis=-1)
    elif layer.score_mode == "dot":
        scores = np.einsum("bqd,bkd->bqk", q, k) * (1.0 if scale is None else scale)
    else:
        summed = q[:, :, None] + k[:, None]
        scores = w["concat_score_weight"] * np.sum(np.tanh(summed * (1.0 if scale is None else scale)), -1)
    allowed = np.ones(scores.shape, bool)
    if v_mask is not None:
        allowed &= np.asarray(v_mask, bool)[:, None, :]
    if causal:
        allowed &= np.tril(np.ones(scores.shape[1:], bool))[None]
    scores = scores - 1e9 * (~allowed)
    weights_ = np.exp(scores - scores.max(-1, keepdims=True))
    weights_ /= weights_.sum(-1, keepdims=True)
    out = weights_ @ v
    if q_mask is not None:
        out = out * np.asarray(q_mask, np.float64)[:, :, None]
    return out, weights_


ATTENTION = {
    "dot": lambda: L.Attention(),
    "dot_scaled": lambda: L.Attention(use_scale=True),
    "concat": lambda: L.Attention(score_mode="concat"),
    "concat_scaled": lambda: L.Attention(use_scale=True, score_mode="concat"),
    "additive": lambda: L.AdditiveAttention(),
    "additive_unscaled": lambda: L.AdditiveAttention(use_scale=False),
}

Q_MASK = np.array([[1, 1, 0, 1], [1, 1, 1, 0]], bool)
V_MASK = np.array([[1, 0, 1, 1, 1], [1, 1, 1, 0, 0]], bool)


def attention_model(layer, with_key=False, masks=False, causal=False, scores=False):
    """A model of [query, value(, key)(, query mask, value mask)] -> output(, scores); the
    masks come in as floats and become bools in the graph (as Embedding's compute_mask does)."""
    q_in, v_in = engine.Input((4, 3)), engine.Input((5, 3))
    inputs = [q_in, v_in] + ([engine.Input((5, 3))] if with_key else [])
    mask = None
    if masks:
        qm_in, vm_in = engine.Input((4,)), engine.Input((5,))
        mask = [ops.greater(qm_in, 0.5), ops.greater(vm_in, 0.5)]
        feeds = inputs + [qm_in, vm_in]
    else:
        feeds = inputs
    out = layer(inputs, mask=mask, use_causal_mask=causal, return_attention_scores=scores)
    return engine.Model(feeds, list(out) if scores else out)


def attention_data(rng, with_key=False, masks=False):
    data = [rng.standard_normal((2, 4, 3)).astype(np.float32), rng.standard_normal((2, 5, 3)).astype(np.float32)]
    if with_key:
        data.append(rng.standard_normal((2, 5, 3)).astype(np.float32))
    if masks:
        data += [Q_MASK.astype(np.float32), V_MASK.astype(np.float32)]
    return data


def randomize(layer, rng):
    for var in layer.weights:
        var.assign((rng.standard_normal(var.shape) * 0.7 + 1.0).astype(np.float32))


VARIANTS = {"plain": {}, "key": {"with_key": True}, "causal": {"causal": True}, "masks": {"masks": True},
            "all": {"with_key": True, "masks": True, "causal": True}}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("name", sorted(ATTENTION))
def test_attention_matches_the_keras_formulas(name, variant, rng):
    options = VARIANTS[variant]
    layer = ATTENTION[name]()
    model = attention_model(layer, scores=True, **options)
    randomize(layer, rng)
    data = attention_data(rng, options.get("with_key", False), options.get("masks", False))
    out, scores = model.predict(data)
    masks = {"q_mask": Q_MASK, "v_mask": V_MASK} if options.get("masks") else {}
    ref_out, ref_scores = attention_ref(layer, data[0], data[1], data[2] if options.get("with_key") else None,
                                        causal=options.get("causal", False), **masks)
    assert_close(out, ref_out, 1e-5)
    assert_close(scores, ref_scores, 1e-5, what="attention scores")


def test_attention_weights_follow_keras():
    x = [engine.Input((4, 3)), engine.Input((5, 3))]
    assert L.Attention()(x).shape == (None, 4, 3) and L.Attention().weights == []
    layers = {"dot": L.Attention(use_scale=True), "concat": L.Attention(score_mode="concat"),
              "additive": L.AdditiveAttention()}
    for layer in layers.values():
        layer(x)
    assert [(v.name.split("/")[-1], tuple(v.shape)) for v in layers["dot"].weights] == [("scale", ())]
    assert layers["dot"].weights[0].numpy() == 1.0
    assert [(v.name.split("/")[-1], tuple(v.shape)) for v in layers["concat"].weights] == \
        [("concat_score_weight", ())]
    (scale,) = layers["additive"].weights
    assert tuple(scale.shape) == (3,) and np.all(np.abs(scale.numpy()) <= np.sqrt(6 / 6))
    assert not np.all(scale.numpy() == scale.numpy()[0])
    assert L.AdditiveAttention().get_config()["use_scale"] is True
    assert L.Attention().get_config()["use_scale"] is False


@pytest.mark.parametrize("name", ["dot_scaled", "concat_scaled", "additive"])
def test_attention_gradients_match_finite_differences(name, rng):
    # query = Dense(query input): the gradient reaches the Dense weights through the scores.
    layer = ATTENTION[name]()
    q_in, v_in = engine.Input((4, 3)), engine.Input((5, 3))
    dense = L.Dense(3)
    model = engine.Model([q_in, v_in], layer([dense(q_in), v_in], use_causal_mask=True))
    model.compile(loss="mse", optimizer="sgd")
    randomize(layer, rng)
    q, v = attention_data(rng)
    y = rng.standard_normal((2, 4, 3)).astype(np.float32)
    names = [w.name.split("/")[-1] for w in model.trainable_weights]
    weights = [np.array(w.numpy(), np.float64) for w in model.trainable_weights]

    def loss(ws):
        named = dict(zip(names, ws))
        query = q.astype(np.float64) @ named["kernel"] + named["bias"]
        return np.mean((attention_ref(layer, query, v, causal=True, weights=named)[0] - y) ** 2)

    _, grads = model.value_and_grad([q, v], y)
    eps = 1e-6
    for k, w in enumerate(weights):
        numeric = np.zeros_like(w)
        for idx in np.ndindex(w.shape):
            up, down = [x.copy() for x in weights], [x.copy() for x in weights]
            up[k][idx] += eps
            down[k][idx] -= eps
            numeric[idx] = (loss(up) - loss(down)) / (2 * eps)
        assert_close(grads[k], numeric, 1e-4, what=f"{name} {names[k]}")


def test_attention_dropout_acts_only_while_training(rng):
    layer = L.Attention(dropout=0.5, seed=3)
    model = attention_model(layer, scores=True)
    data = attention_data(rng)
    out, scores = model.predict(data)
    ref_out, ref_scores = attention_ref(layer, *data)
    assert_close(out, ref_out, 1e-5)
    dropped_out, dropped = model(data, training=True)
    kept = dropped != 0
    assert 0 < kept.mean() < 1
    # Kept weights are scaled by 1 / (1 - rate), and the output is dropped weights @ value.
    assert_close(dropped[kept], ref_scores[kept] * 2, 1e-5)
    assert_close(dropped_out, np.float64(dropped) @ data[1], 1e-5)


@pytest.mark.parametrize("name", ["dot_scaled", "concat_scaled", "additive"])
def test_attention_exports_to_onnx_and_reloads(name, rng, tmp_path):
    layer = ATTENTION[name]()
    model = attention_model(layer, with_key=True, masks=True, causal=True, scores=True)
    randomize(layer, rng)
    data = attention_data(rng, with_key=True, masks=True)
    # Masks, the causal mask and the returned scores are call arguments: they come back.
    check_export_and_reload(model, data, tmp_path)


def test_attention_called_on_arrays(rng):
    q, v = attention_data(rng)
    out, scores = L.Attention()([q, v], mask=[Q_MASK, V_MASK], return_attention_scores=True)
    ref_out, ref_scores = attention_ref(L.Attention(), q, v, q_mask=Q_MASK, v_mask=V_MASK)
    assert_close(out, ref_out, 1e-5)
    assert_close(scores, ref_scores, 1e-5)


@pytest.mark.parametrize("cls", [L.Attention, L.AdditiveAttention])
def test_attention_rejects_bad_inputs(cls):
    q, v = engine.Input((4, 3)), engine.Input((5, 3))
    name = cls.__name__
    with pytest.raises(ValueError, match=f"^{name}: must be called on a list"):
        cls()(q)
    with pytest.raises(ValueError, match=f"^{name}: must be called on a list"):
        cls()([q])
    with pytest.raises(ValueError, match=f"^{name}: must be called on a list"):
        cls()([q, v, v, v])
    with pytest.raises(ValueError, match=f"^{name}: query dim 3 and key dim 2 differ"):
        cls()([q, engine.Input((5, 2))])
    with pytest.raises(ValueError, match=f"^{name}: value has 5 steps and key 6"):
        cls()([q, v, engine.Input((6, 3))])
    with pytest.raises(ValueError, match=f"^{name}: query must be \\[batch, steps, dim\\]"):
        cls()([engine.Input((3,)), v])
    with pytest.raises(ValueError, match=f"^{name}: mask must be a list"):
        cls()([q, v], mask=ops.greater(engine.Input((5,)), 0.5))
    with pytest.raises(ValueError, match=f"^{name}: value_mask must be \\[batch, 5\\]"):
        cls()([q, v], mask=[None, ops.greater(engine.Input((4,)), 0.5)])
    with pytest.raises(ValueError, match="score_mode"):
        L.Attention(score_mode="add")
