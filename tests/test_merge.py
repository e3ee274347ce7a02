"""The merge layers (Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot)
against numpy float64, their gradients against finite differences, Keras 3's mask rules,
the functional forms, saving, and ONNX export against onnxruntime."""
import numpy as np
import pytest

import engine
from engine import layers as L
from helpers import assert_close, numeric_grads

ELEMENTWISE = {
    "Add": (L.Add, lambda xs: sum(xs[1:], xs[0])),
    "Subtract": (L.Subtract, lambda xs: xs[0] - xs[1]),
    "Multiply": (L.Multiply, lambda xs: np.prod(np.broadcast_arrays(*xs), axis=0)),
    "Average": (L.Average, lambda xs: sum(xs[1:], xs[0]) / len(xs)),
    "Maximum": (L.Maximum, lambda xs: np.max(np.broadcast_arrays(*xs), axis=0)),
    "Minimum": (L.Minimum, lambda xs: np.min(np.broadcast_arrays(*xs), axis=0)),
}
SHAPES = [(5, 3), (1, 3), (5, 3)]  # the second broadcasts over the steps


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_elementwise_merges_match_numpy(name, rng):
    cls, ref = ELEMENTWISE[name]
    shapes = SHAPES[:2] if cls is L.Subtract else SHAPES
    inputs = [engine.Input(s) for s in shapes]
    out = cls()(inputs)
    assert out.shape == (None, 5, 3)
    data = [rng.standard_normal((4,) + s).astype(np.float32) for s in shapes]
    got = engine.Model(inputs, out).predict(data)
    assert_close(got, ref([x.astype(np.float64) for x in data]), 1e-6)
    # Called on arrays, and through the functional form.
    assert_close(cls()(data), got, 1e-7)
    assert_close(getattr(L, name.lower())(data), got, 1e-7)


DOTS = [  # (shape of x, shape of y, axes, normalize)
    ((6,), (6,), 1, False),
    ((6,), (6,), -1, True),
    ((4, 6), (5, 6), 2, False),
    ((4, 6), (5, 6), (2, 2), True),
    ((6, 4), (6, 5), 1, False),
    ((3, 6, 2), (5, 6), (2, 2), False),
    ((4, 6), (6,), (2, 1), False),
]


def dot_ref(x, y, axes, normalize):
    x, y = x.astype(np.float64), y.astype(np.float64)
    a, b = (axes, axes) if isinstance(axes, int) else axes
    a, b = a % x.ndim, b % y.ndim
    if normalize:
        x = x / np.maximum(np.linalg.norm(x, axis=a, keepdims=True), 1e-7)
        y = y / np.maximum(np.linalg.norm(y, axis=b, keepdims=True), 1e-7)
    out = np.stack([np.tensordot(xi, yi, axes=(a - 1, b - 1)) for xi, yi in zip(x, y)])
    return out.reshape(len(x), -1) if out.ndim == 1 else out


@pytest.mark.parametrize("case", range(len(DOTS)))
def test_dot_matches_numpy(case, rng):
    xs, ys, axes, normalize = DOTS[case]
    x, y = rng.standard_normal((3,) + xs).astype(np.float32), rng.standard_normal((3,) + ys).astype(np.float32)
    inputs = [engine.Input(xs), engine.Input(ys)]
    out = L.Dot(axes, normalize=normalize)(inputs)
    want = dot_ref(x, y, axes, normalize)
    assert out.shape == (None,) + want.shape[1:]
    assert_close(engine.Model(inputs, out).predict([x, y]), want, 1e-5)
    assert_close(L.dot([x, y], axes=axes, normalize=normalize), want, 1e-5)


@pytest.mark.parametrize("merge", ["Subtract", "Multiply", "Average", "Maximum", "Dot", "Concatenate"])
def test_merge_gradients_match_finite_differences(merge, rng):
    """Two Dense branches merged, then a loss: the weights' gradients against float64
    finite differences of the same model written in numpy."""
    x = rng.standard_normal((3, 4)).astype(np.float32)
    y_shape = (3, 1) if merge == "Dot" else (3, 10) if merge == "Concatenate" else (3, 5)
    y = rng.standard_normal(y_shape).astype(np.float32)
    layer = {"Dot": lambda: L.Dot(1, normalize=True), "Concatenate": L.Concatenate}.get(
        merge, getattr(L, merge))()
    inp = engine.Input((4,))
    first, second = L.Dense(5, activation="tanh"), L.Dense(5)
    model = engine.Model(inp, layer([first(inp), second(inp)]))
    model.compile(loss="mse", optimizer="sgd")
    weights = [w.numpy().astype(np.float64) for w in model.trainable_weights]

    def forward(k1, b1, k2, b2):
        a, b = np.tanh(x @ k1 + b1), x @ k2 + b2
        if merge == "Dot":
            return dot_ref(a, b, 1, True)
        if merge == "Concatenate":
            return np.concatenate([a, b], axis=-1)
        return ELEMENTWISE[merge][1]([a, b])

    _, grads = model.value_and_grad(x, y)
    numeric = numeric_grads(lambda *ws: np.mean((forward(*ws) - y) ** 2), weights, 1.0)
    for k, (got, want) in enumerate(zip(grads, numeric)):
        assert_close(got, want, 1e-4, what=f"{merge} weight {k}")


