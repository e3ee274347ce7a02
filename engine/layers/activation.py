"""Activation layers with arguments (Keras 3): ReLU, Softmax, ELU and PReLU, written with
engine.ops in call(), so they train, export to ONNX and run from C++ as traced nodes."""
from engine import constraints as _constraints
from engine import initializers as _initializers
from engine import ops
from engine import regularizers as _regularizers
from engine.layers import _args
from engine.layers.base import Layer


class ReLU(Layer):
    """Keras's relu with its three arguments: x above `threshold` (clipped at `max_value`),
    negative_slope * (x - threshold) below it. ReLU(6.0) is MobileNet's ReLU6."""

    supports_masking = True  # step by step: the mask passes through (Keras)

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        self.max_value = None if max_value is None else _args.real(self, "max_value", max_value, low=0.0)
        self.negative_slope = _args.real(self, "negative_slope", negative_slope, low=0.0)
        self.threshold = _args.real(self, "threshold", threshold, low=0.0)

    def call(self, inputs):
        slope, threshold, top = self.negative_slope, self.threshold, self.max_value
        if slope and top is None and threshold == 0:
            return ops.leaky_relu(inputs, negative_slope=slope)
        if threshold:
            # x * (x > threshold), as Keras: a NaN input stays NaN.
            outputs = inputs * ops.cast(ops.greater(inputs, threshold), "float32")
        else:
            outputs = ops.relu(inputs)
        if top is not None:
            outputs = ops.clip(outputs, 0.0, top)
        if slope:
            outputs = outputs - slope * ops.relu(threshold - inputs)
        return outputs

    def get_config(self):
        return {**super().get_config(), "max_value": self.max_value, "negative_slope": self.negative_slope,
                "threshold": self.threshold}


class Softmax(Layer):
    """Softmax over `axis` (an int, or a tuple of axes normalised together)."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = _args.axes(self, "axis", axis)

    def call(self, inputs):
        if isinstance(self.axis, tuple):
            return ops.exp(inputs - ops.logsumexp(inputs, axis=self.axis, keepdims=True))
        return ops.softmax(inputs, axis=self.axis)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class ELU(Layer):
    """x for x > 0, alpha * (exp(x) - 1) otherwise."""

    supports_masking = True  # step by step: the mask passes through (Keras)

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = _args.real(self, "alpha", alpha)

    def call(self, inputs):
        return ops.elu(inputs, alpha=self.alpha)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


class PReLU(Layer):
    """relu(x) - alpha * relu(-x) with a learned alpha, one per input element unless
    `shared_axes` share it: on NCHW images shared_axes=[2, 3] gives one alpha per channel,
    of shape (C, 1, 1)."""

    supports_masking = True  # step by step: the mask passes through (Keras)

    def __init__(self, alpha_initializer="Zeros", alpha_regularizer=None, alpha_constraint=None,
                 shared_axes=None, **kwargs):
        super().__init__(**kwargs)
        self.alpha_initializer = _args.resolve(self, "alpha_initializer", _initializers.get, alpha_initializer)
        self.alpha_regularizer = _args.resolve(self, "alpha_regularizer", _regularizers.get, alpha_regularizer)
        self.alpha_constraint = _args.resolve(self, "alpha_constraint", _constraints.get, alpha_constraint)
        if shared_axes is None:
            self.shared_axes = None
        else:
            axes = _args.axes(self, "shared_axes", shared_axes)
            self.shared_axes = list(axes) if isinstance(axes, tuple) else [axes]
            if any(a < 1 for a in self.shared_axes):
                raise ValueError(f"PReLU: shared_axes must be axes >= 1 (the batch axis 0 is never shared), "
                                 f"got {shared_axes!r}")

    def build(self, input_shape):
        shape = list(input_shape[1:])
        for a in self.shared_axes or []:
            if a > len(shape):
                raise ValueError(f"{self.name}: shared axis {a} is out of range for inputs of shape {input_shape}")
            shape[a - 1] = 1
        if any(d is None for d in shape):
            raise ValueError(f"{self.name}: the alpha weight needs known sizes on the axes it is not shared over, "
                             f"got inputs {input_shape} with shared_axes={self.shared_axes}")
        self.alpha = self.add_weight(name="alpha", shape=shape, initializer=self.alpha_initializer,
                                     regularizer=self.alpha_regularizer, constraint=self.alpha_constraint)
        self.built = True

    def call(self, inputs):
        return ops.relu(inputs) - self.alpha * ops.relu(-inputs)

    def get_config(self):
        return {**super().get_config(), "alpha_regularizer": _regularizers.serialize(self.alpha_regularizer),
                "alpha_constraint": _constraints.serialize(self.alpha_constraint), "shared_axes": self.shared_axes}
