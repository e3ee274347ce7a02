"""Streaming metrics with Keras names and semantics.

A metric accumulates sums over the batches of an epoch in float64 and ``result()`` divides
them once, so the epoch value is exact (never a mean of batch means). Means are taken per
sample first (over all axes but the first), then weighted by ``sample_weight`` across samples,
as in Keras; Precision, Recall and AUC accumulate weighted confusion counts.

A prediction may carry a mask (`_keras_mask`, as a masked model output does in fit and
evaluate): the mean metrics (MeanMetricWrapper: accuracies, mse, mae, metric functions) then
weigh each position by it, times the sample weights (Keras 3's apply_mask with reduction
"sum"); RootMeanSquaredError and the confusion-count metrics read no mask, as in Keras 3.
"""
import abc
import re

import numpy as np


class MetricVariable:
    """A metric's state value (Keras's metric weights): a float64 numpy array with
    ``assign``/``assign_add``/``assign_sub``, usable in arithmetic as that array."""

    def __init__(self, name, shape, initializer):
        self.name = name
        self._initial = np.array(initializer(tuple(shape)), dtype=np.float64)
        self.value = self._initial.copy()

    def assign(self, value):
        self.value = np.broadcast_to(np.asarray(value, np.float64), self._initial.shape).copy()

    def assign_add(self, value):
        self.assign(self.value + np.asarray(value, np.float64))

    def assign_sub(self, value):
        self.assign(self.value - np.asarray(value, np.float64))

    def reset(self):
        self.value = self._initial.copy()

    def numpy(self):
        return self.value.copy()

    def __array__(self, dtype=None, copy=None):
        return self.value if dtype is None else self.value.astype(dtype)

    def __float__(self):
        return float(self.value)

    def __repr__(self):
        return f"<MetricVariable {self.name} value={self.value!r}>"


def _arithmetic(op):
    return lambda self, other: op(self.value, np.asarray(other))


for _name, _op in (("add", np.add), ("sub", np.subtract), ("mul", np.multiply),
                   ("truediv", np.true_divide), ("pow", np.power)):
    setattr(MetricVariable, f"__{_name}__", _arithmetic(_op))
    setattr(MetricVariable, f"__r{_name}__", _arithmetic(lambda a, b, _op=_op: _op(b, a)))


class Metric(abc.ABC):
    """Base class: ``update_state(...)`` accumulates, ``result()`` reads, ``reset_state()``
    clears, and calling the metric does the first two (Keras's ``metric(y_true, y_pred)``).
    ``direction`` tells callbacks whether larger values are better ("up").

    A subclass may keep its state in ``self.add_weight(...)`` variables, as Keras metrics
    do; the default ``reset_state`` puts them back to their initial values."""

    direction = None
    default_name = "metric"

    def __init__(self, name=None, dtype=None, **kwargs):
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected arguments {sorted(kwargs)}")
        # Keras names a subclass's metric after the class: HuberMetric -> "huber_metric".
        default = self.default_name if self.default_name != "metric" else _snake(type(self).__name__)
        self.name = name or default
        self._metric_variables = []
        self.reset_state()

    def add_weight(self, *args, shape=(), initializer="zeros", dtype=None, name=None):
        """A state variable (Keras 3's signature; a name as the first argument, as older
        Keras code passes it, works too)."""
        from engine import initializers

        if args and isinstance(args[0], str):
            name, args = args[0], args[1:]
        if args:
            shape = args[0]
        init = initializers.get(initializer)
        if not hasattr(self, "_metric_variables"):
            self._metric_variables = []
        variable = MetricVariable(name or f"variable_{len(self._metric_variables)}",
                                  tuple(np.atleast_1d(shape)) if shape != () else (), init)
        self._metric_variables.append(variable)
        return variable

    @property
    def variables(self):
        return list(getattr(self, "_metric_variables", []))

    def reset_state(self):
        """Clears the accumulated state (by default: every add_weight variable)."""
        for v in getattr(self, "_metric_variables", []):
            v.reset()

    @abc.abstractmethod
    def update_state(self, *args, **kwargs):
        """Accumulates a batch."""

    @abc.abstractmethod
    def result(self):
        """The value over everything accumulated so far."""

    def __call__(self, *args, **kwargs):
        """Accumulates the batch and returns the result so far, as Keras does."""
        self.update_state(*args, **kwargs)
        return self.result()

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r} result={self.result()!r}>"