def mask_outputs(layer_fn, tokens_a, tokens_b, masked=(True, True)):
    """The merged output's mask (as an output of the model) for two embedded id inputs."""
    ids = [engine.Input((tokens_a.shape[1],), dtype="int64"), engine.Input((tokens_b.shape[1],), dtype="int64")]
    embedded = [L.Embedding(9, 3, mask_zero=m)(i) for m, i in zip(masked, ids)]
    merged = layer_fn(embedded)
    if merged._keras_mask is None:
        return None
    return engine.Model(ids, merged._keras_mask).predict([tokens_a, tokens_b])


A = np.array([[1, 2, 0, 0], [0, 3, 4, 5]])
B = np.array([[1, 0, 0, 0], [0, 0, 4, 0]])


def test_elementwise_merges_or_the_masks_when_every_input_has_one():
    for cls in (L.Add, L.Subtract, L.Multiply, L.Average, L.Maximum, L.Minimum):
        assert np.array_equal(mask_outputs(cls(), A, B), (A != 0) | (B != 0)), cls.__name__
        assert mask_outputs(cls(), A, B, masked=(True, False)) is None, cls.__name__


def test_concatenate_masks_follow_keras():
    # On the features: a step is kept where either input keeps it; an unmasked input keeps all.
    assert np.array_equal(mask_outputs(L.Concatenate(), A, B), (A != 0) | (B != 0))
    assert np.array_equal(mask_outputs(L.Concatenate(), A, B, masked=(True, False)), np.ones(A.shape, bool))
    # On the steps: the masks joined.
    c = np.array([[7, 0, 1], [0, 0, 2]])
    assert np.array_equal(mask_outputs(L.Concatenate(axis=1), A, c), np.concatenate([A, c], 1) != 0)
    assert np.array_equal(mask_outputs(L.Concatenate(axis=1), A, c, masked=(False, True)),
                          np.concatenate([np.ones(A.shape, bool), c != 0], 1))
    assert mask_outputs(L.Concatenate(), A, B, masked=(False, False)) is None


def test_dot_drops_the_mask():
    assert mask_outputs(L.Dot(2), A, B) is None


def test_merged_masks_reach_a_recurrent_layer(rng):
    """Add of two masked sequences feeds an LSTM the OR of their masks."""
    ids = [engine.Input((4,), dtype="int64"), engine.Input((4,), dtype="int64")]
    emb_a, emb_b = L.Embedding(9, 3, mask_zero=True), L.Embedding(9, 3, mask_zero=True)
    lstm = L.LSTM(2)
    merged = L.Add()([emb_a(ids[0]), emb_b(ids[1])])
    model = engine.Model(ids, lstm(merged))
    a, b = np.array([[1, 2, 0, 0], [3, 1, 2, 0]]), np.array([[2, 0, 1, 0], [1, 0, 0, 0]])
    explicit_in = engine.Input((4, 3))
    mask_in = engine.Input((4,), dtype="bool")
    explicit = engine.Model([explicit_in, mask_in], lstm(explicit_in, mask=mask_in))
    sums = emb_a.embeddings.numpy()[a] + emb_b.embeddings.numpy()[b]
    assert_close(model.predict([a, b]), explicit.predict([sums, (a != 0) | (b != 0)]), 1e-6)


def test_merge_layers_save_reload_and_export(rng, tmp_path):
    onnx = pytest.importorskip("onnx", reason="onnx is a test extra")
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is a test extra")
    a, b = engine.Input((4, 6)), engine.Input((5, 6))
    pa, pb = L.Dense(6)(a), L.Dense(6)(b)
    sims = L.Dot(axes=2, normalize=True)([pa, pb])  # [batch, 4, 5]
    pooled_b = L.GlobalAveragePooling1D()(pb)
    rows = [L.GlobalAveragePooling1D()(pa), pooled_b]
    mixed = L.Concatenate()([L.Average()(rows), L.Maximum()(rows), L.Minimum()(rows), L.Subtract()(rows),
                             L.Multiply()(rows), L.Add()(rows)])
    model = engine.Model([a, b], [sims, mixed])
    data = [rng.standard_normal((3, 4, 6)).astype(np.float32), rng.standard_normal((3, 5, 6)).astype(np.float32)]
    expected = model.predict(data)
    model.save(tmp_path / "merge.ckpt")
    for got, want in zip(engine.load_model(tmp_path / "merge.ckpt").predict(data), expected):
        assert np.array_equal(got, want)
    path = tmp_path / "merge.onnx"
    model.export_onnx(path)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for got, want in zip(session.run(None, {i.name: x for i, x in zip(session.get_inputs(), data)}), expected):
        assert_close(got, want, 1e-5)


def test_merges_reject_bad_inputs():
    x, y = engine.Input((4, 3)), engine.Input((4, 3))
    with pytest.raises(ValueError, match=r"subtract.*: needs exactly 2 inputs, got 3"):
        L.Subtract()([x, y, x])
    with pytest.raises(ValueError, match=r"maximum.*: needs at least 2 inputs, got 1"):
        L.Maximum()([x])
    with pytest.raises(ValueError, match=r"multiply.*: inputs of incompatible shapes"):
        L.Multiply()([x, engine.Input((5, 3))])
    with pytest.raises(ValueError, match=r"dot.*: axis 1 of \(None, 4, 3\) and axis 2 of \(None, 4, 3\) differ"):
        L.Dot((1, 2))([x, y])
    with pytest.raises(ValueError, match=r"dot.*: axis 0 is out of range .* \(the batch axis cannot be reduced\)"):
        L.Dot(0)([x, y])
    with pytest.raises(ValueError, match=r"dot.*: needs exactly 2 inputs"):
        L.Dot(1)([x, y, x])
    with pytest.raises(ValueError, match="^Dot: axes must be an int or a pair"):
        L.Dot((1, 2, 3))
