"""Keras 3 losses and metrics of masked predictions: when a model output carries a mask
(Embedding(mask_zero=True) -> LSTM(return_sequences=True) -> Dense, a sequence tagger), the
loss is taken per position of the mask over the output's last axis and only valid positions
count: sum(sample_weight * mask * loss) / sum(mask) per batch (Keras's "sum_over_batch_size"
with apply_mask); mean metrics (accuracies, mse, mae, functions) weigh positions by the mask
(times the sample weights for weighted metrics); RootMeanSquaredError and the confusion-count
metrics read no mask, as in Keras 3.

References are numpy float64 from the model's own predictions. The ids have padding at
different places in every row (trailing, leading, holes, a single token), and the targets at
padded steps are drawn far from the predictions, so that every check also fails when the
mask is ignored (each asserts that the unmasked value differs)."""
import numpy as np
import pytest

import engine
from engine import layers as L
from engine import ops
from helpers import assert_close

VOCAB, STEPS, CLASSES = 11, 7, 4
RTOL = 1e-5


def padded_ids(rng, batch=6):
    ids = rng.integers(1, VOCAB, size=(batch, STEPS)).astype(np.int64)
    ids[0, 5:] = 0         # trailing padding
    ids[1, :3] = 0         # leading padding
    ids[2, [1, 4]] = 0     # holes
    ids[3, 1:] = 0         # one token
    ids[4, ::2] = 0        # every other step
    ids[5, -1] = 0
    return ids[:batch]


def tagger(head_units, activation=None, time_distributed=False, seed=0):
    inp = engine.Input((STEPS,), dtype="int64")
    h = L.Embedding(VOCAB, 6, mask_zero=True)(inp)
    h = L.LSTM(5, return_sequences=True)(h)
    dense = L.Dense(head_units, activation=activation)
    out = (L.TimeDistributed(dense) if time_distributed else dense)(h)
    model = engine.Model(inp, out)
    rng = np.random.default_rng(seed)
    # Weights from `seed` alone, whatever the tests before drew.
    model.set_weights([rng.standard_normal(w.shape).astype(np.float32) * 0.5 for w in model.get_weights()])
    return model


# ---- numpy float64 per-position losses (the last axis reduced, as Keras's losses do) ----------

def _probs(p):
    return np.clip(p, 1e-7, 1 - 1e-7)


def mse(t, p):
    return np.mean((p - t) ** 2, axis=-1)


def mae(t, p):
    return np.mean(np.abs(p - t), axis=-1)


def huber(t, p, delta=1.0):
    x = np.abs(p - t)
    return np.mean(np.where(x <= delta, 0.5 * x ** 2, delta * x - 0.5 * delta ** 2), axis=-1)


def bce(t, p):
    q = _probs(p)
    return -np.mean(t * np.log(q) + (1 - t) * np.log(1 - q), axis=-1)


def bce_logits(t, z):
    return np.mean(np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z))), axis=-1)


def cce(t, p):
    return -np.sum(t * np.log(_probs(p / p.sum(-1, keepdims=True))), axis=-1)


def log_softmax(z):
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def cce_logits(t, z):
    return -np.sum(t * log_softmax(z), axis=-1)


def scce(t, p):
    return -np.log(np.take_along_axis(p, t[..., None], -1)[..., 0])


def scce_logits(t, z):
    return -np.take_along_axis(log_softmax(z), t[..., None], -1)[..., 0]


def cubed(t, p):
    return np.mean(np.abs(p - t) ** 3, axis=-1)


def masked_mean(values, mask, sample_weight=None):
    """Keras 3: sum(w * mask * loss) / sum(mask), a sample's weight on each of its positions."""
    w = np.ones(values.shape[0]) if sample_weight is None else np.asarray(sample_weight, np.float64)
    return float(np.sum(values * mask * w[:, None]) / mask.sum())


def plain_mean(values, sample_weight=None):
    w = np.ones(values.shape[0]) if sample_weight is None else np.asarray(sample_weight, np.float64)
    return float(np.sum(values.mean(axis=1) * w) / values.shape[0])


class CubedError(engine.losses.Loss):
    """A Loss subclass giving one value per position."""

    def call(self, y_true, y_pred):
        return ops.mean(ops.abs(y_pred - y_true) ** 3, axis=-1)


