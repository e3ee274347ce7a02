"""Keras 3 masks through user code: layers called inside a subclassed model's or a custom
layer's call() pass masks on as they do in a functional model (Embedding(mask_zero=True) ->
recurrent layers, pooling, attention, merges); a call() that takes `mask` gets the mask its
input carries (a list of them for a list of inputs) or the one given with mask=; a mask
computed inside call() comes out with its output; `supports_masking` passes a mask on,
`compute_mask` makes a new one, and other layers drop it.

Each subclassed model is checked against its functional twin with the same weights
(predict, a few fit steps, save/load, onnxruntime on the exported file), and against numpy
float64 where the answer is simple (masked means). The ids have padding zeros in different
places in every row (trailing, leading, holes), so an ignored mask changes the answer: each
comparison also checks that the same model without its mask gives a different one."""
import types

import numpy as np
import pytest

import engine
from engine import layers as L
from engine import ops
from helpers import assert_close

VOCAB, STEPS = 11, 9


def padded_ids(rng, batch=6):
    """Token ids in 1..VOCAB-1 with zeros (padding) at different places in each row; every
    row keeps at least one token and loses at least one step."""
    ids = rng.integers(1, VOCAB, size=(batch, STEPS)).astype(np.int64)
    ids[0, 6:] = 0         # trailing padding
    ids[1, :3] = 0         # leading padding
    ids[2, [1, 4, 5]] = 0  # holes
    ids[3, 1:] = 0         # one token
    ids[4, ::2] = 0        # every other step
    ids[5, -1] = 0
    return ids


# ---- twins: one body, run in a functional model and in a subclassed model's call() -------------

def lstm_pool(mask_zero=True):
    return dict(emb=L.Embedding(VOCAB, 6, mask_zero=mask_zero), rnn=L.LSTM(5, return_sequences=True),
                pool=L.GlobalAveragePooling1D(), out=L.Dense(3))


def gru_last(mask_zero=True):
    return dict(emb=L.Embedding(VOCAB, 6, mask_zero=mask_zero), rnn=L.GRU(4), out=L.Dense(3))


def simple_rnn_stack(mask_zero=True):
    return dict(emb=L.Embedding(VOCAB, 6, mask_zero=mask_zero), drop=L.Dropout(0.3),
                rnn=L.SimpleRNN(5, return_sequences=True), rnn2=L.SimpleRNN(4, go_backwards=True),
                out=L.Dense(2))


def bidirectional(mask_zero=True):
    return dict(emb=L.Embedding(VOCAB, 6, mask_zero=mask_zero),
                rnn=L.Bidirectional(L.LSTM(4, return_sequences=True)), pool=L.GlobalAveragePooling1D(),
                out=L.Dense(3))


def self_attention(mask_zero=True):
    return dict(emb=L.Embedding(VOCAB, 8, mask_zero=mask_zero), mha=L.MultiHeadAttention(2, 4),
                norm=L.LayerNormalization(), pool=L.GlobalAveragePooling1D(), out=L.Dense(3))


def dot_attention(mask_zero=True):
    return dict(emb=L.Embedding(VOCAB, 6, mask_zero=mask_zero), query=L.Dense(6), att=L.Attention(),
                pool=L.GlobalAveragePooling1D(), out=L.Dense(3))


def merged(mask_zero=True):
    return dict(emb=L.Embedding(VOCAB, 6, mask_zero=mask_zero), proj=L.Dense(6, activation="tanh"),
                add=L.Add(), cat=L.Concatenate(), rnn=L.GRU(4, return_sequences=True),
                pool=L.GlobalAveragePooling1D(), out=L.Dense(3))


