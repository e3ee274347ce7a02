"""Permute, RepeatVector, Cropping2D and UpSampling2D, written with engine.ops (Transpose,
Tile, Slice and Gather nodes; Resize for bilinear upsampling). Images are NCHW unless data_format="channels_last"."""
import numpy as np

from engine import ops
from engine.layers import _args
from engine.layers.base import Layer
from engine.ops import _symbolic  # (engine.ops is still loading here: its names are read at call time)


def _require_rank(layer, shape, rank, what):
    if len(shape) != rank:
        raise ValueError(f"{layer.name}: expects {what} inputs of rank {rank} (batch included), got shape {shape}")


def _spatial_axes(data_format):
    """The (height, width) axes of a rank-4 image tensor."""
    return (2, 3) if data_format == "channels_first" else (1, 2)


class Permute(Layer):
    """Reorders the non-batch axes: dims is a permutation of 1..rank-1 (Keras counts from 1,
    the batch axis staying first)."""

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        expected = "a permutation of 1, 2, ..., n (the batch axis 0 is not in it)"
        self.dims = tuple(_args.integer(self, "dims", d, expected=expected, shown=dims)
                          for d in _args.sequence(self, "dims", dims, expected))
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ValueError(f"Permute: dims must be {expected}, got {dims!r}")

    def build(self, input_shape):
        _require_rank(self, input_shape, len(self.dims) + 1, f"dims={self.dims}")
        self.built = True

    def call(self, inputs):
        return ops.transpose(inputs, (0,) + self.dims)

    def get_config(self):
        return {**super().get_config(), "dims": self.dims}


class RepeatVector(Layer):
    """[N, features] -> [N, n, features]: the input repeated n times on a new axis 1."""

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        self.n = _args.positive_int(self, "n", n)

    def build(self, input_shape):
        _require_rank(self, input_shape, 2, "[batch, features]")
        self.built = True

    def call(self, inputs):
        return ops.tile(ops.expand_dims(inputs, 1), (1, self.n, 1))

    def get_config(self):
        return {**super().get_config(), "n": self.n}


def _int_pairs(owner, name, value):
    """Keras's ((top, bottom), (left, right)) from an int, two ints (symmetric per axis) or
    two pairs, every entry >= 0."""
    expected = "a non-negative integer, a tuple of 2 of them, or a tuple of 2 tuples of 2 of them"
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise ValueError(f"{owner}: {name} must be {expected}, got {value!r}")
        pairs = []
        for item in value:
            pair = tuple(item) if isinstance(item, (list, tuple)) else (item, item)
            if len(pair) != 2:
                raise ValueError(f"{owner}: {name} must be {expected}, got {value!r}")
            pairs.append(pair)
    else:
        pairs = [(value, value), (value, value)]
    return tuple(tuple(_args.integer(owner, name, v, minimum=0, expected=expected, shown=value) for v in pair)
                 for pair in pairs)


class Cropping2D(Layer):
    """Removes rows and columns at the image borders: cropping ((top, bottom), (left, right))."""

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.cropping = _int_pairs("Cropping2D", "cropping", cropping)
        self.data_format = _args.data_format(self, data_format, "channels_first")

    def build(self, input_shape):
        _require_rank(self, input_shape, 4, "image")
        for axis, (begin, end) in zip(_spatial_axes(self.data_format), self.cropping):
            size = input_shape[axis]
            if size is not None and begin + end >= size:
                raise ValueError(f"{self.name}: cropping {self.cropping} leaves nothing of inputs {input_shape}")
        self.built = True

    def call(self, inputs):
        index = [slice(None)] * 4
        for axis, (begin, end) in zip(_spatial_axes(self.data_format), self.cropping):
            index[axis] = slice(begin, -end if end else None)
        return inputs[tuple(index)]

    def get_config(self):
        return {**super().get_config(), "cropping": self.cropping, "data_format": self.data_format}


class ZeroPadding2D(Layer):
    """Adds rows and columns of zeros at the image borders: padding ((top, bottom), (left,
    right)), one int for all four, or (rows, columns) for both sides."""

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.padding = _int_pairs("ZeroPadding2D", "padding", padding)
        self.data_format = _args.data_format(self, data_format, "channels_first")

    def build(self, input_shape):
        _require_rank(self, input_shape, 4, "image")
        self.built = True

    def call(self, inputs):
        widths = [(0, 0)] * 4
        for axis, pair in zip(_spatial_axes(self.data_format), self.padding):
            widths[axis] = pair
        return ops.pad(inputs, widths)

    def get_config(self):
        return {**super().get_config(), "padding": self.padding, "data_format": self.data_format}


INTERPOLATIONS = ("nearest", "bilinear")


class UpSampling2D(Layer):
    """Enlarges images by integer factors `size` (rows, columns): nearest repeats each pixel;
    bilinear interpolates between neighbours (half-pixel centres, as Keras's resize)."""

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        self.size = _args.int_tuple(self, "size", size)
        self.data_format = _args.data_format(self, data_format, "channels_first")
        self.interpolation = _args.choice(self, "interpolation", interpolation, INTERPOLATIONS)

    def build(self, input_shape):
        _require_rank(self, input_shape, 4, "image")
        for axis in _spatial_axes(self.data_format):
            if input_shape[axis] is None:
                raise ValueError(f"{self.name}: needs known image sizes, got inputs {input_shape}")
        self.built = True

    def call(self, inputs):
        if self.size == (1, 1):
            return ops.getitem(inputs, ())
        if self.interpolation == "bilinear":
            return self._bilinear(inputs)
        outputs = inputs
        for axis, factor in zip(_spatial_axes(self.data_format), self.size):
            if factor != 1:
                repeat = np.repeat(np.arange(inputs.shape[axis], dtype=np.int64), factor)
                outputs = ops.take(outputs, repeat, axis=axis)
        return outputs

    def _bilinear(self, x):
        """One Resize node: linear, half-pixel centres, edges clamped (TensorFlow's and JAX's
        resize without antialiasing, which Keras uses)."""
        scales = np.ones(4, np.float32)
        for axis, factor in zip(_spatial_axes(self.data_format), self.size):
            scales[axis] = factor

        def emit(b, names):
            return b.node("Resize", [names[0], "", b.constant(scales, f"{self.name}/scales")],
                          attrs={"mode": "linear", "coordinate_transformation_mode": "half_pixel"})

        def rule(s):
            return tuple(None if d is None else d * int(f) for d, f in zip(s, scales))
        return _symbolic.apply("resize", [x], emit, rule)

    def get_config(self):
        return {**super().get_config(), "size": self.size, "data_format": self.data_format,
                "interpolation": self.interpolation}
