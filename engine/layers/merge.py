"""Add and Concatenate."""
from engine.layers import _args
from engine.layers.base import Layer


class Add(Layer):
    """Elementwise sum of several inputs of the same shape (numpy broadcasting allowed)."""

    def _check_inputs(self, inputs):
        if len(inputs) < 2:
            raise ValueError(f"{self.name}: needs at least 2 inputs, got {len(inputs)}")
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

    def emit(self, b, inputs, input_shapes):
        y = inputs[0]
        for k, x in enumerate(inputs[1:]):
            suffix = "" if k == len(inputs) - 2 else f"/{k}"
            y = b.node("Add", [y, x], name=self.name + suffix)[0]
        return [y]


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

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}
