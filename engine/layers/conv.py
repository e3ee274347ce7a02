"""Conv2D on NCHW images (Keras's channels_first), kernel in ONNX layout [OC, C/groups, KH, KW];
Conv3D on NCDHW volumes, kernel [OC, C/groups, KD, KH, KW]."""
from engine import activations as _activations
from engine.layers import _args
from engine.layers.base import Layer, set_kernel_layer_arguments

PADDINGS = ("valid", "same")


def same_pads(size, kernel, stride, dilation):
    """TensorFlow's "same" padding along one axis: output ceil(size / stride), odd pad at the end."""
    span = (kernel - 1) * dilation + 1
    out = -(-size // stride)
    total = max(0, (out - 1) * stride + span - size)
    return total // 2, total - total // 2


def window_output(size, kernel, stride, dilation, pad_begin, pad_end):
    if size is None:
        return None
    span = (kernel - 1) * dilation + 1
    return (size + pad_begin + pad_end - span) // stride + 1


def resolve_padding(layer, padding, input_shape, kernel, strides, dilations):
    """ONNX pads [top, left, bottom, right] (3-D: [front, top, left, back, bottom, right]) for
    Keras's "valid" / "same"."""
    r = len(kernel)
    if padding == "valid":
        return [0] * (2 * r)
    sizes = list(input_shape[2:2 + r])
    if any(size is None for size in sizes):
        if any(s != 1 for s in strides):
            raise ValueError(f"{layer.name}: padding='same' with strides needs known spatial sizes, "
                             f"got {input_shape}")
        sizes = [1] * r  # stride 1: the pads do not depend on the size
    begins, ends = zip(*(same_pads(sizes[a], kernel[a], strides[a], dilations[a]) for a in range(r)))
    return list(begins) + list(ends)


def window_output_shape(layer, input_shape, kernel, strides, dilations, pads, channels, what):
    """[N, channels, *output sizes] of a window op on [N, C, *sizes]; an error when the
    window does not fit."""
    r = len(kernel)
    out = [window_output(input_shape[2 + a], kernel[a], strides[a], dilations[a], pads[a], pads[r + a])
           for a in range(r)]
    if any(o is not None and o <= 0 for o in out):
        raise ValueError(f"{layer.name}: {what} {kernel} does not fit input {input_shape}"
                         + (f" with padding '{layer.padding}'" if what == "kernel" else ""))
    return (input_shape[0], channels, *out)


class Conv2D(Layer):
    rank = 2  # spatial axes

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", dilation_rate=(1, 1),
                 groups=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        self.filters = _args.positive_int(self, "filters", filters)
        self.kernel_size = _args.int_tuple(self, "kernel_size", kernel_size, n=self.rank)
        self.strides = _args.int_tuple(self, "strides", strides, n=self.rank)
        self.padding = _args.choice(self, "padding", padding, PADDINGS)
        self.dilation_rate = _args.int_tuple(self, "dilation_rate", dilation_rate, n=self.rank)
        self.groups = _args.positive_int(self, "groups", groups)
        if self.filters % self.groups:
            raise ValueError(f"{type(self).__name__}: groups must divide filters, got groups={groups!r} "
                             f"and filters={filters!r}")
        set_kernel_layer_arguments(self, activation, use_bias, kernel_initializer, bias_initializer,
                                   kernel_regularizer, bias_regularizer, kernel_constraint, bias_constraint)

    def _check(self, input_shape):
        if len(input_shape) != self.rank + 2:
            layout = "NCHW" if self.rank == 2 else "NCDHW"
            raise ValueError(f"{self.name}: expects {layout} inputs of rank {self.rank + 2}, got shape {input_shape}")
        channels = input_shape[1]
        if channels is None or channels % self.groups:
            raise ValueError(f"{self.name}: input channels {channels} must be known and divisible by groups={self.groups}")

    def build(self, input_shape):
        self._check(input_shape)
        kshape = (self.filters, input_shape[1] // self.groups) + self.kernel_size
        o = self.weight_options
        self.kernel = self.add_weight(name="kernel", shape=kshape, initializer=self.kernel_initializer,
                                      regularizer=o.kernel_regularizer, constraint=o.kernel_constraint)
        self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer=self.bias_initializer,
                                    regularizer=o.bias_regularizer, constraint=o.bias_constraint) \
            if self.use_bias else None
        self.built = True

    def _pads(self, input_shape):
        return resolve_padding(self, self.padding, input_shape, self.kernel_size, self.strides, self.dilation_rate)

    def compute_output_shape(self, input_shape):
        self._check(input_shape)
        return window_output_shape(self, input_shape, self.kernel_size, self.strides, self.dilation_rate,
                                   self._pads(input_shape), self.filters, "kernel")

    def emit_conv(self, b, x, input_shape):
        """The Conv node (with bias) on NCHW value `x`, before the activation."""
        args = [x, b.param(self.kernel, self.trainable)]
        if self.use_bias:
            args.append(b.param(self.bias, self.trainable))
        attrs = {"kernel_shape": list(self.kernel_size), "strides": list(self.strides),
                 "pads": self._pads(input_shape), "dilations": list(self.dilation_rate), "group": self.groups}
        return b.node("Conv", args, attrs=attrs, name=self.name)[0]

    def emit_activation(self, b, y, shape):
        return _activations.emit(b, self.activation, y, f"{self.name}/{_activations.serialize(self.activation)}",
                                 shape)

    def emit(self, b, inputs, input_shapes):
        y = self.emit_conv(b, inputs[0], input_shapes[0])
        return [self.emit_activation(b, y, self.compute_output_shape(input_shapes[0]))]

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "strides": self.strides, "padding": self.padding, "dilation_rate": self.dilation_rate,
                "groups": self.groups, "activation": _activations.serialize(self.activation), "use_bias": self.use_bias,
                **self.weight_options.get_config()}


class Conv3D(Conv2D):
    """Conv2D's arguments with three values each (depth, height, width), on NCDHW volumes."""

    rank = 3

    def __init__(self, filters, kernel_size, strides=(1, 1, 1), padding="valid", dilation_rate=(1, 1, 1),
                 **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding, dilation_rate=dilation_rate,
                         **kwargs)


Convolution2D = Conv2D  # the Keras aliases
Convolution3D = Conv3D
