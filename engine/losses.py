"""Losses with Keras names and semantics.

Each loss computes a per-sample value (Keras's reduction "sum_over_batch_size" then averages
sample_weight * loss over the batch). In a compiled model the loss becomes core graph nodes
(domain "engine") so that a training step is one call; `loss(y_true, y_pred)` also works
directly on numpy arrays (custom training loops).

Probabilities and cross-entropy are fused where Keras would: a `from_logits=False`
cross-entropy on a softmax (or sigmoid) output reads the logits feeding that activation and
uses the stable log-sum-exp (logistic) form.
"""
import numpy as np

from engine import ops

__all__ = ["Loss", "MeanSquaredError", "MeanAbsoluteError", "Huber", "BinaryCrossentropy",
           "CategoricalCrossentropy", "SparseCategoricalCrossentropy", "get"]


class Loss:
    """Base class: `per_sample(y_true, y_pred)` and the graph form in `emit`."""

    name = "loss"
    target_dtype = "float32"

    def __call__(self, y_true, y_pred, sample_weight=None):
        """The weighted batch mean: sum(sample_weight * per-sample loss) / batch size."""
        per = np.asarray(self.per_sample(y_true, y_pred), dtype=np.float64)
        w = np.ones(per.shape[0]) if sample_weight is None else np.asarray(sample_weight, np.float64)
        return float(np.sum(per * w) / max(per.shape[0], 1))

    def per_sample(self, y_true, y_pred):
        return self._node_function()(np.ascontiguousarray(y_pred, np.float32),
                                     self._target(y_true), reduction="none")

    def _target(self, y_true):
        dtype = np.int64 if self.target_dtype == "int64" else np.float32
        return np.ascontiguousarray(y_true, dtype=dtype)

    def emit(self, builder, y_pred, target):
        """Adds the per-sample loss node(s); returns the name of the [N] loss value."""
        op_type, attrs = self._node()
        return builder.node(op_type, [y_pred, target], attrs={**attrs, "reduction": "none"},
                            name=self.name, domain="engine")[0]

    def get_config(self):
        return {"name": self.name}


class MeanSquaredError(Loss):
    name = "mean_squared_error"

    def _node(self):
        return "MeanSquaredError", {}

    def _node_function(self):
        return ops.mean_squared_error


class MeanAbsoluteError(Loss):
    name = "mean_absolute_error"

    def _node(self):
        return "MeanAbsoluteError", {}

    def _node_function(self):
        return ops.mean_absolute_error


class Huber(Loss):
    name = "huber_loss"

    def __init__(self, delta=1.0):
        if float(delta) <= 0:
            raise ValueError(f"Huber: delta must be positive, got {delta}")
        self.delta = float(delta)

    def _node(self):
        return "Huber", {"delta": self.delta}

    def _node_function(self):
        return lambda p, t, reduction: ops.huber(p, t, delta=self.delta, reduction=reduction)

    def get_config(self):
        return {"name": self.name, "delta": self.delta}


class _CrossEntropy(Loss):
    # The activation whose input is the logits this loss can use directly.
    fusable_activation = None

    def __init__(self, from_logits=False):
        self.from_logits = bool(from_logits)

    def _logits_of(self, builder, y_pred):
        """The logits behind y_pred when y_pred is the fusable activation's output."""
        if self.from_logits:
            return y_pred
        producer = builder.producers.get(y_pred)
        if producer and producer[0] == self.fusable_activation:
            return producer[1][0]
        return None

    def get_config(self):
        return {"name": self.name, "from_logits": self.from_logits}


class SparseCategoricalCrossentropy(_CrossEntropy):
    """Integer class labels [N] (or [N, d...]) against class scores on axis 1."""

    name = "sparse_categorical_crossentropy"
    target_dtype = "int64"
    fusable_activation = "Softmax"

    def emit(self, builder, y_pred, target):
        logits = self._logits_of(builder, y_pred)
        if logits is None:
            # Probabilities from elsewhere: log them and take the labelled entry.
            raise ValueError(
                "sparse_categorical_crossentropy with from_logits=False needs the model output "
                "to come from a softmax activation (or pass from_logits=True)")
        return builder.node("SoftmaxCrossEntropy", [logits, target], attrs={"reduction": "none"},
                            name=self.name, domain="engine")[0]

    def per_sample(self, y_true, y_pred):
        y_pred = np.ascontiguousarray(y_pred, np.float32)
        if not self.from_logits:
            y_pred = np.log(np.clip(y_pred, 1e-7, 1 - 1e-7)).astype(np.float32)
        return ops.softmax_cross_entropy(y_pred, self._target(y_true), reduction="none")


class CategoricalCrossentropy(_CrossEntropy):
    """One-hot or soft targets with the class scores' shape."""

    name = "categorical_crossentropy"
    fusable_activation = "Softmax"

    def emit(self, builder, y_pred, target):
        logits = self._logits_of(builder, y_pred)
        if logits is not None:
            return builder.node("SoftmaxCrossEntropy", [logits, target], attrs={"reduction": "none"},
                                name=self.name, domain="engine")[0]
        return builder.node("CategoricalCrossEntropy", [y_pred, target], attrs={"reduction": "none"},
                            name=self.name, domain="engine")[0]

    def per_sample(self, y_true, y_pred):
        y_pred, y_true = np.ascontiguousarray(y_pred, np.float32), self._target(y_true)
        if self.from_logits:
            return ops.softmax_cross_entropy(y_pred, y_true, reduction="none")
        return ops.categorical_cross_entropy(y_pred, y_true, reduction="none")


class BinaryCrossentropy(_CrossEntropy):
    """Targets in [0, 1] with the prediction's shape (sigmoid outputs or logits)."""

    name = "binary_crossentropy"
    fusable_activation = "Sigmoid"

    def emit(self, builder, y_pred, target):
        logits = self._logits_of(builder, y_pred)
        source, from_logits = (logits, 1) if logits is not None else (y_pred, 0)
        return builder.node("BinaryCrossEntropy", [source, target],
                            attrs={"reduction": "none", "from_logits": from_logits},
                            name=self.name, domain="engine")[0]

    def per_sample(self, y_true, y_pred):
        return ops.binary_cross_entropy(np.ascontiguousarray(y_pred, np.float32), self._target(y_true),
                                        from_logits=self.from_logits, reduction="none")


_BY_NAME = {
    "mse": MeanSquaredError, "mean_squared_error": MeanSquaredError,
    "mae": MeanAbsoluteError, "mean_absolute_error": MeanAbsoluteError,
    "huber": Huber, "huber_loss": Huber,
    "binary_crossentropy": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
}


def get(identifier):
    """A Loss from a name ("mse", "sparse_categorical_crossentropy", ...) or an instance."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str):
        key = identifier.lower()
        if key not in _BY_NAME:
            raise ValueError(f"unknown loss {identifier!r}; known: {sorted(_BY_NAME)}")
        return _BY_NAME[key]()
    raise TypeError(f"loss must be a name or an engine.losses.Loss, got {identifier!r}")
