"""Dense, Activation, Dropout, Flatten, Reshape, Identity and Masking layers."""
import math

import numpy as np

from engine import _random
from engine import activations as _activations
from engine.layers import _args
from engine.layers.base import Layer, set_kernel_layer_arguments


def _require_rank(layer, shape, min_rank):
    if len(shape) < min_rank:
        raise ValueError(f"{layer.name}: expects inputs of rank >= {min_rank} (batch included), got shape {shape}")


class Dense(Layer):
    """y = activation(x @ kernel + bias) on the last axis; kernel is [in, out] (Keras, ONNX Gemm)."""

    supports_masking = True  # step by step: the mask passes through (Keras)

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        self.units = _args.positive_int(self, "units", units)
        set_kernel_layer_arguments(self, activation, use_bias, kernel_initializer, bias_initializer,
                                   kernel_regularizer, bias_regularizer, kernel_constraint, bias_constraint)

    def build(self, input_shape):
        _require_rank(self, input_shape, 2)
        if input_shape[-1] is None:
            raise ValueError(f"{self.name}: the last input dimension must be known, got {input_shape}")
        o = self.weight_options
        self.kernel = self.add_weight(name="kernel", shape=(input_shape[-1], self.units),
                                      initializer=self.kernel_initializer, regularizer=o.kernel_regularizer,
                                      constraint=o.kernel_constraint)
        self.bias = self.add_weight(name="bias", shape=(self.units,), initializer=self.bias_initializer,
                                    regularizer=o.bias_regularizer, constraint=o.bias_constraint) \
            if self.use_bias else None
        self.built = True

    def compute_output_shape(self, input_shape):
        _require_rank(self, input_shape, 2)
        return tuple(input_shape[:-1]) + (self.units,)

    def emit(self, b, inputs, input_shapes):
        trainable = self.trainable
        w = b.param(self.kernel, trainable)
        args = [inputs[0], w]
        if len(input_shapes[0]) == 2:
            if self.use_bias:
                args.append(b.param(self.bias, trainable))
            y = b.node("Gemm", args, name=self.name)[0]
        else:
            y = b.node("MatMul", args, name=self.name)[0]
            if self.use_bias:
                y = b.node("Add", [y, b.param(self.bias, trainable)], name=self.name + "/bias")[0]
        return [_activations.emit(b, self.activation, y, f"{self.name}/{_activations.serialize(self.activation)}",
                                  self.compute_output_shape(input_shapes[0]))]

    def get_config(self):
        return {**super().get_config(), "units": self.units, "activation": _activations.serialize(self.activation),
                "use_bias": self.use_bias, **self.weight_options.get_config()}


class Activation(Layer):
    supports_masking = True  # step by step: the mask passes through (Keras)

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = _args.resolve(self, "activation", _activations.normalize, activation)

    def emit(self, b, inputs, input_shapes):
        return [_activations.emit(b, self.activation, inputs[0], self.name, input_shapes[0])]

    def get_config(self):
        return {**super().get_config(), "activation": _activations.serialize(self.activation)}


class LeakyReLU(Layer):
    """max(x, negative_slope * x); Keras's default slope is 0.3."""

    supports_masking = True  # step by step: the mask passes through (Keras)

    def __init__(self, negative_slope=0.3, **kwargs):
        super().__init__(**kwargs)
        self.negative_slope = _args.real(self, "negative_slope", negative_slope, low=0.0)

    def emit(self, b, inputs, input_shapes):
        return b.node("LeakyRelu", inputs, attrs={"alpha": self.negative_slope}, name=self.name)

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}


class Dropout(Layer):
    """Inverted dropout while training (seeded); identity at inference."""

    supports_masking = True  # step by step: the mask passes through (Keras)

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        # rate 1 would scale the kept values by 1 / (1 - rate): a division by zero.
        self.rate = _args.real(self, "rate", rate, low=0.0, high=1.0, high_open=True)
        self.seed = _random.next_seed() % (2**31) if seed is None else \
            _args.integer(self, "seed", seed, -2**63, 2**63 - 1, "an integer that fits in 64 bits")

    def emit(self, b, inputs, input_shapes):
        if b.call_training is False:
            return b.node("Identity", inputs, name=self.name)
        ratio = b.constant(np.array(self.rate, dtype=np.float32), self.name + "/ratio")
        args = [inputs[0], ratio]
        if b.call_training:  # called with training=True: masks at inference too (MC dropout)
            args.append(b.constant(np.array(True), self.name + "/training_mode"))
        return b.node("Dropout", args, n_outputs=2, attrs={"seed": self.seed}, name=self.name)[:1]

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class Masking(Layer):
    """Keras's Masking: a step whose features all equal `mask_value` is masked (the output
    mask, for the layers after it) and its features become zeros."""

    supports_masking = True

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.mask_value = _args.real(self, "mask_value", mask_value)

    def _keep(self, inputs, keepdims):
        from engine import ops  # ops build on layers

        differs = ops.cast(ops.not_equal(inputs, self.mask_value), "float32")
        return ops.max(differs, axis=-1, keepdims=keepdims)

    def call(self, inputs):
        return inputs * self._keep(inputs, True)

    def compute_mask(self, inputs, mask=None):
        from engine import ops

        return ops.cast(self._keep(inputs, False), "bool")

    def get_config(self):
        return {**super().get_config(), "mask_value": self.mask_value}


