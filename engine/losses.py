"""Losses with Keras names and semantics.

Each loss computes a per-sample value (Keras's reduction "sum_over_batch_size" then averages
sample_weight * loss over the batch). In a compiled model the loss becomes core graph nodes
(domain "engine") so that a training step is one call; `loss(y_true, y_pred)` also works
directly on numpy arrays (custom training loops).

Probabilities and cross-entropy are fused where Keras would: a `from_logits=False`
cross-entropy on a softmax (or sigmoid) output reads the logits feeding that activation and
uses the stable log-sum-exp (logistic) form.

Masks (Keras 3): when the prediction carries a mask (a model output whose layers give it
one, e.g. Embedding(mask_zero=True) -> LSTM(return_sequences=True) -> Dense), the loss is
taken per position of the mask, over the prediction's last axis, and masked positions
weigh 0: the batch's loss is sum(sample_weight * mask * loss) / sum(mask), the mean over
the valid positions (0 when none is valid). Sample weights given per sample apply to every
position of the sample.
"""
import numpy as np

from engine import ops
from engine.layers.base import Trace
from engine.metrics import _apply_mask, _mask_of

__all__ = ["Loss", "LossFunctionWrapper", "MeanSquaredError", "MeanAbsoluteError", "Huber", "BinaryCrossentropy",
           "CategoricalCrossentropy", "SparseCategoricalCrossentropy", "get"]


