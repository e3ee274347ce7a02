"""Streaming metrics: fed in uneven batches (with sample weights), compared with a direct
float64 numpy computation over all the data at once."""
import numpy as np
import pytest

from engine import metrics

BATCHES = (7, 13, 1, 33, 21)   # uneven batch sizes, 75 samples in all
N = sum(BATCHES)


def feed(metric, *arrays, sample_weight=None):
    """Updates ``metric`` batch by batch and returns its result."""
    metric.reset_state()
    start = 0
    for size in BATCHES:
        part = [a[start:start + size] for a in arrays]
        w = None if sample_weight is None else sample_weight[start:start + size]
        metric.update_state(*part, sample_weight=w)
        start += size
    return metric.result()


def weights(rng, shape=(N,)):
    return rng.uniform(0.1, 2.0, shape)


def classification_data(rng, classes=7):
    logits = rng.standard_normal((N, classes))
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    labels = rng.integers(0, classes, N)
    # Make about half the predictions right so that accuracy is far from 0 and 1.
    right = rng.random(N) < 0.5
    probs[right, labels[right]] += 1.0
    return labels, probs.astype(np.float32)


@pytest.mark.parametrize("weighted", [False, True], ids=["plain", "weighted"])
def test_sparse_and_categorical_accuracy(rng, weighted):
    labels, probs = classification_data(rng)
    w = weights(rng) if weighted else np.ones(N)
    expected = np.sum(w * (probs.argmax(1) == labels)) / np.sum(w)
    sw = w if weighted else None
    assert feed(metrics.SparseCategoricalAccuracy(), labels, probs, sample_weight=sw) == \
        pytest.approx(expected, rel=1e-12)
    # Labels shaped [N, 1] mean the same.
    assert feed(metrics.SparseCategoricalAccuracy(), labels[:, None], probs, sample_weight=sw) == \
        pytest.approx(expected, rel=1e-12)
    one_hot = np.eye(probs.shape[1])[labels]
    assert feed(metrics.CategoricalAccuracy(), one_hot, probs, sample_weight=sw) == \
        pytest.approx(expected, rel=1e-12)


def test_accuracy_is_not_a_mean_of_batch_means():
    labels, probs = classification_data(np.random.default_rng(7))   # data where they differ
    m = metrics.SparseCategoricalAccuracy()
    batch_means = []
    start = 0
    for size in BATCHES:
        part = slice(start, start + size)
        m.update_state(labels[part], probs[part])
        batch_means.append(np.mean(probs[part].argmax(1) == labels[part]))
        start += size
    exact = np.mean(probs.argmax(1) == labels)
    assert m.result() == pytest.approx(exact, rel=1e-12)
    assert abs(np.mean(batch_means) - exact) > 1e-3   # the data really tell the two apart


@pytest.mark.parametrize("shape", [(N,), (N, 1), (N, 5)], ids=str)
@pytest.mark.parametrize("weighted", [False, True], ids=["plain", "weighted"])
def test_binary_accuracy_and_accuracy(rng, shape, weighted):
    y_true = (rng.random(shape) < 0.4).astype(np.float32)
    y_pred = rng.random(shape).astype(np.float32)
    w = weights(rng) if weighted else np.ones(N)
    per_sample = lambda hits: hits.reshape(N, -1).mean(1)
    for threshold in (0.5, 0.3):
        hits = per_sample(y_true == (y_pred > threshold))
        got = feed(metrics.BinaryAccuracy(threshold=threshold), y_true, y_pred,
                   sample_weight=w if weighted else None)
        assert got == pytest.approx(np.sum(w * hits) / np.sum(w), rel=1e-12)
    ints_true, ints_pred = rng.integers(0, 3, shape), rng.integers(0, 3, shape)
    hits = per_sample(ints_true == ints_pred)
    got = feed(metrics.Accuracy(), ints_true, ints_pred, sample_weight=w if weighted else None)
    assert got == pytest.approx(np.sum(w * hits) / np.sum(w), rel=1e-12)