def scaled_squares(y_true, y_pred):
    """A loss function giving one value per element: its last axis is averaged."""
    return ops.square(y_true - y_pred) * 1.5


# name: (loss, head units, activation, reference, target kind)
CASES = {
    "mse": ("mse", 3, None, mse, "real"),
    "mae_class": (engine.losses.MeanAbsoluteError(), 3, None, mae, "real"),
    "huber": (engine.losses.Huber(delta=0.5), 2, None, lambda t, p: huber(t, p, 0.5), "real"),
    "binary_crossentropy": ("binary_crossentropy", 1, "sigmoid", bce, "binary"),
    "binary_crossentropy_logits": (engine.losses.BinaryCrossentropy(from_logits=True), 2, None, bce_logits,
                                   "binary"),
    "categorical_crossentropy": ("categorical_crossentropy", CLASSES, "softmax", cce, "onehot"),
    "categorical_crossentropy_probabilities": ("categorical_crossentropy", CLASSES, "relu", cce, "onehot"),
    "categorical_crossentropy_logits": (engine.losses.CategoricalCrossentropy(from_logits=True), CLASSES, None,
                                        cce_logits, "onehot"),
    "sparse_categorical_crossentropy": ("sparse_categorical_crossentropy", CLASSES, "softmax", scce, "labels"),
    "sparse_categorical_crossentropy_logits": (engine.losses.SparseCategoricalCrossentropy(from_logits=True),
                                               CLASSES, None, scce_logits, "labels"),
    "loss_subclass": (CubedError(), 3, None, cubed, "real"),
    "loss_function": (scaled_squares, 2, None, lambda t, p: 1.5 * mse(t, p), "real"),
}


def targets(rng, kind, shape, mask, p=None):
    """Targets whose padded steps are far from the predictions `p` there (from fixed values
    without p)."""
    n, steps, units = shape
    if kind in ("labels", "onehot"):
        labels = rng.integers(0, units, size=(n, steps))
        worst = np.full((n, steps), units - 1) if p is None else p.argmin(-1)
        labels = np.where(mask, labels, worst)
        return labels.astype(np.int64) if kind == "labels" else np.eye(units, dtype=np.float32)[labels]
    if kind == "binary":
        y = rng.integers(0, 2, size=shape).astype(np.float32)
        worst = 1.0 if p is None else (p < 0.5).astype(np.float32)
        return np.where(mask[..., None], y, worst).astype(np.float32)
    y = rng.standard_normal(shape).astype(np.float32)
    return np.where(mask[..., None], y, 5.0 if p is None else p + 5.0).astype(np.float32)


def make_case(name, rng):
    loss, units, activation, reference, kind = CASES[name]
    model = tagger(units, activation)
    model.compile(loss=loss, optimizer="sgd")
    ids = padded_ids(rng)
    mask = ids != 0
    if name == "categorical_crossentropy_probabilities":  # non-negative scores, normalised by the loss
        model.set_weights([w if w.ndim != 1 or w.shape[0] != units else w + 1.0 for w in model.get_weights()])
    p = model.predict(ids)
    if activation is None and kind == "binary":
        p = 1 / (1 + np.exp(-p))  # logits
    y = targets(rng, kind, (ids.shape[0], STEPS, units), mask, p)
    return model, ids, mask, y, reference


@pytest.mark.parametrize("name", list(CASES))
def test_evaluate_and_test_on_batch_give_the_mean_over_valid_positions(name, rng):
    model, ids, mask, y, reference = make_case(name, rng)
    values = reference(y, model.predict(ids).astype(np.float64))
    want = masked_mean(values, mask)
    assert abs(want - plain_mean(values)) > 100 * RTOL * abs(want)  # the mask matters here
    assert_close(model.evaluate(ids, y, batch_size=len(ids), verbose=0), want, RTOL)
    assert_close(model.test_on_batch(ids, y), want, RTOL)
    sw = rng.uniform(0.2, 2.0, size=len(ids)).astype(np.float32)
    weighted = masked_mean(values, mask, sw)
    assert abs(weighted - want) > 100 * RTOL * abs(want)
    assert_close(model.evaluate(ids, y, sample_weight=sw, batch_size=len(ids), verbose=0), weighted, RTOL)