BODIES = {
    "lstm_pool": (lstm_pool, lambda l, x: l.out(l.pool(l.rnn(l.emb(x))))),
    "gru_last": (gru_last, lambda l, x: l.out(l.rnn(l.emb(x)))),
    "simple_rnn_stack": (simple_rnn_stack, lambda l, x: l.out(l.rnn2(l.rnn(l.drop(l.emb(x)))))),
    "bidirectional": (bidirectional, lambda l, x: l.out(l.pool(l.rnn(l.emb(x))))),
    "self_attention": (self_attention,
                       lambda l, x: l.out(l.pool(l.norm(l.mha(l.emb(x), l.emb(x)))))),
    "dot_attention": (dot_attention,
                      lambda l, x: l.out(l.pool(l.att([l.query(l.emb(x)), l.emb(x)])))),
    "merged": (merged, lambda l, x: l.out(l.pool(l.rnn(l.cat([l.add([l.emb(x), l.proj(l.emb(x))]),
                                                                l.emb(x)]))))),
}


class Twin(engine.Model):
    """The subclassed form of BODIES[body]: its layers in attributes, the body in call()."""

    def __init__(self, body, mask_zero=True, **kwargs):
        super().__init__(**kwargs)
        self.body, self.mask_zero = body, mask_zero
        self.parts = sorted(BODIES[body][0](mask_zero))
        for name, layer in BODIES[body][0](mask_zero).items():
            setattr(self, name, layer)

    def call(self, x):
        return BODIES[self.body][1](self, x)


def functional_twin(body, mask_zero=True):
    parts = types.SimpleNamespace(**BODIES[body][0](mask_zero))
    x = engine.Input((STEPS,), dtype="int64")
    return engine.Model(x, BODIES[body][1](parts, x)), parts


def copy_weights(model, parts, names):
    """Gives the subclassed twin the functional twin's weights, layer by layer."""
    for name in names:
        getattr(model, name).set_weights(getattr(parts, name).get_weights())


def twins(body, ids, mask_zero=True):
    """(functional twin, its layers, subclassed twin with the same weights)."""
    functional, parts = functional_twin(body, mask_zero)
    sub = Twin(body, mask_zero)
    sub.predict(ids[:1])  # builds it (int64 ids)
    copy_weights(sub, parts, sub.parts)
    return functional, parts, sub


@pytest.mark.parametrize("body", sorted(BODIES))
def test_layers_inside_call_pass_masks_on_as_in_the_functional_twin(rng, body):
    ids = padded_ids(rng)
    functional, _, sub = twins(body, ids)
    expected = functional.predict(ids)
    assert_close(sub.predict(ids), expected, 1e-6)
    # The same graph: masks travel with the calls without adding nodes.
    ops_of = lambda m: sorted(n["op_type"] for n in m._build_graph()[0].nodes)
    assert ops_of(sub) == ops_of(functional)
    # The mask matters: the same weights without it give another answer.
    unmasked = Twin(body, mask_zero=False)
    unmasked.predict(ids[:1])
    unmasked.set_weights(sub.get_weights())
    assert np.abs(unmasked.predict(ids) - expected).max() > 1e-3


