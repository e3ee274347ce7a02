"""The merge layers: Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate and Dot,
with Keras 3's functional forms (add, subtract, ..., dot).

Masks follow Keras 3: the elementwise merges' output mask is the OR of their inputs' masks
when every input has one (else none); Concatenate's is the OR over the last axis of the
inputs' masks broadcast to the inputs and concatenated (an unmasked input counts as all
True); Dot's is none.
"""
import numpy as np

from engine.layers import _args
from engine.layers.base import Layer


class _Merge(Layer):
    """Elementwise merge of several inputs of one shape (numpy broadcasting allowed)."""

    min_inputs = 2
    max_inputs = None

    def _check_inputs(self, inputs):
        count = "exactly 2" if self.max_inputs == 2 else f"at least {self.min_inputs}"
        if len(inputs) < self.min_inputs or (self.max_inputs is not None and len(inputs) > self.max_inputs):
            raise ValueError(f"{self.name}: needs {count} inputs, got {len(inputs)}")
        ranks = {len(t.shape) for t in inputs}
        shapes = [t.shape for t in inputs]
        if len(ranks) != 1 or any(
            len({d for d in dims if d not in (None, 1)}) > 1 for dims in zip(*shapes)
        ):
            raise ValueError(f"{self.name}: inputs of incompatible shapes {shapes}")

    def compute_output_shape(self, input_shapes):
        out = []
        for dims in zip(*input_shapes):
            sizes = {d for d in dims if d not in (None, 1)}
            out.append(sizes.pop() if sizes else (1 if all(d == 1 for d in dims) else None))
        return tuple(out)

    def compute_mask(self, inputs, mask=None):
        from engine import ops  # ops build on layers

        if mask is None or any(m is None for m in mask):
            return None
        out = mask[0]
        for m in mask[1:]:
            out = ops.logical_or(out, m)
        return out

    def emit(self, b, inputs, input_shapes):
        return [self._combine(b, inputs)]

    def _chain(self, b, op_type, inputs):
        """inputs[0] op inputs[1] op ...: one binary node per input after the first."""
        y = inputs[0]
        for k, x in enumerate(inputs[1:]):
            suffix = "" if k == len(inputs) - 2 else f"/{k}"
            y = b.node(op_type, [y, x], name=self.name + suffix)[0]
        return y


class Add(_Merge):
    """Elementwise sum of the inputs."""

    def _combine(self, b, inputs):
        return self._chain(b, "Add", inputs)


class Subtract(_Merge):
    """inputs[0] - inputs[1] (exactly two inputs)."""

    max_inputs = 2

    def _combine(self, b, inputs):
        return self._chain(b, "Sub", inputs)


class Multiply(_Merge):
    """Elementwise product of the inputs."""

    def _combine(self, b, inputs):
        return self._chain(b, "Mul", inputs)


class Average(_Merge):
    """Elementwise mean of the inputs."""

    def _combine(self, b, inputs):
        total = self._chain(b, "Add", inputs)
        share = b.constant(np.array(1.0 / len(inputs), np.float32), self.name + "/share")
        return b.node("Mul", [total, share], name=self.name + "/mean")[0]


class Maximum(_Merge):
    """Elementwise maximum of the inputs (one ONNX Max node)."""

    def _combine(self, b, inputs):
        return b.node("Max", list(inputs), name=self.name)[0]


class Minimum(_Merge):
    """Elementwise minimum of the inputs (one ONNX Min node)."""

    def _combine(self, b, inputs):
        return b.node("Min", list(inputs), name=self.name)[0]


