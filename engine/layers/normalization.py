"""BatchNormalization over the channel axis 1 (NCHW images, or [N, features]); layer, group
and unit normalization written with engine.ops."""
import numpy as np

from engine import constraints as _constraints
from engine import initializers as _initializers
from engine import ops
from engine import regularizers as _regularizers
from engine.layers import _args
from engine.layers.base import Layer
from engine.ops import _symbolic  # (engine.ops is still loading here: its names are read at call time)


class BatchNormalization(Layer):
    """Keras semantics and defaults: momentum 0.99, epsilon 1e-3, moving statistics updated
    as moving = moving * momentum + batch * (1 - momentum) while training.
    Weights, in Keras order: gamma, beta, moving_mean, moving_variance.

    ``synchronized=True``: in data-parallel training (engine.distribute) the batch
    statistics are those of the global batch, every rank's part together, rather than of
    each rank's own part (CPU only); elsewhere it changes nothing."""

    supports_masking = True  # step by step: the mask passes through (Keras)

    def __init__(self, axis=1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones", synchronized=False,
                 **kwargs):
        super().__init__(**kwargs)
        if _args.integer(self, "axis", axis) != 1:
            raise ValueError(f"BatchNormalization: axis must be 1, the channel axis (NCHW), got {axis!r}")
        self.axis = 1
        self.momentum = _args.real(self, "momentum", momentum, low=0.0, high=1.0)
        self.epsilon = _args.real(self, "epsilon", epsilon, low=0.0, low_open=True)
        self.center = _args.boolean(self, "center", center)
        self.scale = _args.boolean(self, "scale", scale)
        self.synchronized = _args.boolean(self, "synchronized", synchronized)
        inits = {"gamma_initializer": gamma_initializer, "beta_initializer": beta_initializer,
                 "moving_mean_initializer": moving_mean_initializer,
                 "moving_variance_initializer": moving_variance_initializer}
        self._inits = [_args.resolve(self, name, _initializers.get, value) for name, value in inits.items()]

    def build(self, input_shape):
        if len(input_shape) < 2 or input_shape[1] is None:
            raise ValueError(f"{self.name}: needs a known channel dimension 1, got {input_shape}")
        c = (input_shape[1],)
        gamma_init, beta_init, mean_init, var_init = self._inits
        # Without scale/center the weights still exist as constants 1 / 0 (ONNX needs them).
        self.gamma = self.add_weight(name="gamma", shape=c, initializer=gamma_init if self.scale else "ones",
                                     trainable=self.scale)
        self.beta = self.add_weight(name="beta", shape=c, initializer=beta_init if self.center else "zeros",
                                    trainable=self.center)
        self.moving_mean = self.add_weight(name="moving_mean", shape=c, initializer=mean_init, trainable=False)
        self.moving_variance = self.add_weight(name="moving_variance", shape=c, initializer=var_init, trainable=False)
        self.built = True

    def emit(self, b, inputs, input_shapes):
        args = [inputs[0], b.param(self.gamma, self.trainable and self.scale),
                b.param(self.beta, self.trainable and self.center),
                b.param(self.moving_mean, False), b.param(self.moving_variance, False)]
        attrs = {"epsilon": self.epsilon, "momentum": self.momentum}
        if self.synchronized and b.training:  # training graphs only: not an ONNX attribute
            attrs["synchronized"] = 1
        return b.node("BatchNormalization", args, attrs=attrs, name=self.name)

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale, "synchronized": self.synchronized}