@pytest.mark.parametrize("body", ["lstm_pool", "bidirectional", "self_attention", "merged"])
def test_subclassed_and_functional_twins_train_alike(rng, body):
    ids = np.concatenate([padded_ids(rng), padded_ids(rng)[:, ::-1]])
    y = rng.integers(0, 3, size=(len(ids),)).astype(np.int64)
    functional, parts, sub = twins(body, ids)
    before = {name: getattr(parts, name).get_weights() for name in sub.parts}
    for m in (functional, sub):
        m.compile(loss=engine.losses.SparseCategoricalCrossentropy(from_logits=True),
                  optimizer=engine.optimizers.Adam(0.05))
        m.fit(ids, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    for name in (n for n in sub.parts if before[n]):  # each layer's weights, flattened together
        w_sub, w_fun, w0 = (np.concatenate([w.ravel() for w in ws]) for ws in
                            (getattr(sub, name).get_weights(), getattr(parts, name).get_weights(), before[name]))
        assert_close(w_sub, w_fun, 1e-5, what=f"{body}/{name}")
        assert np.abs(w_fun - w0).max() > 1e-3, f"{body}/{name} did not train"
    assert_close(sub.predict(ids), functional.predict(ids), 1e-5)


def test_masking_inside_call_matches_the_functional_twin(rng):
    class Forecaster(engine.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.masking, self.rnn, self.out = L.Masking(), L.GRU(4, return_sequences=True), L.Dense(1)
            self.pool = L.GlobalAveragePooling1D()

        def call(self, x):
            return self.out(self.pool(self.rnn(self.masking(x))))

    x = rng.standard_normal((6, STEPS, 3)).astype(np.float32)
    x[padded_ids(rng) == 0] = 0.0  # whole steps of zeros: masked
    model = Forecaster()
    model.predict(x[:1])
    inp = engine.Input((STEPS, 3))
    twin = engine.Model(inp, model.out(model.pool(model.rnn(model.masking(inp)))))  # the same layers
    assert_close(model.predict(x), twin.predict(x), 1e-6)
    unmasked = engine.Model(inp, model.out(model.pool(model.rnn(inp))))
    assert np.abs(unmasked.predict(x) - twin.predict(x)).max() > 1e-3


# ---- custom layers: mask arguments, supports_masking, compute_mask, masks made inside call() ----

class TokenEmbedding(L.Layer):
    """Embedding(mask_zero=True) inside call(): the mask it makes comes out with the output."""

    def __init__(self, dim, **kwargs):
        super().__init__(**kwargs)
        self.dim = dim
        self.emb = L.Embedding(VOCAB, dim, mask_zero=True)

    def call(self, ids):
        return self.emb(ids)


class MaskedMean(L.Layer):
    """The mean of the steps the mask keeps (of all steps without one)."""

    def call(self, x, mask=None):
        if mask is None:
            return ops.mean(x, axis=1)
        w = ops.expand_dims(ops.cast(mask, "float32"), -1)
        return ops.sum(x * w, axis=1) / ops.sum(w, axis=1)


class Doubler(L.Layer):
    supports_masking = True  # step by step: the mask passes on

    def call(self, x):
        return x * 2.0


class PlainDoubler(L.Layer):  # no supports_masking: the mask stops here
    def call(self, x):
        return x * 2.0


class Inverted(L.Layer):
    """Passes the values and masks the steps that were kept, and the reverse."""

    def call(self, x):
        return x * 1.0

    def compute_mask(self, inputs, mask=None):
        return None if mask is None else ops.logical_not(mask)


class GatedSum(L.Layer):
    """[a, b] -> a where a's mask keeps a step, plus b: call() gets the list of the inputs' masks."""

    def call(self, inputs, mask=None):
        a, b = inputs
        if not (isinstance(mask, list) and len(mask) == 2 and mask[1] is None):
            raise AssertionError(f"expected [mask of a, None], got {mask!r}")
        return a * ops.expand_dims(ops.cast(mask[0], "float32"), -1) + b


class Pipeline(engine.Model):
    """ids -> TokenEmbedding -> the given custom layers -> the given pooling."""

    def __init__(self, middle=(), pool="masked_mean", **kwargs):
        super().__init__(**kwargs)
        self.middle, self.pool_name = list(middle), pool
        self.tokens = TokenEmbedding(5)
        self.steps = [{"double": Doubler, "plain": PlainDoubler, "invert": Inverted}[m]() for m in middle]
        self.pool = MaskedMean() if pool == "masked_mean" else L.GlobalAveragePooling1D()

    def call(self, ids):
        x = self.tokens(ids)
        for step in self.steps:
            x = step(x)
        return self.pool(x)


def embedded(model, ids):
    return np.asarray(model.tokens.emb.get_weights()[0], np.float64)[ids]


def masked_mean_ref(x, keep):
    w = keep[..., None].astype(np.float64)
    return (x * w).sum(1) / w.sum(1)


@pytest.mark.parametrize("pool", ["masked_mean", "global_average"])
@pytest.mark.parametrize("middle, scale, which", [
    ((), 1.0, "kept"), (("double",), 2.0, "kept"), (("double", "double"), 4.0, "kept"),
    (("plain",), 2.0, "all"), (("double", "plain", "double"), 8.0, "all"),
    (("invert",), 1.0, "padding"), (("double", "invert"), 2.0, "padding")])
def test_custom_layers_take_pass_make_and_drop_masks_as_keras(rng, pool, middle, scale, which):
    ids = padded_ids(rng)
    model = Pipeline(middle, pool)
    out = model.predict(ids)
    keep = {"kept": ids != 0, "all": np.ones(ids.shape, bool), "padding": ids == 0}[which]
    expected = scale * masked_mean_ref(embedded(model, ids), keep)
    assert_close(out, expected, 1e-5)
    if which != "all":  # the mask mattered
        assert np.abs(scale * embedded(model, ids).mean(1) - expected).max() > 1e-3


def test_a_list_of_inputs_gives_call_the_list_of_their_masks(rng):
    ids = padded_ids(rng)
    x = engine.Input((STEPS,), dtype="int64")
    tokens = TokenEmbedding(4)
    a = tokens(x)
    b = L.Dense(4)(ops.cast(ops.expand_dims(x, -1), "float32"))  # carries no mask
    model = engine.Model(x, GatedSum()([a, b]))
    e = embedded(types.SimpleNamespace(tokens=tokens), ids)
    dense = [l for l in model.layers if isinstance(l, L.Dense)][0]
    w, bias = (np.asarray(v, np.float64) for v in dense.get_weights())
    expected = e * (ids != 0)[..., None] + ids[..., None].astype(np.float64) @ w + bias
    assert_close(model.predict(ids), expected, 1e-5)


def test_each_output_keeps_the_mask_made_for_it_inside_call(rng):
    class TwoViews(L.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.emb = L.Embedding(VOCAB, 4, mask_zero=True)

        def call(self, ids):
            e = self.emb(ids)
            return [e * 1.0, e]  # the first is computed with ops (no mask), the second carries it

    ids = padded_ids(rng)
    x = engine.Input((STEPS,), dtype="int64")
    views = TwoViews()
    plain, masked = views(x)
    assert plain._keras_mask is None and masked._keras_mask is not None
    assert views.output_shape == [(None, STEPS, 4), (None, STEPS, 4)] and views.input_shape == (None, STEPS)
    model = engine.Model(x, [L.GlobalAveragePooling1D()(plain), L.GlobalAveragePooling1D()(masked)])
    e = np.asarray(views.emb.get_weights()[0], np.float64)[ids]
    means = model.predict(ids)
    assert_close(means[0], e.mean(1), 1e-5)
    assert_close(means[1], masked_mean_ref(e, ids != 0), 1e-5)


def test_explicit_masks_in_call_reach_the_layers(rng):
    class ExplicitMask(engine.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.emb, self.rnn = L.Embedding(VOCAB, 6), L.LSTM(5, return_sequences=True)
            self.pool, self.out = L.GlobalAveragePooling1D(), L.Dense(3)

        def call(self, ids):
            mask = ops.not_equal(ids, 0)
            h = self.rnn(self.emb(ids), mask=mask)  # its output carries the mask on to pool
            return self.out(self.pool(h))

    ids = padded_ids(rng)
    functional, parts = functional_twin("lstm_pool")
    model = ExplicitMask()
    model.predict(ids[:1])
    copy_weights(model, parts, ["emb", "rnn", "out"])
    assert_close(model.predict(ids), functional.predict(ids), 1e-6)
    # A custom call() that takes `mask`, given one explicitly, and a layer given one eagerly.
    x = rng.standard_normal((6, STEPS, 3)).astype(np.float32)
    keep = ids != 0
    inp, m = engine.Input((STEPS, 3)), engine.Input((STEPS,), dtype="bool")
    assert_close(engine.Model([inp, m], MaskedMean()(inp, mask=m)).predict([x, keep]),
                 masked_mean_ref(x.astype(np.float64), keep), 1e-5)
    assert_close(MaskedMean()(x, mask=keep), masked_mean_ref(x.astype(np.float64), keep), 1e-5)

    class MeanModel(engine.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.pool = MaskedMean()

        def call(self, x, mask=None):
            return self.pool(x, mask=mask)

    model = MeanModel()
    assert_close(model(x, mask=keep), masked_mean_ref(x.astype(np.float64), keep), 1e-5)
    assert_close(model.predict(x), x.astype(np.float64).mean(1), 1e-5)


class Encoder(engine.Model):
    """A subclassed model used as a layer on masked sequences."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.rnn, self.pool = L.LSTM(5, return_sequences=True), L.GlobalAveragePooling1D()

    def call(self, x):
        return self.pool(self.rnn(x))


class EncoderLayer(L.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.rnn, self.pool = L.LSTM(5, return_sequences=True), L.GlobalAveragePooling1D()

    def call(self, x):
        return self.pool(self.rnn(x))


@pytest.mark.parametrize("kind", ["model", "layer", "model_given_mask"])
def test_masks_reach_the_layers_inside_a_user_model_or_layer_called_on_masked_tensors(rng, kind):
    ids = padded_ids(rng)
    functional, parts = functional_twin("lstm_pool")
    x = engine.Input((STEPS,), dtype="int64")
    enc = EncoderLayer() if kind == "layer" else Encoder()
    if kind == "model_given_mask":
        emb = L.Embedding(VOCAB, 6)
        h = enc(emb(x), mask=ops.not_equal(x, 0))
    else:
        emb = L.Embedding(VOCAB, 6, mask_zero=True)
        h = enc(emb(x))
    out = L.Dense(3)
    model = engine.Model(x, out(h))
    emb.set_weights(parts.emb.get_weights())
    enc.rnn.set_weights(parts.rnn.get_weights())
    out.set_weights(parts.out.get_weights())
    # (a call() without `mask` given one finds it on its input, as a functional model's would)
    assert_close(model.predict(ids), functional.predict(ids), 1e-6)


# ---- saving and ONNX -------------------------------------------------------------------------

CUSTOM = {"Twin": Twin, "Pipeline": Pipeline, "TokenEmbedding": TokenEmbedding, "MaskedMean": MaskedMean,
          "Doubler": Doubler, "Inverted": Inverted, "EncoderLayer": EncoderLayer}


def custom_functional():
    """A functional model of custom layers that take, pass on, make and invert masks."""
    x = engine.Input((STEPS,), dtype="int64")
    tokens = TokenEmbedding(6)(x)
    a = MaskedMean()(L.LSTM(4, return_sequences=True)(Doubler()(tokens)))
    b = EncoderLayer()(Inverted()(tokens))
    return engine.Model(x, L.Dense(2)(L.Concatenate()([a, b])))


def test_masked_user_models_and_layers_save_and_load(rng, tmp_path):
    ids = padded_ids(rng)
    sub = Twin("bidirectional")
    pipeline = Pipeline(["double", "invert"], "global_average")
    functional = custom_functional()
    for name, model in (("sub", sub), ("pipeline", pipeline), ("functional", functional)):
        expected = model.predict(ids)
        model.save(tmp_path / f"{name}.ckpt")
        loaded = engine.load_model(tmp_path / f"{name}.ckpt", custom_objects=CUSTOM)
        assert_close(loaded.predict(ids), expected, 1e-6, what=name)
    clone = engine.clone_model(functional)
    clone.set_weights(functional.get_weights())
    assert_close(clone.predict(ids), functional.predict(ids), 1e-6, what="clone")


@pytest.mark.parametrize("body", ["lstm_pool", "bidirectional", "self_attention", "merged"])
def test_masked_subclassed_models_export_to_onnx_as_their_functional_twins(rng, tmp_path, body):
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is a test extra")
    ids = padded_ids(rng)
    functional, _, sub = twins(body, ids)
    expected = functional.predict(ids)
    path = tmp_path / f"{body}.onnx"
    sub.export_onnx(path)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: ids})[0]
    assert_close(got, expected, 1e-5)


def test_custom_masking_layers_export_to_onnx(rng, tmp_path):
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is a test extra")
    ids = padded_ids(rng)
    for name, model in (("functional", custom_functional()), ("pipeline", Pipeline(["double", "invert"]))):
        expected = model.predict(ids)
        path = tmp_path / f"{name}.onnx"
        model.export_onnx(path)
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        assert_close(session.run(None, {session.get_inputs()[0].name: ids})[0], expected, 1e-5, what=name)