def _divide_no_nan(a, b):
    """a / b, with 0 where b is 0 (an empty denominator means "no evidence yet")."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    out = np.zeros(np.broadcast(a, b).shape)
    np.divide(a, b, out=out, where=b != 0)
    return out


def _squeeze_to_same_rank(a, b):
    """Drop a trailing axis of length 1 from whichever array has one more axis than the other
    ([N, 1] labels against [N] predictions and vice versa)."""
    if a.ndim == b.ndim + 1 and a.shape[-1] == 1:
        a = a[..., 0]
    elif b.ndim == a.ndim + 1 and b.shape[-1] == 1:
        b = b[..., 0]
    return a, b


def _matching_pair(name, y_true, y_pred):
    y_true, y_pred = _squeeze_to_same_rank(np.asarray(y_true), np.asarray(y_pred))
    if y_true.shape != y_pred.shape:
        raise ValueError(f"{name}: y_true shape {y_true.shape} does not match "
                         f"y_pred shape {y_pred.shape}")
    return y_true, y_pred


def _weights_like(name, sample_weight, shape):
    """Per-element weights of ``shape`` from weights given per sample ([N], [N, 1]) or per
    element; None means all ones."""
    if sample_weight is None:
        return np.ones(shape)
    w = np.asarray(sample_weight, np.float64)
    if w.ndim == len(shape) + 1 and w.shape[-1] == 1:
        w = w[..., 0]
    w = w.reshape(w.shape + (1,) * (len(shape) - w.ndim)) if w.ndim < len(shape) else w
    try:
        return np.broadcast_to(w, shape)
    except ValueError:
        raise ValueError(f"{name}: sample_weight shape {np.shape(sample_weight)} does not fit "
                         f"the values' shape {tuple(shape)}") from None


class _MaskedOutput(np.ndarray):
    """A model output with the mask its layers gave it, as `_keras_mask` (Keras tensors
    carry theirs there): losses and mean metrics read it. Arrays computed from it carry none."""

    _keras_mask = None


def _with_mask(values, mask):
    """`values` as an array carrying `mask` (values itself when mask is None)."""
    if mask is None:
        return values
    out = np.asarray(values).view(_MaskedOutput)
    out._keras_mask = np.asarray(mask, dtype=bool)
    return out


def _mask_of(y_pred):
    """The mask y_pred carries (Keras's get_keras_mask), or None."""
    return getattr(y_pred, "_keras_mask", None)


def _apply_mask(sample_weight, mask, reduction):
    """Keras 3's apply_mask: the mask (shape [N, d...]) folded into the sample weights.
    With reduction "sum_over_batch_size" valid positions weigh size/valid and masked ones 0,
    so that the mean over every position is the mean over the valid ones (0 when none is);
    with "sum" (metrics) the weights are the mask itself. Weights given per sample ([N] or
    [N, 1]) apply to every position of their sample (Keras broadcasts an [N, 1] weight so;
    an [N] one it fails to broadcast, or aligns with the last axis when the sizes agree)."""
    if mask is None:
        return sample_weight
    mask = np.asarray(mask, dtype=bool)
    if reduction == "sum_over_batch_size":
        valid = int(mask.sum())
        weights = np.where(mask, mask.size / valid if valid else 0.0, 0.0)
    else:
        weights = mask.astype(np.float64)
    if sample_weight is None:
        return weights
    w = np.asarray(sample_weight, np.float64)
    if w.ndim == weights.ndim + 1 and w.shape[-1] == 1:
        w = w[..., 0]
    if 0 < w.ndim < weights.ndim:
        w = w.reshape(w.shape + (1,) * (weights.ndim - w.ndim))
    try:
        return weights * w
    except ValueError:
        raise ValueError(f"sample_weight shape {np.shape(sample_weight)} does not fit the mask's "
                         f"shape {mask.shape}") from None


class _Reduce(Metric):
    """Weighted mean over samples of per-sample means."""

    def reset_state(self):
        self.total = 0.0
        self.count = 0.0

    def _accumulate(self, values, sample_weight):
        v = np.asarray(values, np.float64)
        if sample_weight is None:
            if v.ndim == 0:
                self.total += float(v)
                self.count += 1.0
                return
            v = v.reshape(v.shape[0], -1).mean(axis=1) if v.ndim > 1 else v
            self.total += float(v.sum())
            self.count += float(v.shape[0])
            return
        w = np.asarray(sample_weight, np.float64)
        v, w = _squeeze_to_same_rank(v, w)
        if v.ndim > w.ndim:
            v = v.mean(axis=tuple(range(w.ndim, v.ndim)))
        try:
            w = np.broadcast_to(w, v.shape)
        except ValueError:
            raise ValueError(f"{self.name}: sample_weight shape {np.shape(sample_weight)} does "
                             f"not fit the values' shape {v.shape}") from None
        v = v * w
        if v.ndim > 1:
            # Per-element weights: each sample counts with its mean weight.
            v = v.reshape(v.shape[0], -1).mean(axis=1)
            w = w.reshape(w.shape[0], -1).mean(axis=1)
        self.total += float(v.sum())
        self.count += float(w.sum())

    def result(self):
        return float(_divide_no_nan(self.total, self.count))


class Mean(_Reduce):
    """The weighted mean of the values seen (the loss over an epoch)."""

    default_name = "mean"

    def update_state(self, values, sample_weight=None):
        self._accumulate(values, sample_weight)


class MeanMetricWrapper(_Reduce):
    """The weighted mean of ``fn(y_true, y_pred, **kwargs)``, a per-element or per-sample
    value with the batch as its first axis."""

    def __init__(self, fn, name=None, **kwargs):
        self._fn = fn
        self._fn_kwargs = kwargs
        super().__init__(name or getattr(fn, "__name__", None) or self.default_name)

    def update_state(self, y_true, y_pred, sample_weight=None):
        # Keras 3: the mask y_pred carries weighs its positions (masked ones count 0).
        sample_weight = _apply_mask(sample_weight, _mask_of(y_pred), "sum")
        self._accumulate(self._fn(y_true, y_pred, **self._fn_kwargs), sample_weight)


# ------------------------------------------------------------ per-sample functions

def accuracy(y_true, y_pred):
    y_true, y_pred = _matching_pair("accuracy", y_true, y_pred)
    return np.equal(y_true, y_pred).astype(np.float64)


def binary_accuracy(y_true, y_pred, threshold=0.5):
    y_true, y_pred = _matching_pair("binary_accuracy", y_true, y_pred)
    return np.equal(y_true, (y_pred > threshold)).astype(np.float64)


def categorical_accuracy(y_true, y_pred):
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_pred.ndim < 2:
        raise ValueError(f"categorical_accuracy: y_true (one-hot) shape {y_true.shape} must "
                         f"equal y_pred shape {y_pred.shape}, [N, ..., classes]")
    return np.equal(y_true.argmax(-1), y_pred.argmax(-1)).astype(np.float64)


def sparse_categorical_accuracy(y_true, y_pred):
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1:] == (1,):
        y_true = y_true[..., 0]
    if y_pred.ndim < 2 or y_true.shape != y_pred.shape[:-1]:
        raise ValueError(f"sparse_categorical_accuracy: y_true (class indices) shape "
                         f"{y_true.shape} must be y_pred shape {y_pred.shape} without its last "
                         f"(classes) axis")
    return np.equal(y_true, y_pred.argmax(-1)).astype(np.float64)