class _AffineNormalization(Layer):
    """The gamma/beta arguments LayerNormalization and GroupNormalization share (Keras 3)."""

    def __init__(self, axis, epsilon, center, scale, beta_initializer, gamma_initializer, beta_regularizer,
                 gamma_regularizer, beta_constraint, gamma_constraint, **kwargs):
        super().__init__(**kwargs)
        self.axis = _args.axes(self, "axis", axis)
        self.epsilon = _args.real(self, "epsilon", epsilon, low=0.0, low_open=True)
        self.center = _args.boolean(self, "center", center)
        self.scale = _args.boolean(self, "scale", scale)
        self.beta_initializer = _args.resolve(self, "beta_initializer", _initializers.get, beta_initializer)
        self.gamma_initializer = _args.resolve(self, "gamma_initializer", _initializers.get, gamma_initializer)
        self.beta_regularizer = _args.resolve(self, "beta_regularizer", _regularizers.get, beta_regularizer)
        self.gamma_regularizer = _args.resolve(self, "gamma_regularizer", _regularizers.get, gamma_regularizer)
        self.beta_constraint = _args.resolve(self, "beta_constraint", _constraints.get, beta_constraint)
        self.gamma_constraint = _args.resolve(self, "gamma_constraint", _constraints.get, gamma_constraint)

    def _add_affine(self, shape, center=True):
        """gamma (when scale) then beta (when center), in Keras's order and names."""
        self.gamma = self.add_weight(name="gamma", shape=shape, initializer=self.gamma_initializer,
                                     regularizer=self.gamma_regularizer,
                                     constraint=self.gamma_constraint) if self.scale else None
        self.beta = self.add_weight(name="beta", shape=shape, initializer=self.beta_initializer,
                                    regularizer=self.beta_regularizer,
                                    constraint=self.beta_constraint) if self.center and center else None

    def _known_sizes(self, input_shape, axes, what):
        sizes = [input_shape[a] for a in axes]
        if any(d is None for d in sizes):
            raise ValueError(f"{self.name}: {what} needs known sizes on axes {list(axes)}, got inputs {input_shape}")
        return sizes

    def _affine(self, x, axes):
        """x * gamma + beta, the weights (sized along `axes`) broadcast over x's other axes.

        One operation reads x and the weights and reshapes them in the graph: engine.ops on a
        weight alone computes at once, on the value it has while tracing, which training
        would then leave behind."""
        weights = [w for w in (self.gamma, self.beta) if w is not None]
        if not weights:
            return x
        shape = (1,) + tuple(x.shape[a] if a in axes else 1 for a in range(1, len(x.shape)))

        def emit(b, names):
            target = b.constant(np.array(shape, np.int64), f"{self.name}/affine_shape")
            y = names[0]
            for op_type, w in zip(("Mul" if self.gamma is not None else "Add", "Add"), names[1:]):
                y = b.node(op_type, [y, b.node("Reshape", [w, target])[0]])[0]
            return [y]
        return _symbolic.apply("affine", [x] + weights, emit, lambda s, *_: tuple(s))

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon, "center": self.center,
                "scale": self.scale, "beta_regularizer": _regularizers.serialize(self.beta_regularizer),
                "gamma_regularizer": _regularizers.serialize(self.gamma_regularizer),
                "beta_constraint": _constraints.serialize(self.beta_constraint),
                "gamma_constraint": _constraints.serialize(self.gamma_constraint)}


class LayerNormalization(_AffineNormalization):
    """Normalizes each sample over `axis` (Keras 3: the last axis, epsilon 1e-3):
    (x - mean) / sqrt(var + epsilon) * gamma + beta, gamma and beta sized along `axis`.
    rms_scaling=True: x * gamma / sqrt(var + epsilon), not centred and without beta. (That is
    what Keras computes, the variance rather than the mean square its documentation names.)"""

    supports_masking = True  # step by step: the mask passes through (Keras)

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, rms_scaling=False,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None, **kwargs):
        super().__init__(axis, epsilon, center, scale, beta_initializer, gamma_initializer, beta_regularizer,
                         gamma_regularizer, beta_constraint, gamma_constraint, **kwargs)
        self.rms_scaling = _args.boolean(self, "rms_scaling", rms_scaling)

    def build(self, input_shape):
        axes = _args.resolve_axes(self, "axis", self.axis, len(input_shape))
        self._add_affine(tuple(self._known_sizes(input_shape, axes, "gamma and beta")),
                         center=not self.rms_scaling)
        self.built = True

    def call(self, inputs):
        axes = _args.resolve_axes(self, "axis", self.axis, len(inputs.shape))
        if not self.rms_scaling and axes == list(range(axes[0], len(inputs.shape))):
            return self._fused(inputs, axes)
        centred = inputs - ops.mean(inputs, axis=axes, keepdims=True)
        inverse_std = ops.rsqrt(ops.mean(ops.square(centred), axis=axes, keepdims=True) + self.epsilon)
        return self._affine((inputs if self.rms_scaling else centred) * inverse_std, axes)

    def _fused(self, inputs, axes):
        """The trailing axes (the usual case): one ONNX LayerNormalization node, whose Scale
        is gamma (ones without scale) and whose B is beta (absent without center)."""
        scale = self.gamma if self.gamma is not None else np.ones([inputs.shape[a] for a in axes], np.float32)
        operands = [inputs, scale] + ([self.beta] if self.beta is not None else [])
        attrs = {"axis": axes[0], "epsilon": self.epsilon}
        return _symbolic.apply("layer_normalization", operands,
                               lambda b, names: b.node("LayerNormalization", names, attrs=attrs),
                               lambda shape, *_: tuple(shape))

    def get_config(self):
        return {**super().get_config(), "rms_scaling": self.rms_scaling}