@pytest.mark.parametrize("shape", [(N,), (N, 1), (N, 3), (N, 2, 3)], ids=str)
@pytest.mark.parametrize("weighted", [False, True], ids=["plain", "weighted"])
def test_regression_metrics(rng, shape, weighted):
    y_true = rng.standard_normal(shape)
    y_pred = (y_true + rng.standard_normal(shape) * rng.uniform(0.1, 3, N).reshape(
        (N,) + (1,) * (len(shape) - 1))).astype(np.float32)
    w = weights(rng) if weighted else np.ones(N)
    err = y_pred.astype(np.float64) - y_true
    mae = np.sum(w * np.abs(err).reshape(N, -1).mean(1)) / np.sum(w)
    mse = np.sum(w * np.square(err).reshape(N, -1).mean(1)) / np.sum(w)
    sw = w if weighted else None
    assert feed(metrics.MeanAbsoluteError(), y_true, y_pred, sample_weight=sw) == \
        pytest.approx(mae, rel=1e-12)
    assert feed(metrics.MeanSquaredError(), y_true, y_pred, sample_weight=sw) == \
        pytest.approx(mse, rel=1e-12)
    assert feed(metrics.RootMeanSquaredError(), y_true, y_pred, sample_weight=sw) == \
        pytest.approx(np.sqrt(mse), rel=1e-12)


def test_per_element_sample_weights(rng):
    # Weights shaped like the values: each sample counts with its mean weight (Keras).
    y_true, y_pred = rng.standard_normal((N, 3)), rng.standard_normal((N, 3))
    w = weights(rng, (N, 3))
    got = feed(metrics.MeanAbsoluteError(), y_true, y_pred, sample_weight=w)
    expected = np.sum((w * np.abs(y_pred - y_true)).mean(1)) / np.sum(w.mean(1))
    assert got == pytest.approx(expected, rel=1e-12)


def test_mean(rng):
    values, w = rng.standard_normal(N), weights(rng)
    assert feed(metrics.Mean(), values) == pytest.approx(values.mean(), rel=1e-12)
    assert feed(metrics.Mean(), values, sample_weight=w) == \
        pytest.approx(np.sum(w * values) / np.sum(w), rel=1e-12)
    m = metrics.Mean(name="loss")
    for v, count in ((2.0, 3), (5.0, 1)):   # scalar batch losses weighted by batch size
        m.update_state(v, sample_weight=count)
    assert m.name == "loss" and m.result() == pytest.approx((2 * 3 + 5) / 4)
    m.reset_state()
    assert m.result() == 0.0
    m.update_state(1.5)
    m.update_state(2.5)
    assert m.result() == pytest.approx(2.0)


@pytest.mark.parametrize("thresholds", [0.5, 0.27, [0.2, 0.5, 0.8]], ids=str)
@pytest.mark.parametrize("weighted", [False, True], ids=["plain", "weighted"])
def test_precision_recall(rng, thresholds, weighted):
    y_true = (rng.random((N, 3)) < 0.4).astype(np.int64)
    y_pred = rng.random((N, 3)).astype(np.float32)
    y_pred[rng.random((N, 3)) < 0.1] = 0.5                  # exactly on the default threshold
    w = weights(rng) if weighted else np.ones(N)
    sw = w if weighted else None
    p = feed(metrics.Precision(thresholds=thresholds), y_true, y_pred, sample_weight=sw)
    r = feed(metrics.Recall(thresholds=thresholds), y_true, y_pred, sample_weight=sw)
    ew = np.broadcast_to(w[:, None], (N, 3))
    exp_p, exp_r = [], []
    for t in np.atleast_1d(thresholds):
        predicted = y_pred > t
        tp = np.sum(ew * (predicted & (y_true == 1)))
        exp_p.append(tp / np.sum(ew * predicted))
        exp_r.append(tp / np.sum(ew * (y_true == 1)))
    if np.ndim(thresholds) == 0:
        assert isinstance(p, float) and isinstance(r, float)
        exp_p, exp_r = exp_p[0], exp_r[0]
    np.testing.assert_allclose(p, exp_p, rtol=1e-12)
    np.testing.assert_allclose(r, exp_r, rtol=1e-12)


def test_precision_recall_class_id_and_empty(rng):
    y_true = (rng.random((N, 4)) < 0.5).astype(np.float32)
    y_pred = rng.random((N, 4))
    tp = np.sum((y_pred[:, 2] > 0.5) & (y_true[:, 2] == 1))
    assert feed(metrics.Precision(class_id=2), y_true, y_pred) == \
        pytest.approx(tp / np.sum(y_pred[:, 2] > 0.5), rel=1e-12)
    assert feed(metrics.Recall(class_id=2), y_true, y_pred) == \
        pytest.approx(tp / np.sum(y_true[:, 2] == 1), rel=1e-12)
    # No predicted or actual positives yet: 0, not NaN (Keras's divide_no_nan).
    assert metrics.Precision().result() == 0.0
    m = metrics.Recall()
    m.update_state(np.zeros(5), np.ones(5))
    assert m.result() == 0.0


def mann_whitney_auc(y_true, score, w):
    """Exact weighted ROC AUC: P(score_pos > score_neg) + 0.5 P(tie)."""
    pos, neg = y_true == 1, y_true == 0
    diff = score[pos][:, None] - score[neg][None, :]
    pair_w = w[pos][:, None] * w[neg][None, :]
    return np.sum(pair_w * ((diff > 0) + 0.5 * (diff == 0))) / np.sum(pair_w)


