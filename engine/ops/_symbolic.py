"""How one engine.ops function serves both worlds: on numpy arrays it runs now and returns
arrays; on symbolic tensors (a model being built, a layer's call() being traced) it adds an
Operation to the graph and returns a symbolic tensor.

A function describes its computation once, as `emit(builder, operand names) -> output
names` plus a rule for its output shapes; both paths use that one description, so what a
model computes is what the same call computes on arrays.
"""
import numpy as np

from engine import _core
from engine.layers.base import GraphBuilder, KerasTensor, Layer, Variable, tracing, unique_name

_DTYPES = {"float32": np.float32, "int64": np.int64, "bool": np.bool_}


def is_symbolic(*values):
    return any(isinstance(v, KerasTensor) for v in _flat(values))


def _flat(values):
    for v in values:
        if isinstance(v, (list, tuple)):
            yield from _flat(v)
        else:
            yield v


def dtype_name(value):
    """The engine dtype of an operand: float32, int64 or bool."""
    if isinstance(value, (KerasTensor, Variable)):
        return str(value.dtype)
    kind = np.asarray(value).dtype.kind
    return "bool" if kind == "b" else "int64" if kind in "iu" else "float32"


def as_array(value, like=None):
    """A numpy operand in an engine dtype. A Python scalar takes the dtype of `like` (the
    other operand), so `x + 1` on int64 stays int64 and on float32 stays float32."""
    if isinstance(value, Variable):
        return value.value
    if isinstance(value, (bool, int, float)) and like is not None:
        return np.asarray(value, dtype=_DTYPES[like])
    arr = np.asarray(value)
    return arr.astype(_DTYPES[dtype_name(arr)], copy=False)


def broadcast_shapes(*shapes):
    """numpy's rule on shapes that may hold None (a size known only at run time)."""
    rank = max(len(s) for s in shapes)
    out = []
    for dims in zip(*[(1,) * (rank - len(s)) + tuple(s) for s in shapes]):
        known = {d for d in dims if d is not None and d != 1}
        if len(known) > 1:
            raise ValueError(f"shapes {', '.join(str(tuple(s)) for s in shapes)} do not broadcast")
        if known:
            out.append(known.pop())
        elif None in dims:
            out.append(None)
        else:
            out.append(1)
    return tuple(out)


def shape_of(value):
    if isinstance(value, (KerasTensor, Variable)):
        return tuple(value.shape)
    return np.shape(value)