@pytest.mark.parametrize("name", ["mse", "sparse_categorical_crossentropy", "loss_function"])
def test_train_on_batch_reports_the_masked_loss_and_value_and_grad_ignores_padded_targets(name, rng):
    model, ids, mask, y, reference = make_case(name, rng)
    values = reference(y, model.predict(ids).astype(np.float64))
    sw = rng.uniform(0.2, 2.0, size=len(ids)).astype(np.float32)
    loss, grads = model.value_and_grad(ids, y, sample_weight=sw)
    assert_close(loss, masked_mean(values, mask, sw), RTOL)
    # Other targets at the padded steps: the same loss and gradients, bit for bit.
    other = targets(rng, CASES[name][4], (len(ids), STEPS, CASES[name][1]), ~mask)
    other = np.where(mask if other.ndim == 2 else mask[..., None], y, other)
    assert not np.array_equal(other, y)
    loss2, grads2 = model.value_and_grad(ids, other, sample_weight=sw)
    assert loss2 == loss
    for a, b in zip(grads, grads2):
        assert np.array_equal(a, b)
    assert_close(model.train_on_batch(ids, y, sample_weight=sw), masked_mean(values, mask, sw), RTOL)


def test_evaluate_over_several_batches_weighs_each_batch_by_its_samples(rng):
    """Keras's loss over batches: each batch's masked mean, weighted by its number of samples."""
    model, ids, mask, y, reference = make_case("mse", rng)
    values = reference(y, model.predict(ids).astype(np.float64))
    first, second = masked_mean(values[:4], mask[:4]), masked_mean(values[4:], mask[4:])
    assert_close(model.evaluate(ids, y, batch_size=4, verbose=0), (4 * first + 2 * second) / 6, RTOL)


def test_accuracies_weigh_positions_by_the_mask_as_keras_does(rng):
    model = tagger(CLASSES, "softmax")
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd", metrics=["accuracy"],
                  weighted_metrics=["accuracy"])
    ids = padded_ids(rng)
    mask = ids != 0
    labels = targets(rng, "labels", (len(ids), STEPS, CLASSES), mask)
    p = model.predict(ids).astype(np.float64)
    # Predictions right on most valid steps and wrong on every padded one.
    labels = np.where(mask & (rng.uniform(size=mask.shape) < 0.7), p.argmax(-1), labels)
    labels = np.where(~mask, (p.argmax(-1) + 1) % CLASSES, labels)
    sw = rng.uniform(0.2, 2.0, size=len(ids)).astype(np.float32)
    logs = model.evaluate(ids, labels, sample_weight=sw, batch_size=len(ids), verbose=0, return_dict=True)
    hit = (p.argmax(-1) == labels).astype(np.float64)
    w = mask * sw[:, None].astype(np.float64)
    assert_close(logs["accuracy"], np.sum(hit * mask) / mask.sum(), 1e-12)
    assert_close(logs["weighted_accuracy"], np.sum(hit * w) / w.sum(), 1e-12)
    assert abs(logs["accuracy"] - hit.mean()) > 0.05
    assert abs(logs["weighted_accuracy"] - logs["accuracy"]) > 1e-3


def test_mean_metrics_weigh_positions_by_the_mask_and_the_others_do_not(rng):
    """mse, mae and metric functions are Keras MeanMetricWrappers, which read the mask;
    Keras 3's RootMeanSquaredError and Precision do not."""
    model = tagger(3)
    model.compile(loss="mse", optimizer="sgd",
                  metrics=["mse", "mae", engine.metrics.RootMeanSquaredError(name="rmse"),
                           engine.metrics.Precision(thresholds=0.0, name="prec"),
                           lambda t, p: (np.asarray(t) > 0).astype(np.float64)])
    ids = padded_ids(rng)
    mask = ids != 0
    y = targets(rng, "real", (len(ids), STEPS, 3), mask)
    p = model.predict(ids).astype(np.float64)
    logs = model.evaluate(ids, y, batch_size=len(ids), verbose=0, return_dict=True)
    sq = ((p - y) ** 2).mean(-1)
    assert_close(logs["mse"], masked_mean(sq, mask), 1e-6)
    assert_close(logs["mse"], logs["loss"], RTOL)
    assert_close(logs["mae"], masked_mean(np.abs(p - y).mean(-1), mask), 1e-6)
    assert abs(logs["mse"] - sq.mean()) > 0.1 * logs["mse"]
    assert_close(logs["rmse"], np.sqrt(sq.mean()), 1e-6)
    positive, truth = p > 0.0, y != 0
    assert 0 < positive.sum() < positive.size
    assert_close(logs["prec"], np.sum(positive & truth) / np.sum(positive), 1e-6)
    assert_close(logs["<lambda>"], masked_mean((y > 0).mean(-1), mask), 1e-12)


