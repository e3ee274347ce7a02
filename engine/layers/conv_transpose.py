"""Conv2DTranspose on NCHW images (Keras's channels_first): one ONNX ConvTranspose node,
kernel in ONNX layout [C, filters, KH, KW] (Keras keeps [KH, KW, filters, C])."""
from engine.layers import _args
from engine.layers.conv import Conv2D


def transpose_padding(padding, kernel, stride, dilation, output_padding):
    """Keras's output size rule along one axis as ONNX attributes: (pad_begin, pad_end,
    output_padding). Keras describes the op as a convolution over the stride-dilated input
    padded by (left, right) (its JAX backend's form); ONNX crops the full scatter instead,
    by pad_begin = span - 1 - left at the start and span - 1 - right at the end, and a
    negative crop at the end is ONNX's output_padding."""
    span = (kernel - 1) * dilation + 1
    if padding == "valid":
        extra = max(span, stride) - span if output_padding is None else output_padding
        left, right = span - 1, span - 1 + extra
    else:
        if output_padding is None:
            pad_len = stride + span - 2  # output = input * stride
        else:
            pad_len = span + span % 2 - 2 + output_padding
        left = min(pad_len // 2 + pad_len % 2, span - 1)
        right = pad_len - left
    end = span - 1 - right
    return span - 1 - left, max(end, 0), max(-end, 0)


class Conv2DTranspose(Conv2D):
    """The transpose (gradient) of Conv2D: each input pixel scatters its kernel-weighted
    channels into a window of the output. Output size along an axis (Keras): "valid":
    (size - 1) * stride + max(span, stride), "same": size * stride; with output_padding p,
    (size - 1) * stride + span - 2 * (span // 2 if "same" else 0) + p, where span =
    (kernel - 1) * dilation + 1."""

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", output_padding=None,
                 data_format=None, dilation_rate=(1, 1), activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", kernel_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding, dilation_rate=dilation_rate,
                         activation=activation, use_bias=use_bias, kernel_initializer=kernel_initializer,
                         bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
                         bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                         bias_constraint=bias_constraint, **kwargs)
        if _args.data_format(self, data_format, "channels_first") != "channels_first":
            raise ValueError(f"{type(self).__name__}: data_format must be 'channels_first' (NCHW), "
                             f"got {data_format!r}")
        self.output_padding = None
        if output_padding is not None:
            items = tuple(output_padding) if isinstance(output_padding, (list, tuple)) else (output_padding,) * 2
            expected = "an integer >= 0, or a tuple of 2 of them"
            if len(items) != 2:
                raise ValueError(f"{type(self).__name__}: output_padding must be {expected}, got {output_padding!r}")
            self.output_padding = tuple(_args.integer(self, "output_padding", v, minimum=0, expected=expected,
                                                      shown=output_padding) for v in items)
            if any(p >= s for p, s in zip(self.output_padding, self.strides)):
                raise ValueError(f"{type(self).__name__}: output_padding {self.output_padding} must be "
                                 f"smaller than the strides {self.strides}")

    def build(self, input_shape):
        self._check(input_shape)
        kshape = (input_shape[1], self.filters) + self.kernel_size
        o = self.weight_options
        self.kernel = self.add_weight(name="kernel", shape=kshape, initializer=self.kernel_initializer,
                                      regularizer=o.kernel_regularizer, constraint=o.kernel_constraint)
        self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer=self.bias_initializer,
                                    regularizer=o.bias_regularizer, constraint=o.bias_constraint) \
            if self.use_bias else None
        self.built = True

    def _axes(self):
        """Per axis (pad_begin, pad_end, output_padding); they do not depend on the input size."""
        return [transpose_padding(self.padding, self.kernel_size[a], self.strides[a], self.dilation_rate[a],
                                  None if self.output_padding is None else self.output_padding[a])
                for a in range(2)]

    def compute_output_shape(self, input_shape):
        self._check(input_shape)
        out = []
        for a, (begin, end, extra) in enumerate(self._axes()):
            size = input_shape[2 + a]
            span = (self.kernel_size[a] - 1) * self.dilation_rate[a] + 1
            out.append(None if size is None else (size - 1) * self.strides[a] + span + extra - begin - end)
        return (input_shape[0], self.filters, out[0], out[1])

    def emit_conv(self, b, x, input_shape):
        """The ConvTranspose node (with bias) on NCHW value `x`, before the activation."""
        args = [x, b.param(self.kernel, self.trainable)]
        if self.use_bias:
            args.append(b.param(self.bias, self.trainable))
        (top, bottom, extra_h), (left, right, extra_w) = self._axes()
        attrs = {"kernel_shape": list(self.kernel_size), "strides": list(self.strides),
                 "pads": [top, left, bottom, right], "dilations": list(self.dilation_rate),
                 "output_padding": [extra_h, extra_w]}
        return b.node("ConvTranspose", args, attrs=attrs, name=self.name)[0]

    def get_config(self):
        config = super().get_config()
        del config["groups"]
        return {**config, "output_padding": self.output_padding, "data_format": "channels_first"}


Convolution2DTranspose = Conv2DTranspose  # the Keras alias
