"""MaxPool2D, AvgPool2D and GlobalAveragePooling2D on NCHW images, their 3-D forms on NCDHW
volumes; global max pooling of images and global pooling of sequences ([batch, steps,
features], Keras's 1-D layout)."""
from engine import ops
from engine.layers import _args
from engine.layers.base import Layer
from engine.layers.conv import PADDINGS, resolve_padding, window_output_shape


class _Pool2D(Layer):
    op_type = None
    rank = 2  # spatial axes

    def __init__(self, pool_size=None, strides=None, padding="valid", **kwargs):
        super().__init__(**kwargs)
        self.pool_size = _args.int_tuple(self, "pool_size", 2 if pool_size is None else pool_size, n=self.rank)
        # Keras: strides=None means non-overlapping windows.
        self.strides = self.pool_size if strides is None else _args.int_tuple(self, "strides", strides,
                                                                              n=self.rank)
        self.padding = _args.choice(self, "padding", padding, PADDINGS)

    def _pads(self, input_shape):
        if len(input_shape) != self.rank + 2:
            layout = "NCHW" if self.rank == 2 else "NCDHW"
            raise ValueError(f"{self.name}: expects {layout} inputs of rank {self.rank + 2}, got shape {input_shape}")
        return resolve_padding(self, self.padding, input_shape, self.pool_size, self.strides, (1,) * self.rank)

    def compute_output_shape(self, input_shape):
        return window_output_shape(self, input_shape, self.pool_size, self.strides, (1,) * self.rank,
                                   self._pads(input_shape), input_shape[1], "pool")

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


class MaxPool3D(MaxPool2D):
    """pool_size, strides: three values (depth, height, width); NCDHW volumes."""
    rank = 3


class AvgPool3D(AvgPool2D):
    """pool_size, strides: three values (depth, height, width); NCDHW volumes."""
    rank = 3


class GlobalAveragePooling2D(Layer):
    """[N, C, H, W] -> [N, C] (keepdims=True keeps [N, C, 1, 1])."""

    rank = 2

    def __init__(self, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.keepdims = _args.boolean(self, "keepdims", keepdims)

    def compute_output_shape(self, input_shape):
        if len(input_shape) != self.rank + 2:
            layout = "NCHW" if self.rank == 2 else "NCDHW"
            raise ValueError(f"{self.name}: expects {layout} inputs of rank {self.rank + 2}, got shape {input_shape}")
        keep = (1,) * self.rank if self.keepdims else ()
        return (input_shape[0], input_shape[1], *keep)

    def emit(self, b, inputs, input_shapes):
        y = b.node("GlobalAveragePool", inputs, name=self.name)
        if self.keepdims:
            return y
        return b.node("Flatten", y, attrs={"axis": 1}, name=self.name + "/flatten")

    def get_config(self):
        return {**super().get_config(), "keepdims": self.keepdims}


class GlobalAveragePooling3D(GlobalAveragePooling2D):
    """[N, C, D, H, W] -> [N, C] (keepdims=True keeps [N, C, 1, 1, 1])."""
    rank = 3


class _GlobalPooling(Layer):
    """Reduces every axis but the batch and the channels. `rank` is the inputs' rank; images
    default to channels_first (NCHW), sequences to channels_last ([batch, steps, features],
    as Keras's 1-D layers, the Embedding's outputs and recurrent layers' sequences)."""

    rank = None
    default_format = None
    reduce = None  # the engine.ops reduction, by name (ops is still loading here)

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = _args.data_format(self, data_format, self.default_format)
        self.keepdims = _args.boolean(self, "keepdims", keepdims)

    def build(self, input_shape):
        if len(input_shape) != self.rank:
            raise ValueError(f"{self.name}: expects inputs of rank {self.rank} ({self.data_format}, batch included), "
                             f"got shape {input_shape}")
        self.built = True

    def call(self, inputs):
        axes = list(range(2, self.rank)) if self.data_format == "channels_first" else list(range(1, self.rank - 1))
        return getattr(ops, self.reduce)(inputs, axis=axes, keepdims=self.keepdims)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}


class GlobalMaxPooling2D(_GlobalPooling):
    rank, default_format, reduce = 4, "channels_first", "max"


class GlobalAveragePooling1D(_GlobalPooling):
    """The mean over the steps; with a mask ([batch, steps], Keras's), the mean of the
    unmasked steps (an all-masked row divides 0 by 0, as Keras does)."""

    rank, default_format, reduce = 3, "channels_last", "mean"
    supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            return super().call(inputs)
        axis = 1 if self.data_format == "channels_last" else 2
        weights = ops.expand_dims(ops.cast(mask, "float32"), 2 if axis == 1 else 1)
        total = ops.sum(inputs * weights, axis=axis, keepdims=self.keepdims)
        return total / ops.sum(weights, axis=axis, keepdims=self.keepdims)

    def compute_mask(self, inputs, mask=None):
        return None


class GlobalMaxPooling1D(_GlobalPooling):
    rank, default_format, reduce = 3, "channels_last", "max"


MaxPooling2D = MaxPool2D
AveragePooling2D = AvgPool2D
MaxPooling3D = MaxPool3D
AveragePooling3D = AvgPool3D
GlobalAvgPool2D = GlobalAveragePooling2D
GlobalAvgPool3D = GlobalAveragePooling3D
GlobalMaxPool2D = GlobalMaxPooling2D
GlobalAvgPool1D = GlobalAveragePooling1D
GlobalMaxPool1D = GlobalMaxPooling1D