@pytest.mark.parametrize("num_thresholds", [200, 11])
@pytest.mark.parametrize("weighted", [False, True], ids=["plain", "weighted"])
def test_roc_auc_is_exact_when_thresholds_separate_the_scores(rng, num_thresholds, weighted):
    # Scores in the middle of the threshold intervals (with ties) give the thresholded ROC
    # curve every corner of the exact one, so the trapezoid area equals the exact AUC.
    t = num_thresholds
    y_true = (rng.random(N) < 0.4).astype(np.float32)
    bins = np.clip(np.round(rng.normal(0.4 + 0.3 * y_true, 0.25) * (t - 1) - 0.5), 0, t - 2)
    score = ((bins + 0.5) / (t - 1)).astype(np.float32)
    w = weights(rng) if weighted else np.ones(N)
    got = feed(metrics.AUC(num_thresholds=t), y_true, score, sample_weight=w if weighted else None)
    assert got == pytest.approx(mann_whitney_auc(y_true, score.astype(np.float64), w), rel=1e-10)


def keras_auc_reference(y_true, y_pred, w, num_thresholds, curve, summation):
    """Keras's AUC written out loop by loop: one comparison per threshold, then the area."""
    eps = 1e-7
    thresholds = [0.0 - eps] + [(i + 1) / (num_thresholds - 1)
                                for i in range(num_thresholds - 2)] + [1.0 + eps]
    tp, fp, fn, tn = (np.zeros(num_thresholds) for _ in range(4))
    for j, thr in enumerate(thresholds):
        pred = y_pred > thr
        tp[j] = np.sum(w * y_true * pred)
        fp[j] = np.sum(w * (1 - y_true) * pred)
        fn[j] = np.sum(w * y_true * ~pred)
        tn[j] = np.sum(w * (1 - y_true) * ~pred)
    ratio = lambda a, b: a / b if b != 0 else 0.0
    total = 0.0
    for i in range(num_thresholds - 1):
        if curve == "PR" and summation == "interpolation":
            dtp = tp[i] - tp[i + 1]
            p0, p1 = tp[i] + fp[i], tp[i + 1] + fp[i + 1]
            slope = ratio(dtp, max(p0 - p1, 0.0))
            intercept = tp[i + 1] - slope * p1
            log_ratio = np.log(p0 / p1) if p0 > 0 and p1 > 0 else 0.0
            total += ratio(slope * (dtp + intercept * log_ratio), tp[i + 1] + fn[i + 1])
            continue
        if curve == "ROC":
            x = [ratio(fp[k], fp[k] + tn[k]) for k in (i, i + 1)]
            y = [ratio(tp[k], tp[k] + fn[k]) for k in (i, i + 1)]
        else:
            x = [ratio(tp[k], tp[k] + fn[k]) for k in (i, i + 1)]
            y = [ratio(tp[k], tp[k] + fp[k]) for k in (i, i + 1)]
        height = {"interpolation": (y[0] + y[1]) / 2, "minoring": min(y),
                  "majoring": max(y)}[summation]
        total += (x[0] - x[1]) * height
    return total


@pytest.mark.parametrize("curve, summation", [("ROC", "interpolation"), ("ROC", "minoring"),
                                              ("PR", "interpolation"), ("PR", "majoring")])
@pytest.mark.parametrize("num_thresholds", [200, 13])
def test_auc_matches_keras_formula(rng, curve, summation, num_thresholds):
    y_true = (rng.random((N, 2)) < 0.35).astype(np.float64)
    y_pred = np.clip(rng.normal(0.35 + 0.3 * y_true, 0.2), 0, 1)
    y_pred[:3] = [[0.0, 1.0], [0.5, 1.0], [0.0, 0.25]]      # the ends of the range and ties
    w = weights(rng)
    got = feed(metrics.AUC(num_thresholds=num_thresholds, curve=curve, summation_method=summation),
               y_true, y_pred, sample_weight=w)
    expected = keras_auc_reference(y_true, y_pred, w[:, None], num_thresholds, curve, summation)
    assert got == pytest.approx(expected, rel=1e-10)
    assert 0.5 < got <= 1.0