def test_fit_is_blind_to_the_targets_of_padded_steps(rng):
    """Two datasets that differ only in the targets of padded steps train to the same weights
    (and report the same losses); changing one valid target changes them."""
    ids = padded_ids(rng)
    mask = ids != 0
    y = targets(rng, "labels", (len(ids), STEPS, CLASSES), mask)
    noisy = np.where(mask, y, rng.integers(0, CLASSES, size=y.shape))
    assert not np.array_equal(noisy, y)
    changed = y.copy()
    changed[0, 0] = (changed[0, 0] + 1) % CLASSES
    runs, start = [], None
    for labels in (y, noisy, changed):
        model = tagger(CLASSES, "softmax", seed=3)
        start = model.get_weights() if start is None else start
        model.set_weights(start)
        model.compile(loss="sparse_categorical_crossentropy", optimizer=engine.optimizers.Adam(0.05),
                      metrics=["accuracy"])
        history = model.fit(ids, labels, epochs=4, batch_size=3, shuffle=False, verbose=0)
        runs.append((history.history, model.get_weights()))
    (h0, w0), (h1, w1), (h2, w2) = runs
    assert h0 == h1
    assert all(np.array_equal(a, b) for a, b in zip(w0, w1))
    assert h0["loss"] != h2["loss"]
    assert not all(np.array_equal(a, b) for a, b in zip(w0, w2))


def test_one_sgd_step_follows_the_gradient_of_the_masked_mean(rng):
    """Embedding(mask_zero) -> Dense: the mask reaches the output, and one SGD step moves the
    weights by the numpy float64 gradient of the masked mean squared error."""
    inp = engine.Input((STEPS,), dtype="int64")
    emb, dense = L.Embedding(VOCAB, 5, mask_zero=True), L.Dense(3)
    model = engine.Model(inp, dense(emb(inp)))
    lr = 0.1
    model.compile(loss="mse", optimizer=engine.optimizers.SGD(learning_rate=lr))
    ids = padded_ids(rng)
    mask = (ids != 0).astype(np.float64)
    y = targets(rng, "real", (len(ids), STEPS, 3), ids != 0)
    sw = rng.uniform(0.2, 2.0, size=len(ids))
    table, kernel, bias = [w.astype(np.float64) for w in model.get_weights()]
    e = table[ids]
    p = e @ kernel + bias
    # loss = sum_{n,t} sw_n m_nt mean_f (p - y)^2 / sum(m)
    dp = 2 * (p - y) / 3 * (sw[:, None] * mask)[..., None] / mask.sum()
    want_kernel = kernel - lr * np.einsum("nte,ntf->ef", e, dp)
    want_bias = bias - lr * dp.sum(axis=(0, 1))
    de = dp @ kernel.T
    dtable = np.zeros_like(table)
    np.add.at(dtable, ids, de)
    loss = model.train_on_batch(ids, y, sample_weight=sw.astype(np.float32))
    assert_close(loss, masked_mean(((p - y) ** 2).mean(-1), mask, sw), RTOL)
    new_table, new_kernel, new_bias = model.get_weights()
    assert_close(new_kernel, want_kernel, RTOL)
    assert_close(new_bias, want_bias, RTOL)
    assert_close(new_table, table - lr * dtable, RTOL)
    # Padded steps move nothing through the mask: row 0 of the table (the padding id) keeps its
    # gradient 0 from them.
    assert np.array_equal(new_table[0], table[0].astype(np.float32))