class Loss:
    """Base class. The built-in losses give `per_sample(y_true, y_pred)` and their graph form
    in `emit`; a subclass written as Keras does overrides `call(y_true, y_pred)` with
    engine.ops (one value per sample, or per element: they are averaged per sample), which
    is traced into the training graph."""

    name = "loss"
    target_dtype = "float32"

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        if reduction != "sum_over_batch_size":
            raise ValueError(f"{type(self).__name__}: only reduction='sum_over_batch_size' (the Keras "
                             f"default) is supported, got {reduction!r}")
        self.name = name or _snake(type(self).__name__)

    def __call__(self, y_true, y_pred, sample_weight=None):
        """The weighted batch mean: sum(sample_weight * per-sample loss) / batch size; for a
        y_pred carrying a mask (`_keras_mask`, as Keras tensors do), the weighted mean over
        its valid positions."""
        mask = _mask_of(y_pred)
        if mask is not None:
            mask = np.asarray(mask, dtype=bool)
            values = self._position_values(y_true, y_pred, mask.shape)
            weights = _apply_mask(sample_weight, mask, "sum_over_batch_size")
            return float(np.sum(values * weights) / max(values.size, 1))
        per = np.asarray(self.per_sample(y_true, y_pred), dtype=np.float64)
        w = np.ones(per.shape[0]) if sample_weight is None else np.asarray(sample_weight, np.float64)
        return float(np.sum(per * w) / max(per.shape[0], 1))

    def call(self, y_true, y_pred):
        raise NotImplementedError(f"{type(self).__name__}: a Loss subclass defines call(y_true, y_pred)")

    def _written_in_python(self):
        return type(self).call is not Loss.call

    def per_sample(self, y_true, y_pred):
        if self._written_in_python():
            values = np.asarray(self.call(self._target(y_true), np.asarray(y_pred, np.float32)), np.float64)
            if values.ndim == 0:
                raise ValueError(_SCALAR_LOSS.format(self.name))
            return values.reshape(values.shape[0], -1).mean(axis=1)
        return self._node_function()(np.ascontiguousarray(y_pred, np.float32),
                                     self._target(y_true), reduction="none")

    def _loss_rank(self, shapes):
        """The rank of the built-in loss node's values for these prediction and target
        shapes: 1 ([N]) unless a loss has one value per position."""
        return 1

    def graph_loss(self, builder, y_pred, target, shapes, target_dtype):
        """The name of the [N] per-sample loss in the training graph; `shapes` are those of
        the prediction and the target."""
        if not self._written_in_python():
            value = self.emit(builder, y_pred, target)
            rank = self._loss_rank(shapes)
            if rank > 1:  # a loss per position [N, d...]: each sample's mean over them
                axes = builder.constant(np.arange(1, rank, dtype=np.int64), f"{self.name}/position_axes")
                value = builder.node("ReduceMean", [value, axes], attrs={"keepdims": 0},
                                     name=f"{self.name}/per_sample")[0]
            return value
        value, trace = self._traced(builder, y_pred, target, shapes, target_dtype)
        rank = len(trace.outputs[0].shape)
        if rank == 0:
            raise ValueError(_SCALAR_LOSS.format(self.name))
        if rank > 1:  # per element: the mean over each sample's elements (Keras's reduction)
            axes = builder.constant(np.arange(1, rank, dtype=np.int64), f"{self.name}/axes")
            value = builder.node("ReduceMean", [value, axes], attrs={"keepdims": 0}, name=self.name)[0]
        return value

    def _traced(self, builder, y_pred, target, shapes, target_dtype):
        """call() traced into the graph: (its value's name, the Trace)."""
        trace = Trace(lambda t, p: self.call(t, p), [shapes[1], shapes[0]], [target_dtype, "float32"], self.name)
        return trace.emit(builder, [target, y_pred])[0], trace

    def graph_masked_loss(self, builder, y_pred, target, shapes, target_dtype, weight, mask, mask_shape):
        """The name of the scalar sum_p(w_n * m_p * l_p) / mean_n(sum of m over sample n) in
        the training graph, for a prediction whose mask (bool, `mask_shape`: the
        prediction's shape without its last axis) is the value `mask`, and the per-sample
        weights `weight` already divided by the batch size: Keras's masked
        "sum_over_batch_size", sum(sample_weight * mask * loss) / sum(mask)."""
        rank = len(mask_shape)
        if self._written_in_python():
            value, trace = self._traced(builder, y_pred, target, shapes, target_dtype)
            values = self._masked_positions(builder, value, trace.outputs[0].shape, mask_shape)
        else:
            values = self._graph_positions(builder, y_pred, target, shapes, mask_shape)
        scope = f"{self.name}/mask"
        as_float = builder.node("Cast", [mask], attrs={"to": 1}, name=f"{scope}/float")[0]
        per_sample = builder.constant(np.array([-1] + [1] * (rank - 1), np.int64), f"{scope}/sample_shape")
        w = builder.node("Reshape", [weight, per_sample], name=f"{scope}/sample_weight")[0]
        w = builder.node("Mul", [as_float, w], name=f"{scope}/weights")[0]
        flat = builder.constant(np.array([-1], np.int64), f"{scope}/flat")
        w = builder.node("Reshape", [w, flat], name=f"{scope}/weights_flat")[0]
        total = builder.node("MatMul", [values, w], name=f"{scope}/weighted")[0]
        valid = as_float
        if rank > 1:
            axes = builder.constant(np.arange(1, rank, dtype=np.int64), f"{scope}/position_axes")
            valid = builder.node("ReduceSum", [valid, axes], attrs={"keepdims": 0}, name=f"{scope}/valid")[0]
        batch = builder.constant(np.array([0], np.int64), f"{scope}/batch_axis")
        valid = builder.node("ReduceMean", [valid, batch], attrs={"keepdims": 0}, name=f"{scope}/valid_mean")[0]
        # No valid position: the sum is 0 and so is the loss (Keras's divide_no_nan).
        tiny = builder.constant(np.array(np.finfo(np.float32).tiny, np.float32), f"{scope}/tiny")
        valid = builder.node("Max", [valid, tiny], name=f"{scope}/valid_or_tiny")[0]
        return builder.node("Div", [total, valid], name=f"{scope}/mean")[0]

    def graph_positions_loss(self, builder, y_pred, target, shapes, target_dtype, weight):
        """The masked loss (graph_masked_loss) with every position valid: a prediction
        [N, T..., C] without a mask whose classes are on the last axis. The all-valid mask is
        made from the target (0 * target + 1), so that a NaN target still reaches the loss."""
        scope = f"{self.name}/positions"
        ones = builder.node("Cast", [target], attrs={"to": 1}, name=f"{scope}/target_float")[0]
        if len(shapes[1]) == len(shapes[0]):  # a target per class: one value per position
            last = builder.constant(np.array([-1], np.int64), f"{scope}/class_axis")
            ones = builder.node("ReduceSum", [ones, last], attrs={"keepdims": 0}, name=f"{scope}/per_position")[0]
        zero = builder.constant(np.array(0.0, np.float32), f"{scope}/zero")
        one = builder.constant(np.array(1.0, np.float32), f"{scope}/one")
        ones = builder.node("Mul", [ones, zero], name=f"{scope}/zeros")[0]
        ones = builder.node("Add", [ones, one], name=f"{scope}/ones")[0]
        return self.graph_masked_loss(builder, y_pred, target, shapes, target_dtype, weight, ones, shapes[0][:-1])

    def _masked_positions(self, builder, value, value_shape, mask_shape):
        """A call()'s value as one loss per mask position, flat ([P]): axes beyond the mask's
        are averaged (Keras's built-in losses average the last axis)."""
        rank = len(mask_shape)
        if len(value_shape) < rank or not _compatible(value_shape[1:rank], mask_shape[1:]):
            raise ValueError(
                f"{self.name}: the prediction carries a mask of shape {tuple(mask_shape)}, but the loss "
                f"function returned values of shape {tuple(value_shape)}; with a masked prediction return "
                "one value per position of the mask (or per element: the extra axes are averaged)")
        if len(value_shape) > rank:
            axes = builder.constant(np.arange(rank, len(value_shape), dtype=np.int64), f"{self.name}/mask/axes")
            value = builder.node("ReduceMean", [value, axes], attrs={"keepdims": 0}, name=f"{self.name}/mask/mean")[0]
        flat = builder.constant(np.array([-1], np.int64), f"{self.name}/mask/positions")
        return builder.node("Reshape", [value, flat], name=f"{self.name}/mask/per_position")[0]

    def _graph_positions(self, builder, y_pred, target, shapes, mask_shape):
        """The built-in loss node over [P, last axis] views of the prediction and target: its
        [P] values are the loss at each position of the mask."""
        producer = builder.producers.get(y_pred)
        if isinstance(self, _CrossEntropy) and producer and producer[0] == "Reshape":
            # TimeDistributed(Dense(activation="softmax")): a reshape of the activation's rows,
            # which the rows below are again, so the loss can fuse with the activation.
            inner = builder.producers.get(producer[1][0])
            if inner and inner[0] == self.fusable_activation:
                y_pred = producer[1][0]
        op_type, source, attrs = self._loss_node(builder, y_pred)
        last = shapes[0][-1]
        if last is None:
            raise ValueError(f"{self.name}: a masked prediction needs a known last axis, got shape {tuple(shapes[0])}")
        scope = f"{self.name}/mask"
        rows = builder.constant(np.array([-1, last], np.int64), f"{scope}/rows")
        source = builder.node("Reshape", [source, rows], name=f"{scope}/prediction_rows")[0]
        if len(shapes[1]) == len(mask_shape):  # class indices, one per position
            target_rows = builder.constant(np.array([-1], np.int64), f"{scope}/target_rows_shape")
        elif shapes[1][-1] is None or shapes[1][-1] == last:
            target_rows = rows
        else:
            target_rows = builder.constant(np.array([-1, shapes[1][-1]], np.int64), f"{scope}/target_rows_shape")
        target = builder.node("Reshape", [target, target_rows], name=f"{scope}/target_rows")[0]
        return builder.node(op_type, [source, target], attrs=attrs, name=self.name, domain="engine")[0]

    def _position_values(self, y_true, y_pred, mask_shape):
        """numpy: the loss at each position of a mask of `mask_shape` (float64, that shape)."""
        y_pred = np.asarray(y_pred, np.float32)
        rank = len(mask_shape)
        if self._written_in_python():
            values = np.asarray(self.call(self._target(y_true), y_pred), np.float64)
            if values.ndim < rank or values.shape[:rank] != tuple(mask_shape):
                raise ValueError(f"{self.name}: the prediction carries a mask of shape {tuple(mask_shape)}, "
                                 f"but the loss function returned values of shape {values.shape}")
            return values.reshape(values.shape[:rank] + (-1,)).mean(axis=-1)
        if y_pred.shape[:-1] != tuple(mask_shape):
            raise ValueError(f"{self.name}: the mask's shape {tuple(mask_shape)} must be the prediction's "
                             f"shape {y_pred.shape} without its last axis")
        target = np.asarray(y_true)
        rows = target.reshape(-1) if target.ndim == rank else target.reshape(-1, target.shape[-1])
        values = self.per_sample(rows, y_pred.reshape(-1, y_pred.shape[-1]))
        return np.asarray(values, np.float64).reshape(mask_shape)

    def _target(self, y_true):
        dtype = np.int64 if self.target_dtype == "int64" else np.float32
        return np.ascontiguousarray(y_true, dtype=dtype)

    def _loss_node(self, builder, y_pred):
        """(op type, the value it reads in y_pred's place, attributes) of the built-in loss
        node, which gives one value per sample (reduction "none")."""
        op_type, attrs = self._node()
        return op_type, y_pred, {**attrs, "reduction": "none"}

    def emit(self, builder, y_pred, target):
        """Adds the built-in per-sample loss node(s); returns the name of the [N] loss value."""
        op_type, source, attrs = self._loss_node(builder, y_pred)
        return builder.node(op_type, [source, target], attrs=attrs, name=self.name, domain="engine")[0]

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

    def _loss_rank(self, shapes):  # a loss per label: over axis 1 of [N, C, d...], [N, d...]
        return len(shapes[1])

    def _loss_node(self, builder, y_pred):
        logits = self._logits_of(builder, y_pred)
        if logits is None:
            # Probabilities from elsewhere: log them and take the labelled entry.
            raise ValueError(
                "sparse_categorical_crossentropy with from_logits=False needs the model output "
                "to come from a softmax activation (or pass from_logits=True)")
        return "SoftmaxCrossEntropy", logits, {"reduction": "none"}

    def per_sample(self, y_true, y_pred):
        y_pred = np.ascontiguousarray(y_pred, np.float32)
        if not self.from_logits:
            y_pred = np.log(np.clip(y_pred, 1e-7, 1 - 1e-7)).astype(np.float32)
        return ops.softmax_cross_entropy(y_pred, self._target(y_true), reduction="none")