def test_auc_edge_cases(rng):
    y = np.array([0, 0, 1, 1, 0, 1], np.float32)
    perfect = np.array([0.1, 0.2, 0.8, 0.9, 0.3, 0.7])
    for curve in ("ROC", "PR"):
        m = metrics.AUC(curve=curve)
        m.update_state(y, perfect)
        assert m.result() == pytest.approx(1.0, abs=1e-6)
    m = metrics.AUC(from_logits=True)
    logits = np.log(perfect / (1 - perfect))
    m.update_state(y, logits)
    assert m.result() == pytest.approx(1.0, abs=1e-6)
    assert metrics.AUC().result() == 0.0
    with pytest.raises(ValueError, match=r"auc: predictions must lie in \[0, 1\]"):
        metrics.AUC().update_state(y, perfect * 2)
    with pytest.raises(ValueError, match="num_thresholds"):
        metrics.AUC(num_thresholds=1)
    with pytest.raises(ValueError, match="curve"):
        metrics.AUC(curve="DET")


def test_bad_inputs_name_the_metric_and_shapes():
    with pytest.raises(ValueError, match=r"binary_accuracy: y_true shape \(4,\) does not match"):
        metrics.BinaryAccuracy().update_state(np.zeros(4), np.zeros(5))
    with pytest.raises(ValueError, match="sparse_categorical_accuracy: y_true"):
        metrics.SparseCategoricalAccuracy().update_state(np.zeros(4), np.zeros((5, 3)))
    with pytest.raises(ValueError, match="categorical_accuracy"):
        metrics.CategoricalAccuracy().update_state(np.zeros((4, 2)), np.zeros((4, 3)))
    with pytest.raises(ValueError, match="mean_absolute_error: sample_weight shape"):
        metrics.MeanAbsoluteError().update_state(np.zeros((4, 2)), np.zeros((4, 2)), np.ones(3))
    with pytest.raises(ValueError, match="precision: sample_weight shape"):
        metrics.Precision().update_state(np.zeros((4, 2)), np.zeros((4, 2)), np.ones(3))
    with pytest.raises(ValueError, match="thresholds"):
        metrics.Precision(thresholds=[])


def test_get_and_names():
    assert isinstance(metrics.get("accuracy"), metrics.Accuracy)
    assert metrics.get("acc").name == "acc"
    assert metrics.get("mae").name == "mae" and isinstance(metrics.get("mae"),
                                                           metrics.MeanAbsoluteError)
    assert metrics.get("AUC").name == "auc"
    assert metrics.get(metrics.Recall).name == "recall"
    m = metrics.RootMeanSquaredError()
    assert metrics.get(m) is m and m.name == "root_mean_squared_error"

    def hinge(y_true, y_pred):
        return np.maximum(0.0, 1.0 - y_true * y_pred)
    wrapped = metrics.get(hinge)
    wrapped.update_state(np.array([1.0, -1.0]), np.array([0.5, 0.5]))
    assert wrapped.name == "hinge" and wrapped.result() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="unknown metric 'f2'"):
        metrics.get("f2")
    with pytest.raises(TypeError):
        metrics.get(3)


@pytest.mark.parametrize("loss, output_shape, target_shape, expected", [
    ("sparse_categorical_crossentropy", (None, 10), None, metrics.SparseCategoricalAccuracy),
    ("SparseCategoricalCrossentropy", (None, 10), None, metrics.SparseCategoricalAccuracy),
    ("categorical_crossentropy", (None, 10), None, metrics.CategoricalAccuracy),
    ("binary_crossentropy", (None, 3), None, metrics.BinaryAccuracy),
    ("mse", (None, 1), None, metrics.BinaryAccuracy),
    ("mse", (None, 10), (None,), metrics.SparseCategoricalAccuracy),
    ("mse", (None, 10), (None, 1), metrics.SparseCategoricalAccuracy),
    ("mse", (None, 10), (None, 10), metrics.CategoricalAccuracy),
    ("mse", (None, 10), None, metrics.CategoricalAccuracy),
    (None, None, None, metrics.Accuracy),
])
def test_resolve_accuracy(loss, output_shape, target_shape, expected):
    for name in ("accuracy", "acc"):
        m = metrics.resolve_accuracy(name, loss, output_shape, target_shape)
        assert type(m) is expected and m.name == name


def test_resolve_accuracy_loss_objects_and_other_names():
    class SparseCategoricalCrossentropy:      # a loss object named by its class
        pass

    def binary_crossentropy(y_true, y_pred):  # a loss function named by __name__
        return 0.0
    assert isinstance(metrics.resolve_accuracy("accuracy", SparseCategoricalCrossentropy()),
                      metrics.SparseCategoricalAccuracy)
    assert isinstance(metrics.resolve_accuracy("acc", binary_crossentropy),
                      metrics.BinaryAccuracy)
    assert isinstance(metrics.resolve_accuracy("mae", "mse"), metrics.MeanAbsoluteError)