def test_time_distributed_heads_and_subclassed_models_mask_their_losses(rng):
    ids = padded_ids(rng)
    mask = ids != 0
    model = tagger(3, time_distributed=True)
    model.compile(loss="mae", optimizer="sgd")
    y = targets(rng, "real", (len(ids), STEPS, 3), mask)
    assert_close(model.evaluate(ids, y, batch_size=len(ids), verbose=0),
                 masked_mean(mae(y, model.predict(ids).astype(np.float64)), mask), RTOL)

    class Tagger(engine.Model):
        def __init__(self):
            super().__init__()
            self.emb = L.Embedding(VOCAB, 6, mask_zero=True)
            self.rnn = L.GRU(4, return_sequences=True)
            self.out = L.Dense(CLASSES, activation="softmax")

        def call(self, x):
            return self.out(self.rnn(self.emb(x)))

    sub = Tagger()
    sub.compile(loss="sparse_categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    labels = targets(rng, "labels", (len(ids), STEPS, CLASSES), mask)
    logs = sub.evaluate(ids, labels, batch_size=len(ids), verbose=0, return_dict=True)
    p = sub.predict(ids).astype(np.float64)
    assert_close(logs["loss"], masked_mean(scce(labels, p), mask), RTOL)
    assert_close(logs["accuracy"], np.sum((p.argmax(-1) == labels) * mask) / mask.sum(), 1e-12)


def test_masks_from_a_nested_model_and_masks_per_sample(rng):
    """The mask of an output can come out of a model called inside (an encoder); a layer's
    compute_mask may also give one value per sample ([N] for an [N, F] output)."""
    ids = padded_ids(rng)
    mask = ids != 0
    inner_in = engine.Input((STEPS,), dtype="int64")
    encoder = engine.Model(inner_in, L.LSTM(5, return_sequences=True)(L.Embedding(VOCAB, 6, mask_zero=True)(inner_in)))
    outer_in = engine.Input((STEPS,), dtype="int64")
    model = engine.Model(outer_in, L.Dense(3)(encoder(outer_in)))
    assert model.outputs[0]._keras_mask is not None
    model.compile(loss="mse", optimizer="sgd", metrics=["mae"])
    y = targets(rng, "real", (len(ids), STEPS, 3), mask, model.predict(ids))
    p = model.predict(ids).astype(np.float64)
    logs = model.evaluate(ids, y, batch_size=len(ids), verbose=0, return_dict=True)
    assert_close(logs["loss"], masked_mean(mse(y, p), mask), RTOL)
    assert_close(logs["mae"], masked_mean(mae(y, p), mask), 1e-6)

    class PositiveRows(L.Layer):
        def call(self, x):
            return x

        def compute_mask(self, x, mask=None):
            return ops.greater(ops.sum(x, axis=-1), 0.0)

    inp = engine.Input((4,))
    model = engine.Model(inp, L.Dense(3)(PositiveRows()(inp)))
    model.compile(loss="mse", optimizer="sgd")
    x = rng.standard_normal((9, 4)).astype(np.float32)
    rows = x.sum(-1) > 0
    y = rng.standard_normal((9, 3)).astype(np.float32)
    values = mse(y, model.predict(x).astype(np.float64))
    want = float(np.sum(values * rows) / rows.sum())
    assert abs(want - values.mean()) > 1e-3 * want
    assert_close(model.evaluate(x, y, batch_size=9, verbose=0), want, RTOL)


def test_a_mask_given_as_a_model_input(rng):
    """mask= from a bool input: the output carries the input itself as its mask."""
    x_in, m_in = engine.Input((STEPS, 3)), engine.Input((STEPS,), dtype="bool")
    model = engine.Model([x_in, m_in], L.Dense(2)(L.LSTM(4, return_sequences=True)(x_in, mask=m_in)))
    model.compile(loss="mae", optimizer="sgd", metrics=["mse"])
    x = rng.standard_normal((5, STEPS, 3)).astype(np.float32)
    mask = rng.uniform(size=(5, STEPS)) < 0.6
    mask[:, 0] = True
    y = rng.standard_normal((5, STEPS, 2)).astype(np.float32)
    p = model.predict([x, mask]).astype(np.float64)
    logs = model.evaluate([x, mask], y, batch_size=5, verbose=0, return_dict=True)
    assert_close(logs["loss"], masked_mean(mae(y, p), mask), RTOL)
    assert_close(logs["mse"], masked_mean(mse(y, p), mask), 1e-6)


def test_a_masked_and_an_unmasked_output_each_get_their_own_rule(rng):
    inp = engine.Input((STEPS,), dtype="int64")
    seq = L.LSTM(5, return_sequences=True)(L.Embedding(VOCAB, 6, mask_zero=True)(inp))
    tags = L.Dense(2, name="tags")(seq)
    label = L.Dense(1, activation="sigmoid", name="label")(L.GlobalAveragePooling1D()(seq))
    model = engine.Model(inp, [tags, label])
    model.compile(loss={"tags": "mse", "label": "binary_crossentropy"}, loss_weights={"tags": 1.0, "label": 0.5},
                  optimizer="sgd", metrics={"tags": ["mae"]})
    ids = padded_ids(rng)
    mask = ids != 0
    y_tags = targets(rng, "real", (len(ids), STEPS, 2), mask)
    y_label = rng.integers(0, 2, size=(len(ids), 1)).astype(np.float32)
    p_tags, p_label = [p.astype(np.float64) for p in model.predict(ids)]
    tags_loss = masked_mean(mse(y_tags, p_tags), mask)
    label_loss = float(np.mean(bce(y_label, p_label)))
    logs = model.evaluate(ids, [y_tags, y_label], batch_size=len(ids), verbose=0, return_dict=True)
    assert_close(logs["tags_loss"], tags_loss, RTOL)
    assert_close(logs["label_loss"], label_loss, RTOL)
    assert_close(logs["loss"], tags_loss + 0.5 * label_loss, RTOL)
    assert_close(logs["tags_mae"], masked_mean(mae(y_tags, p_tags), mask), 1e-6)


class _Carrying(np.ndarray):
    """An array carrying a mask as Keras tensors do."""


def test_calling_a_loss_on_a_prediction_that_carries_a_mask(rng):
    """Custom loops: Loss.__call__ reads y_pred._keras_mask, as Keras 3's does."""
    mask = rng.uniform(size=(4, 5)) < 0.6
    mask[0] = False
    p = rng.uniform(0.05, 0.95, size=(4, 5, 3))
    p = (p / p.sum(-1, keepdims=True)).astype(np.float32)  # probabilities, for the cross-entropy
    y = rng.uniform(size=(4, 5, 3)).astype(np.float32)
    labels = rng.integers(0, 3, size=(4, 5))
    sw = rng.uniform(0.2, 2.0, size=4)
    carrying = p.view(_Carrying)
    carrying._keras_mask = mask
    for loss, target, reference in [(engine.losses.MeanSquaredError(), y, mse), (CubedError(), y, cubed),
                                    (engine.losses.LossFunctionWrapper(scaled_squares), y,
                                     lambda t, q: 1.5 * mse(t, q)),
                                    (engine.losses.SparseCategoricalCrossentropy(), labels, scce)]:
        values = reference(target, p.astype(np.float64))
        assert_close(loss(target, carrying), masked_mean(values, mask), RTOL)
        assert_close(loss(target, carrying, sample_weight=sw), masked_mean(values, mask, sw), RTOL)
        if target is y:  # a plain array: no mask
            assert_close(loss(target, p), plain_mean(values), RTOL)
    carrying._keras_mask = np.zeros((4, 5), bool)
    assert engine.losses.MeanSquaredError()(y, carrying) == 0.0  # nothing valid: 0, as Keras


def test_a_batch_with_no_valid_position_has_loss_zero(rng):
    model = tagger(3)
    model.compile(loss="mse", optimizer="sgd")
    ids = np.zeros((2, STEPS), np.int64)
    before = model.get_weights()
    assert model.train_on_batch(ids, np.ones((2, STEPS, 3), np.float32)) == 0.0
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_losses_that_cannot_follow_the_mask_are_clear_errors(rng):
    model = tagger(3)
    model.compile(loss=lambda t, p: ops.mean(ops.square(t - p), axis=[1, 2]), optimizer="sgd")
    ids = padded_ids(rng)
    with pytest.raises(ValueError, match="mask"):
        model.evaluate(ids, np.zeros((len(ids), STEPS, 3), np.float32), verbose=0)


def test_unmasked_outputs_keep_their_training_graph(rng):
    """No mask on the output (the LSTM returns its last state), or none anywhere: the loss is
    the per-sample node and the weighted sum, with no mask nodes."""
    for mask_zero in (True, False):
        inp = engine.Input((STEPS,), dtype="int64")
        h = L.LSTM(5)(L.Embedding(VOCAB, 6, mask_zero=mask_zero)(inp))
        model = engine.Model(inp, L.Dense(CLASSES, activation="softmax")(h))
        model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
        b = model._build_training_graph()[0]
        assert not any("/mask" in n["name"] for n in b.nodes)
        assert [n["op_type"] for n in b.nodes[-3:]] == ["SoftmaxCrossEntropy", "MatMul", "Identity"]
        assert len(b.outputs) == 2  # the output and the loss


# --- sequence outputs without a mask: the classes on the last axis --------------------------
def _sequence_model(last, seed=0, vocab=7, steps=9):
    engine.set_seed(seed)
    return engine.Sequential([engine.Input((steps,), dtype="int64"), L.Embedding(vocab, 8),
                              L.GRU(12, return_sequences=True), *last])


@pytest.mark.parametrize("case", ["sparse", "categorical", "sparse_logits", "time_distributed",
                                  "time_distributed_logits", "softmax_layer"])
def test_unmasked_sequence_cross_entropy_takes_the_last_axis(case, rng):
    """A character model or tagger without a mask (GRU(return_sequences) -> Dense(softmax),
    sparse labels [N, T]): Keras takes the classes on the last axis and averages the loss over
    every position of every sample, weighted per sample."""
    vocab, n, steps = 7, 10, 9
    x = rng.integers(0, vocab, (n, steps))
    y = rng.integers(0, vocab, (n, steps))
    sw = rng.uniform(0.2, 2.0, n).astype(np.float32)
    last = {"sparse": [L.Dense(vocab, activation="softmax")],
            "categorical": [L.Dense(vocab, activation="softmax")],
            "sparse_logits": [L.Dense(vocab)],
            "time_distributed": [L.TimeDistributed(L.Dense(vocab, activation="softmax"))],
            "time_distributed_logits": [L.TimeDistributed(L.Dense(vocab))],
            "softmax_layer": [L.Dense(vocab), L.Softmax()]}[case]
    model = _sequence_model(last)
    loss = {"categorical": "categorical_crossentropy",
            "sparse_logits": engine.losses.SparseCategoricalCrossentropy(from_logits=True),
            "time_distributed_logits": engine.losses.SparseCategoricalCrossentropy(from_logits=True)}.get(
        case, "sparse_categorical_crossentropy")
    model.compile(loss=loss, optimizer="sgd", metrics=["accuracy"])
    target = np.eye(vocab, dtype=np.float32)[y] if case == "categorical" else y
    out = model.predict(x, verbose=0).astype(np.float64)
    log_p = out - np.log(np.exp(out).sum(-1, keepdims=True)) if "logits" in case else np.log(out)
    per_position = -np.take_along_axis(log_p, y[..., None], -1)[..., 0]
    got, accuracy = model.evaluate(x, target, sample_weight=sw, verbose=0)
    assert_close(got, (per_position.mean(axis=1) * sw).sum() / n, 1e-5)
    assert_close(accuracy, (out.argmax(-1) == y).mean(), 1e-6)
    history = model.fit(x, target, epochs=2, verbose=0).history["loss"]
    assert np.all(np.isfinite(history))


def test_convolution_outputs_keep_the_classes_on_axis_1(rng):
    """NCHW: a convolution's per-pixel classes are on axis 1, with labels [N, H, W]."""
    engine.set_seed(0)
    model = engine.Sequential([engine.Input((3, 5, 6)), L.Conv2D(4, 3, padding="same")])
    model.compile(loss=engine.losses.SparseCategoricalCrossentropy(from_logits=True), optimizer="sgd")
    x = rng.standard_normal((4, 3, 5, 6)).astype(np.float32)
    y = rng.integers(0, 4, (4, 5, 6))
    out = model.predict(x, verbose=0).astype(np.float64)
    log_p = out - np.log(np.exp(out).sum(1, keepdims=True))
    want = -np.take_along_axis(log_p, y[:, None], 1).mean()
    assert_close(model.evaluate(x, y, verbose=0), want, 1e-5)