class CategoricalCrossentropy(_CrossEntropy):
    """One-hot or soft targets with the class scores' shape."""

    name = "categorical_crossentropy"
    fusable_activation = "Softmax"

    def _loss_rank(self, shapes):  # over axis 1 of [N, C, d...]: [N, d...]
        return len(shapes[0]) - 1

    def _loss_node(self, builder, y_pred):
        logits = self._logits_of(builder, y_pred)
        if logits is not None:
            return "SoftmaxCrossEntropy", logits, {"reduction": "none"}
        return "CategoricalCrossEntropy", y_pred, {"reduction": "none"}

    def per_sample(self, y_true, y_pred):
        y_pred, y_true = np.ascontiguousarray(y_pred, np.float32), self._target(y_true)
        if self.from_logits:
            return ops.softmax_cross_entropy(y_pred, y_true, reduction="none")
        return ops.categorical_cross_entropy(y_pred, y_true, reduction="none")


class BinaryCrossentropy(_CrossEntropy):
    """Targets in [0, 1] with the prediction's shape (sigmoid outputs or logits)."""

    name = "binary_crossentropy"
    fusable_activation = "Sigmoid"

    def _loss_node(self, builder, y_pred):
        logits = self._logits_of(builder, y_pred)
        source, from_logits = (logits, 1) if logits is not None else (y_pred, 0)
        return "BinaryCrossEntropy", source, {"reduction": "none", "from_logits": from_logits}

    def per_sample(self, y_true, y_pred):
        return ops.binary_cross_entropy(np.ascontiguousarray(y_pred, np.float32), self._target(y_true),
                                        from_logits=self.from_logits, reduction="none")


