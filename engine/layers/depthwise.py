"""DepthwiseConv2D and SeparableConv2D on NCHW images: ONNX Conv nodes with one group per
input channel (the pointwise half of a separable convolution is a 1x1 Conv). Kernels are in
ONNX layout: depthwise [C * depth_multiplier, 1, KH, KW], pointwise [filters, C * m, 1, 1]."""
from engine import constraints as _constraints
from engine import initializers as _initializers
from engine import regularizers as _regularizers
from engine.layers import _args
from engine.layers.conv import Conv2D


def _weight_arguments(layer, prefix, initializer, regularizer, constraint):
    setattr(layer, f"{prefix}_initializer", _args.resolve(layer, f"{prefix}_initializer", _initializers.get,
                                                          initializer))
    setattr(layer, f"{prefix}_regularizer", _args.resolve(layer, f"{prefix}_regularizer", _regularizers.get,
                                                          regularizer))
    setattr(layer, f"{prefix}_constraint", _args.resolve(layer, f"{prefix}_constraint", _constraints.get,
                                                         constraint))


def _weight_config(layer, prefix):
    # As Conv2D's config: initializers are not kept (a loaded layer gets the saved weights).
    return {f"{prefix}_regularizer": _regularizers.serialize(getattr(layer, f"{prefix}_regularizer")),
            f"{prefix}_constraint": _constraints.serialize(getattr(layer, f"{prefix}_constraint"))}


class DepthwiseConv2D(Conv2D):
    """Each input channel convolved with its own `depth_multiplier` filters (Conv with
    group = channels); the channels come with the first input."""

    def __init__(self, kernel_size, strides=(1, 1), padding="valid", depth_multiplier=1, dilation_rate=(1, 1),
                 activation=None, use_bias=True, depthwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, bias_regularizer=None, depthwise_constraint=None, bias_constraint=None,
                 **kwargs):
        self.depth_multiplier = _args.positive_int(type(self).__name__, "depth_multiplier", depth_multiplier)
        super().__init__(self.depth_multiplier, kernel_size, strides=strides, padding=padding,
                         dilation_rate=dilation_rate, activation=activation, use_bias=use_bias,
                         kernel_initializer=depthwise_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=depthwise_regularizer, bias_regularizer=bias_regularizer,
                         kernel_constraint=depthwise_constraint, bias_constraint=bias_constraint, **kwargs)
        self.groups = None  # the input channels, at build

    def _check(self, input_shape):
        if len(input_shape) != 4 or input_shape[1] is None:
            raise ValueError(f"{self.name}: expects NCHW inputs of rank 4 with known channels, got shape {input_shape}")
        if self.groups is not None and input_shape[1] != self.groups:
            raise ValueError(f"{self.name}: built for {self.groups} channels, got shape {input_shape}")

    def build(self, input_shape):
        self._check(input_shape)
        self.groups = input_shape[1]
        self.filters = self.groups * self.depth_multiplier
        super().build(input_shape)
        self.depthwise_kernel = self.kernel

    def get_config(self):
        config = super().get_config()
        for key in ("filters", "groups"):
            del config[key]
        config["depthwise_regularizer"] = config.pop("kernel_regularizer")
        config["depthwise_constraint"] = config.pop("kernel_constraint")
        return {**config, "depth_multiplier": self.depth_multiplier}


class SeparableConv2D(DepthwiseConv2D):
    """A depthwise convolution (no bias) followed by a 1x1 convolution to `filters` channels
    with the bias and the activation."""

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", dilation_rate=(1, 1),
                 depth_multiplier=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 pointwise_initializer="glorot_uniform", bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, depthwise_constraint=None,
                 pointwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(kernel_size, strides=strides, padding=padding, depth_multiplier=depth_multiplier,
                         dilation_rate=dilation_rate, activation=activation, use_bias=use_bias,
                         depthwise_initializer=depthwise_initializer, bias_initializer=bias_initializer,
                         depthwise_regularizer=depthwise_regularizer, bias_regularizer=bias_regularizer,
                         depthwise_constraint=depthwise_constraint, bias_constraint=bias_constraint, **kwargs)
        self.pointwise_filters = _args.positive_int(self, "filters", filters)
        _weight_arguments(self, "pointwise", pointwise_initializer, pointwise_regularizer, pointwise_constraint)

    def build(self, input_shape):
        use_bias, self.use_bias = self.use_bias, False  # the bias belongs to the pointwise half
        super().build(input_shape)
        self.use_bias = use_bias
        self.pointwise_kernel = self.add_weight(
            name="pointwise_kernel", shape=(self.pointwise_filters, self.filters, 1, 1),
            initializer=self.pointwise_initializer, regularizer=self.pointwise_regularizer,
            constraint=self.pointwise_constraint)
        o = self.weight_options
        self.bias = self.add_weight(name="bias", shape=(self.pointwise_filters,), initializer=self.bias_initializer,
                                    regularizer=o.bias_regularizer, constraint=o.bias_constraint) \
            if self.use_bias else None

    def compute_output_shape(self, input_shape):
        depthwise = super().compute_output_shape(input_shape)
        return (depthwise[0], self.pointwise_filters) + depthwise[2:]

    def emit_conv(self, b, x, input_shape):
        depthwise_attrs = {"kernel_shape": list(self.kernel_size), "strides": list(self.strides),
                           "pads": self._pads(input_shape), "dilations": list(self.dilation_rate),
                           "group": self.groups}
        y = b.node("Conv", [x, b.param(self.kernel, self.trainable)], attrs=depthwise_attrs,
                   name=f"{self.name}/depthwise")[0]
        args = [y, b.param(self.pointwise_kernel, self.trainable)]
        if self.use_bias:
            args.append(b.param(self.bias, self.trainable))
        return b.node("Conv", args, attrs={"kernel_shape": [1, 1]}, name=f"{self.name}/pointwise")[0]

    def get_config(self):
        return {**super().get_config(), "filters": self.pointwise_filters, **_weight_config(self, "pointwise")}