def _errors(name, y_true, y_pred):
    y_true, y_pred = _matching_pair(name, y_true, y_pred)
    return np.asarray(y_pred, np.float64) - np.asarray(y_true, np.float64)


def mean_absolute_error(y_true, y_pred):
    return np.abs(_errors("mean_absolute_error", y_true, y_pred))


def mean_squared_error(y_true, y_pred):
    return np.square(_errors("mean_squared_error", y_true, y_pred))


# ------------------------------------------------------------ mean-based metrics

class Accuracy(MeanMetricWrapper):
    """How often predictions equal labels, elementwise."""
    direction = "up"
    default_name = "accuracy"

    def __init__(self, name=None):
        super().__init__(accuracy, name or self.default_name)


class BinaryAccuracy(MeanMetricWrapper):
    """How often ``y_pred > threshold`` equals the 0/1 label."""
    direction = "up"
    default_name = "binary_accuracy"

    def __init__(self, name=None, threshold=0.5):
        self.threshold = threshold
        super().__init__(binary_accuracy, name or self.default_name, threshold=threshold)


class CategoricalAccuracy(MeanMetricWrapper):
    """How often the argmax of the prediction is the argmax of the one-hot label."""
    direction = "up"
    default_name = "categorical_accuracy"

    def __init__(self, name=None):
        super().__init__(categorical_accuracy, name or self.default_name)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    """How often the argmax of the prediction is the integer label."""
    direction = "up"
    default_name = "sparse_categorical_accuracy"

    def __init__(self, name=None):
        super().__init__(sparse_categorical_accuracy, name or self.default_name)