_SCALAR_LOSS = ("{}: the loss function returned a scalar; return one value per sample (or per "
                "element), as Keras loss functions do: the batch mean and sample weights are applied after")


class LossFunctionWrapper(Loss):
    """A loss written as a function fn(y_true, y_pred) with engine.ops (Keras's wrapper)."""

    def __init__(self, fn, name=None, **kwargs):
        super().__init__(name=name or getattr(fn, "__name__", "loss"))
        self.fn = fn
        self.kwargs = kwargs

    def call(self, y_true, y_pred):
        return self.fn(y_true, y_pred, **self.kwargs)

    def get_config(self):
        return {"name": self.name, "fn": getattr(self.fn, "__name__", None), **self.kwargs}


def _compatible(shape, other):
    """Whether two static shapes can be the same (None matches any size)."""
    return len(shape) == len(other) and all(a is None or b is None or a == b for a, b in zip(shape, other))


def _snake(name):
    from engine.layers.base import _snake as snake

    return snake(name)


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
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if callable(identifier) and not isinstance(identifier, str):
        return LossFunctionWrapper(identifier)
    if isinstance(identifier, str):
        key = identifier.lower()
        if key not in _BY_NAME:
            raise ValueError(f"unknown loss {identifier!r}; known: {sorted(_BY_NAME)}")
        return _BY_NAME[key]()
    raise TypeError(f"loss must be a name, an engine.losses.Loss or a function (y_true, y_pred), got {identifier!r}")