class Flatten(Layer):
    """[N, d1, d2, ...] -> [N, d1*d2*...] in (C, H, W) order, as ONNX Flatten(axis=1)."""

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        n = None if any(d is None for d in rest) else int(math.prod(rest))
        return (input_shape[0], n)

    def emit(self, b, inputs, input_shapes):
        return b.node("Flatten", inputs, attrs={"axis": 1}, name=self.name)


class Reshape(Layer):
    """Reshapes every sample to `target_shape` (batch excluded; one -1 may be inferred)."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        expected = "a tuple of positive integers, one of them -1 at most"
        self.target_shape = tuple(_args.integer(self, "target_shape", d, expected=expected, shown=target_shape)
                                  for d in _args.sequence(self, "target_shape", target_shape, expected))
        if sum(d == -1 for d in self.target_shape) > 1 or any(d == 0 or d < -1 for d in self.target_shape):
            raise ValueError(f"Reshape: target_shape must be {expected}, got {target_shape!r}")

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        target = list(self.target_shape)
        if -1 in target:
            if any(d is None for d in rest):
                target[target.index(-1)] = None
            else:
                known = math.prod(d for d in target if d != -1)
                total = math.prod(rest)
                if total % known:
                    raise ValueError(f"{self.name}: cannot reshape {input_shape} to {self.target_shape}")
                target[target.index(-1)] = total // known
        elif all(d is not None for d in rest) and math.prod(rest) != math.prod(target):
            raise ValueError(f"{self.name}: cannot reshape {input_shape} to {self.target_shape}")
        return (input_shape[0],) + tuple(target)

    def emit(self, b, inputs, input_shapes):
        # 0 copies the batch dimension (ONNX Reshape with allowzero = 0).
        shape = b.constant(np.array((0,) + self.target_shape, dtype=np.int64), self.name + "/shape")
        return b.node("Reshape", [inputs[0], shape], name=self.name)

    def get_config(self):
        return {**super().get_config(), "target_shape": self.target_shape}


class Identity(Layer):
    supports_masking = True  # step by step: the mask passes through (Keras)

    def emit(self, b, inputs, input_shapes):
        return b.node("Identity", inputs, name=self.name)


class Lambda(Layer):
    """A function of the inputs written with engine.ops (or operators on tensors), as a layer:
    it is traced into the model's graph, so it trains, exports and runs in C++."""

    def __init__(self, function, output_shape=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(f"{self.name}: function must be callable, got {function!r}")
        self.function = function
        self.arguments = dict(arguments or {})

    def call(self, inputs):
        return self.function(inputs, **self.arguments)

    def get_config(self):
        # A function is saved by name; load_model finds it in custom_objects.
        return {**super().get_config(), "function": getattr(self.function, "__name__", None),
                "arguments": self.arguments}

    @classmethod
    def from_config(cls, config):
        from engine import saving

        config = dict(config)
        if isinstance(config.get("function"), str):
            config["function"] = saving._custom_named("Lambda function", config["function"])
        return cls(**config)



class GaussianNoise(Layer):
    """Adds N(0, stddev^2) noise while training, drawn afresh every step (seeded); the
    identity at inference."""

    supports_masking = True  # step by step: the mask passes through (Keras)

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.stddev = _args.real(self, "stddev", stddev, low=0.0)
        self.seed = _random.next_seed() % (1 << 24) if seed is None else \
            _args.integer(self, "seed", seed, 0, (1 << 24) - 1, "an integer in [0, 2^24)")

    def call(self, inputs, training=False):
        if not training or self.stddev == 0:
            return inputs
        from engine import random

        return inputs + random.normal_like(inputs, stddev=self.stddev, seed=self.seed)

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


class GaussianDropout(Layer):
    """Multiplies by N(1, rate / (1 - rate)) noise while training; the identity at inference."""

    supports_masking = True  # step by step: the mask passes through (Keras)

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = _args.real(self, "rate", rate, low=0.0, high=1.0, high_open=True)
        self.seed = _random.next_seed() % (1 << 24) if seed is None else \
            _args.integer(self, "seed", seed, 0, (1 << 24) - 1, "an integer in [0, 2^24)")

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        from engine import random

        stddev = math.sqrt(self.rate / (1.0 - self.rate))
        return inputs * random.normal_like(inputs, mean=1.0, stddev=stddev, seed=self.seed)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}