class Operation(Layer):
    """An engine.ops function applied to symbolic tensors: a layer with no weights of its
    own whose nodes come from the function's `emit`. Weights it reads (a layer's, inside
    call()) are bound as parameters; arrays and scalars become graph constants."""

    def __init__(self, function, operands, emit, shape_rule, dtypes):
        super().__init__(name=unique_name(function))
        self.function = function
        self._operands = operands  # per operand: ("input", k) | ("weight", Variable) | ("constant", array) | None
        self._emit = emit
        self._shape_rule = shape_rule
        self._dtypes = dtypes
        self.built = True

    def _operand_shapes(self, input_shapes):
        shapes = []
        for spec in self._operands:
            if spec is None:
                shapes.append(None)
            elif spec[0] == "input":
                shapes.append(tuple(input_shapes[spec[1]]))
            else:
                shapes.append(tuple(np.shape(spec[1])))
        return shapes

    def compute_output_shape(self, input_shape):
        single = len(input_shape) == 0 or not isinstance(input_shape[0], (list, tuple))
        shapes = self._shape_rule(*self._operand_shapes([input_shape] if single else input_shape))
        return list(shapes) if isinstance(shapes, list) else shapes

    def _output_dtypes(self, input_dtypes, n):
        return list(self._dtypes)

    def emit(self, b, inputs, input_shapes):
        names = []
        for spec in self._operands:
            if spec is None:
                names.append("")
            elif spec[0] == "input":
                names.append(inputs[spec[1]])
            elif spec[0] == "weight":
                names.append(b.weight(spec[1]))
            else:
                names.append(b.constant(spec[1], f"{self.name}/constant"))
        return list(self._emit(b, names))

    def get_config(self):
        """The nodes this call writes, as data: a model built with engine.ops saves and loads
        without the code that built it."""
        if any(spec is not None and spec[0] == "weight" for spec in self._operands):
            raise NotImplementedError(f"{self.name}: an engine.ops call on a layer's weight saves as part of "
                                      "that layer's call(); outside one, save the weights (save_weights)")
        b = GraphBuilder()
        names = []
        for k, spec in enumerate(self._operands):
            if spec is None:
                names.append("")
            elif spec[0] == "input":
                names.append(f"input_{spec[1]}")
            else:
                names.append(b.constant(spec[1], f"constant_{k}"))
        outputs = list(self._emit(b, names))
        shapes = self.compute_output_shape([t.shape for t in self._calls[0].inputs]) if self._calls else []
        return {"name": self.name, "function": self.function, "inputs": sum(1 for n in names if n.startswith("input_")),
                "nodes": [{k: node[k] for k in ("op_type", "inputs", "outputs", "attrs", "domain")} for node in b.nodes],
                "constants": {name: {"dtype": str(a.dtype), "value": a.tolist()} for name, a in b.constants.items()},
                "outputs": outputs, "output_shapes": shapes if isinstance(shapes, list) else [shapes],
                "dtypes": list(self._dtypes)}

    @classmethod
    def from_config(cls, config):
        constants = {name: np.asarray(c["value"], dtype=c["dtype"]) for name, c in config["constants"].items()}
        n_inputs = config["inputs"]

        def emit(b, names):
            table = {f"input_{k}": names[k] for k in range(n_inputs)}
            for name, value in constants.items():
                table[name] = b.constant(value, name)
            for node in config["nodes"]:
                outs = b.node(node["op_type"], [table.get(i, i) for i in node["inputs"]], len(node["outputs"]),
                              attrs=node["attrs"], domain=node["domain"])
                table.update(zip(node["outputs"], outs))
            return [table[o] for o in config["outputs"]]

        saved = [tuple(s) for s in config["output_shapes"]]

        def shape_rule(*shapes):  # the saved shapes, with the batch size of the inputs
            batch = shapes[0][0] if shapes and shapes[0] else None
            out = [(batch,) + s[1:] if s and s[0] is None else s for s in saved]
            return out if len(out) > 1 else out[0]
        op = cls(config["function"], [("input", k) for k in range(n_inputs)], emit, shape_rule, config["dtypes"])
        op.name = config["name"]
        return op


def apply(function, operands, emit, shape_rule, dtypes=("float32",)):
    """Runs `function` on `operands` (tensors, weights, arrays, scalars; None for an absent
    optional input): eagerly on arrays, or as an Operation on symbolic tensors.

    emit(b, names) -> output names; shape_rule(*operand shapes) -> a shape, or a list of
    shapes for several outputs; dtypes: the outputs' dtypes."""
    like = next((dtype_name(o) for o in operands if o is not None and not isinstance(o, (bool, int, float))),
                "float32")
    # While tracing, an op on weights alone (ops.transpose(dense.kernel)) is a graph node too:
    # computed now, it would freeze the weights' current values into a constant.
    reads_weights = tracing() and any(isinstance(o, Variable) for o in operands)
    if not is_symbolic(*operands) and not reads_weights:
        return _run_eagerly(function, [None if o is None else as_array(o, like) for o in operands], emit,
                            list(dtypes))
    specs, inputs = [], []
    for o in operands:
        if o is None:
            specs.append(None)
        elif isinstance(o, KerasTensor):
            specs.append(("input", len(inputs)))
            inputs.append(o)
        elif isinstance(o, Variable):
            specs.append(("weight", o))
        else:
            specs.append(("constant", as_array(o, like)))
    return Operation(function, specs, emit, shape_rule, list(dtypes))._call_symbolic(inputs, inputs)


def _run_eagerly(function, arrays, emit, dtypes):
    """One small graph: the arrays as its inputs, the function's nodes, run once."""
    b = GraphBuilder()
    names, feeds = [], []
    for k, a in enumerate(arrays):
        if a is None:
            names.append("")
            continue
        name = b.unique(f"{function}_input_{k}")
        b.add_input(name, a.shape, dtype_name(a))
        names.append(name)
        feeds.append(a if a.flags.c_contiguous else a.copy())  # (ascontiguousarray makes 0-d 1-d)
    outputs = list(emit(b, names))
    for k, (name, dtype) in enumerate(zip(outputs, dtypes)):
        if name in names:  # the function returned an input unchanged
            name = b.node("Identity", [name], name=f"{function}_output_{k}")[0]
        b.add_output(name, dtype)
    results = _core.Executor(b.graph).run(feeds, False)
    return results[0] if len(dtypes) == 1 else list(results)