class Concatenate(Layer):
    """Concatenation along `axis` (Keras default -1; use axis=1 for NCHW channels)."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = _args.integer(self, "axis", axis)

    def _check_inputs(self, inputs):
        if len(inputs) < 2:
            raise ValueError(f"{self.name}: needs at least 2 inputs, got {len(inputs)}")
        shapes = [t.shape for t in inputs]
        rank = len(shapes[0])
        if any(len(s) != rank for s in shapes) or not -rank <= self.axis < rank:
            raise ValueError(f"{self.name}: cannot concatenate shapes {shapes} on axis {self.axis}")
        axis = self.axis % rank
        for d in range(1, rank):
            dims = {s[d] for s in shapes if s[d] is not None}
            if d != axis and len(dims) > 1:
                raise ValueError(f"{self.name}: shapes {shapes} differ outside axis {self.axis}")

    def compute_output_shape(self, input_shapes):
        rank = len(input_shapes[0])
        axis = self.axis % rank
        out = list(input_shapes[0])
        sizes = [s[axis] for s in input_shapes]
        out[axis] = None if any(d is None for d in sizes) else sum(sizes)
        return tuple(out)

    def emit(self, b, inputs, input_shapes):
        return b.node("Concat", inputs, attrs={"axis": self.axis}, name=self.name)

    def compute_mask(self, inputs, mask=None):
        from engine import ops  # ops build on layers

        if mask is None or all(m is None for m in mask):
            return None
        full = []  # each input's mask broadcast to the input (all True where it has none)
        for x, m in zip(inputs, mask):
            falses = ops.not_equal(ops.zeros_like(x, "float32"), 0.0)  # bool of x's shape
            if m is None:
                full.append(ops.logical_not(falses))
            elif len(m.shape) < len(x.shape):
                full.append(ops.logical_or(ops.expand_dims(m, -1), falses))
            else:
                full.append(m)
        joined = ops.cast(ops.concatenate(full, axis=self.axis), "float32")
        return ops.cast(ops.max(joined, axis=-1), "bool")

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class Dot(Layer):
    """Keras's batch dot product of two inputs: the sum over axes[0] of the first and
    axes[1] of the second, for each sample. axes is one int for both or a pair; normalize
    L2-normalizes both along those axes first (cosine similarity). The output holds the
    first input's other dims, then the second's (at least [batch, 1])."""

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        pair = list(axes) if isinstance(axes, (list, tuple)) else [axes, axes]
        if len(pair) != 2:
            raise ValueError(f"{type(self).__name__}: axes must be an int or a pair of ints, got {axes!r}")
        self.axes = [_args.integer(self, "axes", a) for a in pair]
        self.normalize = _args.boolean(self, "normalize", normalize)

    def _resolved_axes(self, shapes):
        axes = []
        for a, shape in zip(self.axes, shapes):
            rank = len(shape)
            if not -rank <= a < rank or a % rank == 0:
                raise ValueError(f"{self.name}: axis {a} is out of range for an input of shape {shape} (the "
                                 "batch axis cannot be reduced)")
            axes.append(a % rank)
        return axes

    def _check_inputs(self, inputs):
        if len(inputs) != 2:
            raise ValueError(f"{self.name}: needs exactly 2 inputs, got {len(inputs)}")
        shapes = [t.shape for t in inputs]
        if any(len(s) < 2 for s in shapes):
            raise ValueError(f"{self.name}: inputs must be at least [batch, dim], got shapes {shapes}")
        a, b = self._resolved_axes(shapes)
        if None not in (shapes[0][a], shapes[1][b]) and shapes[0][a] != shapes[1][b]:
            raise ValueError(f"{self.name}: axis {a} of {shapes[0]} and axis {b} of {shapes[1]} differ in size")

    def compute_output_shape(self, input_shapes):
        (x, y), (a, b) = input_shapes, self._resolved_axes(input_shapes)
        rest = tuple(x[1:a]) + tuple(x[a + 1:]) + tuple(y[1:b]) + tuple(y[b + 1:])
        return (x[0],) + (rest or (1,))

    def call(self, inputs):
        from engine import ops  # ops build on layers

        x, y = inputs
        a, b = self._resolved_axes([x.shape, y.shape])
        if self.normalize:
            # x / max(|x|, 1e-7), Keras's epsilon, kept away from sqrt(0) for the gradient
            x = x * ops.rsqrt(ops.maximum(ops.sum(ops.square(x), axis=a, keepdims=True), 1e-14))
            y = y * ops.rsqrt(ops.maximum(ops.sum(ops.square(y), axis=b, keepdims=True), 1e-14))
        # x as [batch, rest of x, k] and y as [batch, k, rest of y]: one batched MatMul.
        x_rest, y_rest = list(x.shape[1:a]) + list(x.shape[a + 1:]), list(y.shape[1:b]) + list(y.shape[b + 1:])
        if None in x_rest + y_rest:
            raise ValueError(f"{self.name}: the dims of the inputs other than the batch must be known, got "
                             f"{x.shape} and {y.shape}")
        k = x.shape[a] if x.shape[a] is not None else y.shape[b]
        x = ops.transpose(x, [0] + [d for d in range(1, len(x.shape)) if d != a] + [a])
        y = ops.transpose(y, [0, b] + [d for d in range(1, len(y.shape)) if d != b])
        x = ops.reshape(x, (-1, int(np.prod(x_rest, dtype=np.int64)), k))
        y = ops.reshape(y, (-1, k, int(np.prod(y_rest, dtype=np.int64))))
        return ops.reshape(ops.matmul(x, y), (-1,) + tuple(x_rest + y_rest or [1]))

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


def _functional(layer_class, doc):
    def merge(inputs, **kwargs):
        return layer_class(**kwargs)(inputs)
    merge.__name__ = merge.__qualname__ = layer_class.__name__.lower()
    merge.__doc__ = doc
    return merge


add = _functional(Add, "Add()(inputs): the functional form of the Add layer.")
subtract = _functional(Subtract, "Subtract()(inputs): the functional form of the Subtract layer.")
multiply = _functional(Multiply, "Multiply()(inputs): the functional form of the Multiply layer.")
average = _functional(Average, "Average()(inputs): the functional form of the Average layer.")
maximum = _functional(Maximum, "Maximum()(inputs): the functional form of the Maximum layer.")
minimum = _functional(Minimum, "Minimum()(inputs): the functional form of the Minimum layer.")
concatenate = _functional(Concatenate, "Concatenate(axis, ...)(inputs): the functional form of Concatenate.")
dot = _functional(Dot, "Dot(axes, normalize, ...)(inputs): the functional form of the Dot layer.")