class MeanAbsoluteError(MeanMetricWrapper):
    direction = "down"
    default_name = "mean_absolute_error"

    def __init__(self, name=None):
        super().__init__(mean_absolute_error, name or self.default_name)


class MeanSquaredError(MeanMetricWrapper):
    direction = "down"
    default_name = "mean_squared_error"

    def __init__(self, name=None):
        super().__init__(mean_squared_error, name or self.default_name)


class RootMeanSquaredError(MeanMetricWrapper):
    """The square root of the epoch's mean squared error (not a mean of batch roots)."""
    direction = "down"
    default_name = "root_mean_squared_error"

    def __init__(self, name=None):
        super().__init__(mean_squared_error, name or self.default_name)

    def update_state(self, y_true, y_pred, sample_weight=None):
        # Keras 3's RootMeanSquaredError reads no mask (a plain Mean of the squared errors):
        # its value counts the masked positions too, as Keras's does.
        self._accumulate(mean_squared_error(y_true, y_pred), sample_weight)

    def result(self):
        return float(np.sqrt(super().result()))


# ------------------------------------------------------------ confusion-count metrics

class _Thresholded(Metric):
    """Weighted true/false positive/negative counts at each threshold: a prediction is
    positive when ``y_pred > threshold``, a label when it is nonzero."""

    direction = "up"

    def __init__(self, thresholds=0.5, class_id=None, name=None):
        t = np.atleast_1d(np.asarray(thresholds, np.float64))
        if t.ndim != 1 or t.size == 0 or not np.all(np.isfinite(t)):
            raise ValueError(f"{type(self).__name__}: thresholds must be finite numbers, "
                             f"got {thresholds!r}")
        self.thresholds = t
        self._scalar = np.ndim(thresholds) == 0
        self.class_id = class_id
        super().__init__(name)

    def reset_state(self):
        k = len(self.thresholds)
        self.true_positives, self.false_positives = np.zeros(k), np.zeros(k)
        self.false_negatives = np.zeros(k)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = _matching_pair(self.name, y_true, y_pred)
        w = _weights_like(self.name, sample_weight, y_pred.shape)
        if self.class_id is not None:
            y_true, y_pred, w = y_true[..., self.class_id], y_pred[..., self.class_id], \
                w[..., self.class_id]
        label = y_true.astype(bool).ravel()
        w = w.ravel()
        predicted = y_pred.ravel()[None, :] > self.thresholds[:, None]   # [thresholds, M]
        self.true_positives += predicted[:, label] @ w[label]
        self.false_positives += predicted[:, ~label] @ w[~label]
        self.false_negatives += (~predicted[:, label]) @ w[label]

    def _value(self, ratio):
        return float(ratio[0]) if self._scalar else ratio


class Precision(_Thresholded):
    """true positives / predicted positives (0 while nothing was predicted positive)."""
    default_name = "precision"

    def result(self):
        return self._value(_divide_no_nan(self.true_positives,
                                          self.true_positives + self.false_positives))


class Recall(_Thresholded):
    """true positives / actual positives (0 while no positive label was seen)."""
    default_name = "recall"

    def result(self):
        return self._value(_divide_no_nan(self.true_positives,
                                          self.true_positives + self.false_negatives))


