"""BatchNormalization over the channel axis 1 (NCHW images, or [N, features])."""
from engine import initializers as _initializers
from engine.layers import _args
from engine.layers.base import Layer


class BatchNormalization(Layer):
    """Keras semantics and defaults: momentum 0.99, epsilon 1e-3, moving statistics updated
    as moving = moving * momentum + batch * (1 - momentum) while training.
    Weights, in Keras order: gamma, beta, moving_mean, moving_variance."""

    def __init__(self, axis=1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones", **kwargs):
        super().__init__(**kwargs)
        if _args.integer(self, "axis", axis) != 1:
            raise ValueError(f"BatchNormalization: axis must be 1, the channel axis (NCHW), got {axis!r}")
        self.axis = 1
        self.momentum = _args.real(self, "momentum", momentum, low=0.0, high=1.0)
        self.epsilon = _args.real(self, "epsilon", epsilon, low=0.0, low_open=True)
        self.center = _args.boolean(self, "center", center)
        self.scale = _args.boolean(self, "scale", scale)
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
        return b.node("BatchNormalization", args, attrs=attrs, name=self.name)

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale}
