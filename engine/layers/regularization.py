"""SpatialDropout1D/2D, AlphaDropout and ActivityRegularization, written with engine.ops:
the random masks are RandomUniformLike nodes, drawn afresh each training step (seeded), and
the layers are the identity at inference."""
from engine import ops
from engine.layers import _args
from engine.layers.base import Layer

# SELU's constants: AlphaDropout sets dropped units to SELU's negative saturation value.
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _keep_mask(inputs, rate, shared_axes, seed):
    """A bool mask, True with probability 1 - rate, one draw per position of the inputs with
    the `shared_axes` cut to size 1 (so one draw is shared along them); it broadcasts."""
    index = tuple(slice(0, 1) if a in shared_axes else slice(None) for a in range(len(inputs.shape)))
    from engine import random  # engine.random builds on engine.ops, which loads the layers

    like = inputs[index] if shared_axes else inputs
    return ops.greater_equal(random.uniform_like(like, seed=seed), rate)


class _RandomLayer(Layer):
    """The rate and seed of the dropout layers (rate 1 would divide by zero when scaling)."""

    supports_masking = True  # step by step: the mask passes through (Keras)

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = _args.real(self, "rate", rate, low=0.0, high=1.0, high_open=True)
        self.seed = _args.random_seed(self, seed)

    def _shared_axes(self, shape):
        raise NotImplementedError(f"{type(self).__name__}: a dropout layer defines _shared_axes(shape)")

    def _mask(self, inputs):
        return _keep_mask(inputs, self.rate, self._shared_axes(inputs.shape), self.seed)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class _SpatialDropout(_RandomLayer):
    """Drops whole feature maps: one draw per (sample, channel), shared over the other axes,
    the kept ones scaled by 1 / (1 - rate)."""

    rank = None
    default_format = None

    def __init__(self, rate, data_format=None, seed=None, **kwargs):
        super().__init__(rate, seed, **kwargs)
        self.data_format = _args.data_format(self, data_format, self.default_format)

    def build(self, input_shape):
        if len(input_shape) != self.rank:
            raise ValueError(f"{self.name}: expects inputs of rank {self.rank} ({self.data_format}, batch included), "
                             f"got shape {input_shape}")
        self.built = True

    def _shared_axes(self, shape):
        channel = 1 if self.data_format == "channels_first" else len(shape) - 1
        return [a for a in range(1, len(shape)) if a != channel]

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        return ops.where(self._mask(inputs), inputs * (1.0 / (1.0 - self.rate)), 0.0)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class SpatialDropout1D(_SpatialDropout):
    """[batch, steps, channels] sequences: whole channels dropped (Keras's 1-D layout)."""

    rank, default_format = 3, "channels_last"

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(rate, data_format=None, seed=seed, **kwargs)

    def get_config(self):
        config = super().get_config()
        del config["data_format"]
        return config


class SpatialDropout2D(_SpatialDropout):
    """Images: whole channels dropped (NCHW unless data_format="channels_last")."""

    rank, default_format = 4, "channels_first"


class AlphaDropout(_RandomLayer):
    """Dropout that keeps SELU's self-normalization: dropped units become SELU's negative
    saturation -alpha * scale, then an affine map restores the mean and variance (Keras)."""

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(rate, seed, **kwargs)
        if noise_shape is None:
            self.noise_shape = None
        else:
            expected = "a tuple of positive integers or None (the batch axis included)"
            self.noise_shape = tuple(None if d is None else _args.integer(self, "noise_shape", d, minimum=1,
                                                                          expected=expected, shown=noise_shape)
                                     for d in _args.sequence(self, "noise_shape", noise_shape, expected))

    def _shared_axes(self, shape):
        if self.noise_shape is None:
            return []
        if len(self.noise_shape) != len(shape):
            raise ValueError(f"{self.name}: noise_shape {self.noise_shape} does not match inputs of shape {shape}")
        shared = []
        for a, (n, d) in enumerate(zip(self.noise_shape, shape)):
            if n == 1 and d != 1:
                shared.append(a)
            elif n not in (None, 1, d):
                raise ValueError(f"{self.name}: noise_shape {self.noise_shape} does not broadcast to inputs "
                                 f"of shape {shape} (each size must be 1, None or the input's)")
        return shared

    def build(self, input_shape):
        self._shared_axes(input_shape)
        self.built = True

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        alpha_p = -_SELU_ALPHA * _SELU_SCALE
        a = ((1.0 - self.rate) * (1.0 + self.rate * alpha_p ** 2)) ** -0.5
        b = -a * alpha_p * self.rate
        return ops.where(self._mask(inputs), inputs * a + b, alpha_p * a + b)

    def get_config(self):
        return {**super().get_config(), "noise_shape": self.noise_shape}


class ActivityRegularization(Layer):
    """The identity, adding l1 * sum|x| + l2 * sum x^2 of its inputs to the training loss,
    divided by the batch size (Keras's activity regularization)."""

    supports_masking = True  # step by step: the mask passes through (Keras)

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        super().__init__(**kwargs)
        self.l1 = _args.real(self, "l1", l1, low=0.0)
        self.l2 = _args.real(self, "l2", l2, low=0.0)

    def call(self, inputs):
        penalty = None
        if self.l1:
            penalty = self.l1 * ops.abs(inputs)
        if self.l2:
            squares = self.l2 * ops.square(inputs)
            penalty = squares if penalty is None else penalty + squares
        if penalty is not None:
            rest = list(range(1, len(inputs.shape)))
            per_sample = ops.sum(penalty, axis=rest) if rest else penalty
            self.add_loss(ops.mean(per_sample))
        return inputs

    def get_config(self):
        return {**super().get_config(), "l1": self.l1, "l2": self.l2}