class GroupNormalization(_AffineNormalization):
    """Splits the channels into `groups` and normalizes each sample over every group (its
    channels and all other non-batch axes), then scales and shifts per channel.
    groups=-1 is one group per channel (instance normalization). The channel axis defaults to
    1, the engine's NCHW images (Keras's default -1 is the channel axis of NHWC)."""

    def __init__(self, groups=32, axis=1, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, **kwargs):
        super().__init__(axis, epsilon, center, scale, beta_initializer, gamma_initializer, beta_regularizer,
                         gamma_regularizer, beta_constraint, gamma_constraint, **kwargs)
        if isinstance(self.axis, tuple):
            raise TypeError(f"GroupNormalization: axis must be an integer (the channel axis), got {axis!r}")
        self.groups = _args.integer(self, "groups", groups)
        if self.groups == 0 or self.groups < -1:
            raise ValueError(f"GroupNormalization: groups must be a positive integer or -1 (one group per channel), "
                             f"got {groups!r}")

    def _groups(self, input_shape):
        axis = _args.resolve_axes(self, "axis", self.axis, len(input_shape))[0]
        channels = self._known_sizes(input_shape, [axis], "the channel axis")[0]
        groups = channels if self.groups == -1 else self.groups
        if groups > channels or channels % groups:
            raise ValueError(f"{self.name}: groups ({groups}) must divide the number of channels ({channels}) "
                             f"of inputs {input_shape}")
        return axis, channels, groups

    def build(self, input_shape):
        _, channels, _ = self._groups(input_shape)
        self._add_affine((channels,))
        self.built = True

    def call(self, inputs):
        shape = inputs.shape
        axis, channels, groups = self._groups(shape)
        rest = [a for a in range(1, len(shape)) if a != axis]
        self._known_sizes(shape, rest, "grouping the channels")
        # [N, ..., groups, channels / groups, ...]: the statistics over all axes but the batch
        # and the group axis.
        grouped_shape = (-1,) + tuple(shape[1:axis]) + (groups, channels // groups) + tuple(shape[axis + 1:])
        grouped = ops.reshape(inputs, grouped_shape)
        reduce = [a for a in range(1, len(grouped_shape)) if a != axis]
        centred = grouped - ops.mean(grouped, axis=reduce, keepdims=True)
        normalized = centred * ops.rsqrt(ops.mean(ops.square(centred), axis=reduce, keepdims=True) + self.epsilon)
        return self._affine(ops.reshape(normalized, (-1,) + tuple(shape[1:])), [axis])

    def get_config(self):
        return {**super().get_config(), "groups": self.groups}


class UnitNormalization(Layer):
    """x / ||x|| over `axis` (the L2 norm, its square floored at 1e-12 as Keras does)."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = _args.axes(self, "axis", axis)

    def call(self, inputs):
        axes = _args.resolve_axes(self, "axis", self.axis, len(inputs.shape))
        square_sum = ops.sum(ops.square(inputs), axis=axes, keepdims=True)
        return inputs * ops.rsqrt(ops.maximum(square_sum, 1e-12))

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}