class AUC(Metric):
    """Area under the ROC or precision-recall curve, from confusion counts at
    ``num_thresholds`` evenly spaced thresholds, as Keras computes it.

    The thresholds are ``-eps, 1/(T-1), ..., (T-2)/(T-1), 1+eps`` (eps = 1e-7) and a
    prediction counts as positive above a threshold; the ROC area is the trapezoid rule over
    those points, and the PR area with the default ``summation_method="interpolation"``
    integrates precision interpolated between points (Davis & Goadrich, 2006). Predictions
    must be probabilities in [0, 1] (pass ``from_logits=True`` for logits). Labels are 0/1;
    fractional labels count fractionally, as in Keras.
    """

    direction = "up"
    default_name = "auc"
    _EPSILON = 1e-7

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation",
                 name=None, from_logits=False):
        if isinstance(num_thresholds, bool) or not isinstance(num_thresholds, (int, np.integer)) \
                or num_thresholds < 2:
            raise ValueError(f"AUC: num_thresholds must be an integer > 1, got {num_thresholds!r}")
        curve, summation_method = str(curve).upper(), str(summation_method).lower()
        if curve not in ("ROC", "PR"):
            raise ValueError(f"AUC: curve must be 'ROC' or 'PR', got {curve!r}")
        if summation_method not in ("interpolation", "minoring", "majoring"):
            raise ValueError("AUC: summation_method must be 'interpolation', 'minoring' or "
                             f"'majoring', got {summation_method!r}")
        self.num_thresholds = int(num_thresholds)
        self.curve, self.summation_method, self.from_logits = curve, summation_method, from_logits
        inner = [(i + 1) / (self.num_thresholds - 1) for i in range(self.num_thresholds - 2)]
        self.thresholds = np.array([-self._EPSILON] + inner + [1.0 + self._EPSILON])
        super().__init__(name)

    def reset_state(self):
        t = self.num_thresholds
        self.true_positives, self.false_positives = np.zeros(t), np.zeros(t)
        self.true_negatives, self.false_negatives = np.zeros(t), np.zeros(t)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = _matching_pair(self.name, y_true, y_pred)
        w = _weights_like(self.name, sample_weight, y_pred.shape).ravel()
        p = np.asarray(y_pred, np.float64).ravel()
        if self.from_logits:
            p = 0.5 * (1.0 + np.tanh(0.5 * p))   # the logistic function, overflow-free
        if p.size and not (p.min() >= 0.0 and p.max() <= 1.0):
            raise ValueError(f"{self.name}: predictions must lie in [0, 1], got values in "
                             f"[{p.min()}, {p.max()}] (use from_logits=True for logits)")
        label = np.asarray(y_true, np.float64).ravel()
        # Evenly spaced thresholds make "p > threshold j" the same as "bucket(p) >= j" with
        # bucket = ceil(p (T-1)) - 1 (p = 0 goes to bucket 0, above the -eps threshold):
        # a histogram and a reversed cumulative sum replace one comparison per threshold.
        t = self.num_thresholds
        bucket = np.maximum(np.ceil(p * (t - 1)) - 1, 0).astype(np.int64)
        pos = np.bincount(bucket, weights=label * w, minlength=t)
        neg = np.bincount(bucket, weights=(1.0 - label) * w, minlength=t)
        tp, fp = np.cumsum(pos[::-1])[::-1], np.cumsum(neg[::-1])[::-1]
        self.true_positives += tp
        self.false_positives += fp
        self.false_negatives += pos.sum() - tp
        self.true_negatives += neg.sum() - fp

    def _interpolated_pr_auc(self):
        tp, fp, fn = self.true_positives, self.false_positives, self.false_negatives
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        # Between neighbouring thresholds precision is tp / p with tp linear in p.
        slope = _divide_no_nan(dtp, np.maximum(dp, 0))
        intercept = tp[1:] - slope * p[1:]
        both = (p[:-1] > 0) & (p[1:] > 0)
        ratio = np.where(both, _divide_no_nan(p[:-1], np.maximum(p[1:], 0)), 1.0)
        increment = _divide_no_nan(slope * (dtp + intercept * np.log(ratio)),
                                   np.maximum(tp[1:] + fn[1:], 0))
        return float(increment.sum())

    def result(self):
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._interpolated_pr_auc()
        tp, fp = self.true_positives, self.false_positives
        recall = _divide_no_nan(tp, tp + self.false_negatives)
        if self.curve == "ROC":
            x, y = _divide_no_nan(fp, fp + self.true_negatives), recall
        else:
            x, y = recall, _divide_no_nan(tp, tp + fp)
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = np.minimum(y[:-1], y[1:])
        else:
            heights = np.maximum(y[:-1], y[1:])
        return float(np.sum((x[:-1] - x[1:]) * heights))


