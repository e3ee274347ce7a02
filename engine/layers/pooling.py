"""MaxPool2D, AvgPool2D and GlobalAveragePooling2D on NCHW images."""
from engine.layers import _args
from engine.layers.base import Layer
from engine.layers.conv import PADDINGS, resolve_padding, window_output


class _Pool2D(Layer):
    op_type = None

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", **kwargs):
        super().__init__(**kwargs)
        self.pool_size = _args.int_tuple(self, "pool_size", pool_size)
        # Keras: strides=None means non-overlapping windows.
        self.strides = self.pool_size if strides is None else _args.int_tuple(self, "strides", strides)
        self.padding = _args.choice(self, "padding", padding, PADDINGS)

    def _pads(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(f"{self.name}: expects NCHW inputs of rank 4, got shape {input_shape}")
        return resolve_padding(self, self.padding, input_shape, self.pool_size, self.strides, (1, 1))

    def compute_output_shape(self, input_shape):
        pads = self._pads(input_shape)
        oh = window_output(input_shape[2], self.pool_size[0], self.strides[0], 1, pads[0], pads[2])
        ow = window_output(input_shape[3], self.pool_size[1], self.strides[1], 1, pads[1], pads[3])
        if (oh is not None and oh <= 0) or (ow is not None and ow <= 0):
            raise ValueError(f"{self.name}: pool {self.pool_size} does not fit input {input_shape}")
        return (input_shape[0], input_shape[1], oh, ow)

    def _attrs(self, input_shape):
        return {"kernel_shape": list(self.pool_size), "strides": list(self.strides), "pads": self._pads(input_shape)}

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size, "strides": self.strides,
                "padding": self.padding}


class MaxPool2D(_Pool2D):
    def emit(self, b, inputs, input_shapes):
        return b.node("MaxPool", inputs, attrs=self._attrs(input_shapes[0]), name=self.name)


class AvgPool2D(_Pool2D):
    """Average pooling; with padding='same' the padded cells are not counted (as Keras)."""

    def emit(self, b, inputs, input_shapes):
        attrs = {**self._attrs(input_shapes[0]), "count_include_pad": 0}
        return b.node("AveragePool", inputs, attrs=attrs, name=self.name)


class GlobalAveragePooling2D(Layer):
    """[N, C, H, W] -> [N, C] (keepdims=True keeps [N, C, 1, 1])."""

    def __init__(self, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.keepdims = _args.boolean(self, "keepdims", keepdims)

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(f"{self.name}: expects NCHW inputs of rank 4, got shape {input_shape}")
        return (input_shape[0], input_shape[1], 1, 1) if self.keepdims else (input_shape[0], input_shape[1])

    def emit(self, b, inputs, input_shapes):
        y = b.node("GlobalAveragePool", inputs, name=self.name)
        if self.keepdims:
            return y
        return b.node("Flatten", y, attrs={"axis": 1}, name=self.name + "/flatten")

    def get_config(self):
        return {**super().get_config(), "keepdims": self.keepdims}


MaxPooling2D = MaxPool2D
AveragePooling2D = AvgPool2D
GlobalAvgPool2D = GlobalAveragePooling2D
