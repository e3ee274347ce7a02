"""Conv1D, MaxPooling1D and AveragePooling1D on sequences: [batch, steps, channels] (Keras's
default, data_format="channels_last", as Embedding and recurrent layers give them) or
[batch, channels, steps]. Each runs as its 2-D counterpart on the sequence seen as an image
of height 1 ([N, C, 1, steps]), which is how it appears in ONNX files too."""
import numpy as np

from engine.layers import _args
from engine.layers.conv import Conv2D, same_pads
from engine.layers.pooling import AvgPool2D, MaxPool2D


class _OnImages:
    """The image view of a sequence layer: shapes, and the nodes into and out of it."""

    def _set_format(self, data_format):
        self.data_format = _args.data_format(self, data_format, "channels_last")

    def _image_shape(self, shape):
        if len(shape) != 3:
            raise ValueError(f"{self.name}: expects sequences of rank 3 ({self.data_format}, batch included), "
                             f"got shape {shape}")
        n, a, b = shape
        return (n, b, 1, a) if self.data_format == "channels_last" else (n, a, 1, b)

    def _sequence_shape(self, image_shape):
        n, c, _, steps = image_shape
        return (n, steps, c) if self.data_format == "channels_last" else (n, c, steps)

    def _to_image(self, b, x):
        if self.data_format == "channels_last":
            x = b.node("Transpose", [x], attrs={"perm": [0, 2, 1]}, name=f"{self.name}/to_channels_first")[0]
        axes = b.constant(_AXIS_2, f"{self.name}/height")
        return b.node("Unsqueeze", [x, axes], name=f"{self.name}/to_image")[0]

    def _to_sequence(self, b, y):
        axes = b.constant(_AXIS_2, f"{self.name}/height")
        y = b.node("Squeeze", [y, axes], name=f"{self.name}/to_sequence")[0]
        if self.data_format == "channels_last":
            y = b.node("Transpose", [y], attrs={"perm": [0, 2, 1]}, name=f"{self.name}/to_channels_last")[0]
        return y


_AXIS_2 = np.array([2], np.int64)  # the height axis of the image view


class Conv1D(_OnImages, Conv2D):
    """padding "valid", "same" or "causal" (left padding only: output t sees inputs <= t, as
    in WaveNet). The kernel is [filters, channels / groups, 1, kernel_size]."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 groups=1, **kwargs):
        causal = padding == "causal"
        super().__init__(filters, (1, _args.int_tuple("Conv1D", "kernel_size", kernel_size, n=1)[0]),
                         strides=(1, _args.int_tuple("Conv1D", "strides", strides, n=1)[0]),
                         padding="valid" if causal else padding,
                         dilation_rate=(1, _args.int_tuple("Conv1D", "dilation_rate", dilation_rate, n=1)[0]),
                         groups=groups, **kwargs)
        self.padding = "causal" if causal else self.padding
        self._set_format(data_format)

    def _pads(self, input_shape):
        k, s, d = self.kernel_size[1], self.strides[1], self.dilation_rate[1]
        if self.padding == "causal":
            return [0, (k - 1) * d, 0, 0]
        if self.padding == "valid":
            return [0, 0, 0, 0]
        steps = input_shape[3]
        if steps is None and s != 1:
            raise ValueError(f"{self.name}: padding='same' with strides needs a known length, got {input_shape}")
        left, right = same_pads(1 if steps is None else steps, k, s, d)
        return [0, left, 0, right]

    def build(self, input_shape):
        super().build(self._image_shape(input_shape))

    def compute_output_shape(self, input_shape):
        return self._sequence_shape(super().compute_output_shape(self._image_shape(input_shape)))

    def emit(self, b, inputs, input_shapes):
        y = self.emit_conv(b, self._to_image(b, inputs[0]), self._image_shape(input_shapes[0]))
        return [self.emit_activation(b, self._to_sequence(b, y), self.compute_output_shape(input_shapes[0]))]

    def get_config(self):
        return {**super().get_config(), "kernel_size": self.kernel_size[1], "strides": self.strides[1],
                "dilation_rate": self.dilation_rate[1], "data_format": self.data_format}


class _Pool1D(_OnImages):
    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        pool = _args.int_tuple(type(self).__name__, "pool_size", pool_size, n=1)[0]
        step = pool if strides is None else _args.int_tuple(type(self).__name__, "strides", strides, n=1)[0]
        super().__init__(pool_size=(1, pool), strides=(1, step), padding=padding, **kwargs)
        self._set_format(data_format)

    def compute_output_shape(self, input_shape):
        return self._sequence_shape(super().compute_output_shape(self._image_shape(input_shape)))

    def emit(self, b, inputs, input_shapes):
        image = self._to_image(b, inputs[0])
        y = super().emit(b, [image], [self._image_shape(input_shapes[0])])[0]
        return [self._to_sequence(b, y)]

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size[1], "strides": self.strides[1],
                "data_format": self.data_format}


class MaxPooling1D(_Pool1D, MaxPool2D):
    pass


class AveragePooling1D(_Pool1D, AvgPool2D):
    """Padded steps are not counted in the averages (as Keras)."""


MaxPool1D = MaxPooling1D
AvgPool1D = AveragePooling1D