# ------------------------------------------------------------ lookup

_ALIASES = {
    "accuracy": Accuracy, "acc": Accuracy,
    "binary_accuracy": BinaryAccuracy, "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError,
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError,
    "root_mean_squared_error": RootMeanSquaredError, "rmse": RootMeanSquaredError,
    "precision": Precision, "recall": Recall, "auc": AUC, "mean": Mean,
}
_CLASSES = {cls.__name__: cls for cls in set(_ALIASES.values())}


def get(identifier):
    """A metric from a name ("accuracy", "mae", "AUC", ...), a Metric (returned as is), a
    Metric class, or a function ``fn(y_true, y_pred)`` of per-sample values. A snake-case
    name is kept as the metric's name (its key in the logs)."""
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if isinstance(identifier, str):
        if identifier in _CLASSES:
            return _CLASSES[identifier]()
        cls = _ALIASES.get(identifier.lower())
        if cls is not None:
            return cls(name=identifier)
        raise ValueError(f"metrics.get: unknown metric {identifier!r}; known: "
                         f"{', '.join(sorted(_ALIASES))} (or the class names)")
    if callable(identifier):
        return MeanMetricWrapper(identifier)
    raise TypeError(f"metrics.get: expected a metric name, Metric or function, "
                    f"got {type(identifier).__name__}")


def _snake(name):
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def _loss_name(loss):
    if loss is None or isinstance(loss, str):
        return _snake(loss) if loss else None
    for attr in ("name", "__name__"):
        value = getattr(loss, attr, None)
        if isinstance(value, str):
            return _snake(value)
    return _snake(type(loss).__name__)


def resolve_accuracy(name, loss_name=None, output_shape=None, target_shape=None):
    """The metric meant by ``name``, where "accuracy"/"acc" become the accuracy that fits the
    loss, as Keras decides: sparse categorical crossentropy -> SparseCategoricalAccuracy,
    categorical crossentropy -> CategoricalAccuracy, binary crossentropy -> BinaryAccuracy;
    with another loss, by shape: a last output axis of 1 -> BinaryAccuracy, integer targets
    (``target_shape`` without the class axis, or ending in 1) -> SparseCategoricalAccuracy,
    else CategoricalAccuracy. Without shapes it stays elementwise Accuracy. The metric keeps
    ``name`` as its name. ``loss_name`` may be a string, a loss object or a function."""
    if not isinstance(name, str) or name.lower() not in ("accuracy", "acc"):
        return get(name)
    loss = _loss_name(loss_name)
    by_loss = {"sparse_categorical_crossentropy": SparseCategoricalAccuracy,
               "categorical_crossentropy": CategoricalAccuracy,
               "binary_crossentropy": BinaryAccuracy}
    if loss in by_loss:
        return by_loss[loss](name=name)
    if output_shape is None or len(output_shape) == 0:
        return Accuracy(name=name)
    if output_shape[-1] == 1:
        return BinaryAccuracy(name=name)
    if target_shape is not None and (len(target_shape) < len(output_shape)
                                     or target_shape[-1] == 1):
        return SparseCategoricalAccuracy(name=name)
    return CategoricalAccuracy(name=name)


__all__ = [
    "AUC", "Accuracy", "BinaryAccuracy", "CategoricalAccuracy", "Mean", "MeanAbsoluteError",
    "MeanMetricWrapper", "MeanSquaredError", "Metric", "Precision", "Recall",
    "RootMeanSquaredError", "SparseCategoricalAccuracy", "get", "resolve_accuracy",
]
