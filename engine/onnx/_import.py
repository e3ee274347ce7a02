"""An ONNX file as a trainable engine.Model.

Import works in four passes, and nothing is built until all of them succeed:
1. structure: duplicate value names, dangling inputs and cycles are errors;
2. support: every node's op type and attributes are checked, and all the problems are
   reported in one ValueError (never a partial model);
3. translation: nodes of older opsets are rewritten into the current forms the engine
   runs (Softmax coercion, BatchNormalization/Dropout attributes, Reshape/Unsqueeze/Squeeze
   attributes that became inputs, legacy broadcasting), and the shape computations that
   exporters emit (Shape -> Gather -> Unsqueeze -> Concat -> Reshape, Constant,
   ConstantOfShape, Cast, Slice, Identity) are folded with numpy. The batch dimension stays
   symbolic through the folding: a Reshape target that copies it becomes 0 ("keep");
4. a probe: the translated graph is planned and run on zeros for two batch sizes, which
   validates every node and tells the static output shapes from the batch-dependent ones.

The model is Model([Input per graph input], OnnxOutput(OnnxGraph(inputs))): the OnnxGraph
layer owns the float32 initializers as Variables (trainable, except BatchNormalization's
running statistics), so predict, compile/fit and engine.onnx.export all work on it.
"""
import os

import numpy as np

from engine import _core, ops
from engine.layers.base import Layer, Variable

# The symbolic batch size inside folded shape values (Shape of a batch-major tensor).
BATCH = np.iinfo(np.int64).min
DEFAULT_DOMAINS = ("", "ai.onnx")
# ONNX TensorProto element types the folding understands.
_ONNX_DTYPES = {1: np.float32, 2: np.uint8, 3: np.int8, 5: np.int16, 6: np.int32, 7: np.int64,
                9: np.bool_, 10: np.float16, 11: np.float64, 12: np.uint32, 13: np.uint64}

# Attributes the engine implements, per op (older opsets' extra attributes are translated
# away before this check).
_ACTIVATIONS = {"Relu": (), "Sigmoid": (), "Tanh": (), "Softplus": (), "LeakyRelu": ("alpha",),
                "Elu": ("alpha",), "Selu": ("alpha", "gamma")}
_WINDOW = ("kernel_shape", "strides", "pads", "dilations", "auto_pad")
ENGINE_ATTRS = {
    **{op: set(a) for op, a in _ACTIVATIONS.items()},
    "Softmax": {"axis"}, "LogSoftmax": {"axis"},
    "Conv": {*_WINDOW, "group"},
    "MaxPool": {*_WINDOW, "ceil_mode", "storage_order"},
    "AveragePool": {*_WINDOW, "ceil_mode", "count_include_pad"},
    "GlobalAveragePool": set(),
    "Add": set(), "Sub": set(), "Mul": set(), "Div": set(), "Sum": set(),
    "Gemm": {"alpha", "beta", "transA", "transB"}, "MatMul": set(),
    "BatchNormalization": {"epsilon", "momentum"},
    "Dropout": {"seed", "ratio"},
    "Concat": {"axis"}, "Transpose": {"perm"}, "Reshape": {"allowzero"}, "Flatten": {"axis"},
    "Identity": set(), "LRN": {"size", "alpha", "beta", "bias"},
    "Unsqueeze": set(), "Squeeze": set(),
}
# Ops that exist only at import time: their values must be computable from constants and
# static shapes.
FOLD_ATTRS = {
    "Constant": {"value", "value_float", "value_floats", "value_int", "value_ints"},
    "ConstantOfShape": {"value"}, "Shape": {"start", "end"}, "Gather": {"axis"},
    "Cast": {"to", "saturate"}, "Slice": {"starts", "ends", "axes"},
}
# Legacy attributes that translation consumes, by op.
_LEGACY = {"consumed_inputs", "is_test", "spatial", "broadcast", "axis", "training_mode",
           "shape", "axes"}


def load(source):
    """An engine.Model from an ONNX file path (or the model's bytes)."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        graph, info = _core.onnx_parse_bytes(bytes(source))
        label = "<bytes>"
    else:
        path = os.fspath(source)
        graph, info = _core.onnx_load_graph(path)
        label = path
    return _Importer(graph, info, label).build()


class OnnxGraph(Layer):
    """The nodes of an imported ONNX graph, replayed into the model's graph.

    Owns the float32 initializers as Variables; int64 initializers and folded values are
    constants. Values are renamed through the GraphBuilder, so the same graph can sit in a
    larger model next to other layers."""

    def __init__(self, nodes, variables, constants, input_names, output_names, output_shapes,
                 name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self._nodes = nodes
        self._variables = dict(variables)
        self._constants = dict(constants)
        self._input_names = list(input_names)
        self._output_names = list(output_names)
        self._output_shapes = [tuple(s) for s in output_shapes]
        self._weights = list(self._variables.values())
        self.built = True

    def compute_output_shape(self, input_shape):
        if len(self._output_shapes) == 1:
            return self._output_shapes[0]
        return list(self._output_shapes)

    def emit(self, b, inputs, input_shapes):
        names = dict(zip(self._input_names, inputs))

        def value(name):
            if not name:
                return ""
            if name not in names:
                if name in self._variables:
                    var = self._variables[name]
                    names[name] = b.param(var, var.trainable and self.trainable)
                else:
                    names[name] = b.constant(self._constants[name], name)
            return names[name]

        for n in self._nodes:
            args = [value(i) for i in n["inputs"]]
            outs = b.node(n["op_type"], args, n_outputs=len(n["outputs"]), attrs=n["attrs"],
                          name=n["name"] or n["op_type"].lower())
            names.update(zip(n["outputs"], outs))
        return [value(o) for o in self._output_names]

    def get_config(self):
        raise NotImplementedError("OnnxGraph layers are saved as ONNX files (engine.onnx.export)")


class OnnxOutput(Layer):
    """Names a model output after its ONNX graph output (no node of its own)."""

    def emit(self, b, inputs, input_shapes):
        return [inputs[0]]


def _label(node, index):
    name = node["name"] or f"#{index}"
    return f"{name!r} ({node['op_type']})"


class _Importer:
    def __init__(self, graph, info, source):
        self.source = source
        opsets = info.get("opset_imports", {})
        self.opset = next((opsets[d] for d in DEFAULT_DOMAINS if d in opsets), None)
        if self.opset is None:
            raise ValueError(f"ONNX import of {source}: the model imports no default-domain opset "
                             f"(opset_imports {opsets})")
        self.inits = _core.graph_initializers(graph)
        self.inputs = [(n, s, d) for n, s, d in _core.graph_inputs(graph) if n not in self.inits]
        self.outputs = [n for n, _, _ in _core.graph_outputs(graph)]
        self.nodes = _core.graph_nodes(graph)
        self.fixed_batch = False

    def fail(self, message):
        raise ValueError(f"ONNX import of {self.source} (opset {self.opset}): {message}")

    # --- pass 1: structure ---------------------------------------------------------------
    def check_structure(self):
        producer = {}
        seen_inputs = set()
        for name, _, _ in self.inputs:
            if name in seen_inputs:
                self.fail(f"graph input {name!r} is declared twice")
            seen_inputs.add(name)
            producer[name] = "graph input"
        for name in self.inits:
            producer.setdefault(name, "initializer")
        for k, n in enumerate(self.nodes):
            for o in n["outputs"]:
                if not o:
                    continue
                if o in producer:
                    self.fail(f"value {o!r} is produced twice: by {producer[o]} and by node {_label(n, k)}")
                producer[o] = f"node {_label(n, k)}"
        dangling = [f"{i!r} (read by node {_label(n, k)})" for k, n in enumerate(self.nodes)
                    for i in n["inputs"] if i and i not in producer]
        dangling += [f"{o!r} (a graph output)" for o in self.outputs if o not in producer]
        if dangling:
            self.fail("values that nothing produces: " + ", ".join(dangling))
        if len(set(self.outputs)) != len(self.outputs):
            self.fail(f"graph outputs repeat a name: {self.outputs}")
        # Kahn's algorithm; the nodes left over sit on a cycle.
        made_by = {o: k for k, n in enumerate(self.nodes) for o in n["outputs"] if o}
        waiting = [sum(1 for i in set(n["inputs"]) if i in made_by) for n in self.nodes]
        readers = {}
        for k, n in enumerate(self.nodes):
            for i in set(n["inputs"]):
                if i in made_by:
                    readers.setdefault(made_by[i], []).append(k)
        ready = [k for k, w in enumerate(waiting) if w == 0]
        order = []
        while ready:
            k = ready.pop(0)
            order.append(k)
            for r in readers.get(k, []):
                waiting[r] -= 1
                if waiting[r] == 0:
                    ready.append(r)
        if len(order) != len(self.nodes):
            stuck = [_label(self.nodes[k], k) for k in range(len(self.nodes)) if waiting[k] > 0]
            self.fail("the graph has a cycle through nodes " + ", ".join(stuck))
        self.nodes = [self.nodes[k] for k in order]

    # --- pass 2: support ---------------------------------------------------------------
    def check_support(self):
        engine_ops = set(_core.supported_ops())
        ops, attrs = [], []
        for k, n in enumerate(self.nodes):
            op = n["op_type"]
            if n["domain"] not in DEFAULT_DOMAINS:
                ops.append(f"{_label(n, k)} in domain {n['domain']!r}")
                continue
            allowed = FOLD_ATTRS.get(op)
            if allowed is None:
                allowed = ENGINE_ATTRS.get(op) if op in engine_ops else None
            if allowed is None:
                ops.append(_label(n, k))
                continue
            extra = sorted(set(n["attrs"]) - allowed - _legacy_attrs(op, self.opset))
            if extra:
                attrs.append(f"{_label(n, k)}: {', '.join(extra)}")
        problems = []
        if ops:
            problems.append("unsupported operators: " + ", ".join(ops))
        if attrs:
            problems.append("unsupported attributes: " + "; ".join(attrs))
        if problems:
            self.fail("; ".join(problems))

    # --- pass 3: translation ---------------------------------------------------------------
    def translate(self):
        self.const = {}         # value name -> numpy array known at import
        self.alias = {}         # value name -> the value it equals
        self.out = []           # engine nodes (dicts)
        self.param_inputs = {}  # initializer name -> trainable?
        self.shapes = {}        # probed value shapes (BATCH / None for dynamic dims)
        self.used = {i for n in self.nodes for i in n["inputs"] if i} | set(self.outputs)
        for k, n in enumerate(self.nodes):
            n = dict(n, inputs=[self.resolve(i) for i in n["inputs"]], attrs=dict(n["attrs"]))
            self.label = _label(n, k)
            handler = getattr(self, "_op_" + n["op_type"], self.emit)
            handler(n)

    def resolve(self, name):
        while name in self.alias:
            name = self.alias[name]
        return name

    def value(self, name):
        if name in self.const:
            return self.const[name]
        return self.inits.get(name)

    def foldable(self, n):
        return all(not i or self.value(i) is not None for i in n["inputs"])

    def fold(self, n, *values):
        for o, v in zip(n["outputs"], values):
            if o:
                self.const[o] = np.asarray(v)

    def need_const(self, n, index, what):
        if index >= len(n["inputs"]) or not n["inputs"][index]:
            return None
        v = self.value(n["inputs"][index])
        if v is None:
            self.fail(f"node {self.label}: {what} must be known at import (it is computed at run time)")
        return v

    def emit(self, n, inputs=None, attrs=None, outputs=None):
        n = dict(n)
        if inputs is not None:
            n["inputs"] = inputs
        if attrs is not None:
            n["attrs"] = attrs
        n["attrs"] = {k: v for k, v in n["attrs"].items() if k not in _legacy_attrs(n["op_type"], self.opset)}
        if outputs is not None:
            n["outputs"] = outputs
        self.out.append(n)
        return n

    def drop_extra_outputs(self, n, keep=1):
        """Optional outputs (BatchNormalization statistics, Dropout mask, MaxPool indices)
        that the graph does not read are dropped; read ones are not supported."""
        extra = [o for o in n["outputs"][keep:] if o]
        read = [o for o in extra if o in self.used]
        if read:
            self.fail(f"node {self.label}: outputs {read} are read but the engine does not compute them")
        return n["outputs"][:keep]

    def const_input(self, array, base):
        name = base
        k = 1
        while name in self.const or name in self.inits or name in self.used:
            name = f"{base}_{k}"
            k += 1
        self.const[name] = np.asarray(array)
        return name

    def rank(self, name):
        shape = self.shape_of(name)
        if shape is None:
            self.fail(f"node {self.label}: the rank of {name!r} is unknown")
        return len(shape)

    def shape_of(self, name):
        """The shape of a value: BATCH for the batch dim, None for other dynamic dims."""
        if name in self.const or name in self.inits:
            return tuple(self.value(name).shape)
        for iname, shape, _ in self.inputs:
            if iname == name:
                return (BATCH,) + tuple(None if d < 0 else d for d in shape[1:]) if shape else ()
        if name not in self.shapes:
            self.shapes.update(self.probe(self.out, [o for n in self.out for o in n["outputs"] if o]))
        return self.shapes.get(name)

    # --- op handlers (folding and translation) -----------------------------------------
    def _op_Identity(self, n):
        if self.foldable(n):
            self.fold(n, self.value(n["inputs"][0]))
        else:
            self.alias[n["outputs"][0]] = n["inputs"][0]

    def _op_Constant(self, n):
        a = n["attrs"]
        if "value" in a:
            v = a["value"]
        elif "value_float" in a:
            v = np.float32(a["value_float"])
        elif "value_floats" in a:
            v = np.asarray(a["value_floats"], np.float32)
        elif "value_int" in a:
            v = np.int64(a["value_int"])
        elif "value_ints" in a:
            v = np.asarray(a["value_ints"], np.int64)
        else:
            self.fail(f"node {self.label}: Constant has no value attribute the engine reads")
        self.fold(n, v)

    def _op_ConstantOfShape(self, n):
        shape = self.need_const(n, 0, "the shape input")
        self.check_static(shape, "the shape")
        fill = n["attrs"].get("value", np.zeros(1, np.float32))
        self.fold(n, np.full(tuple(int(d) for d in shape), np.asarray(fill).reshape(-1)[0], np.asarray(fill).dtype))

    def _op_Shape(self, n):
        shape = self.shape_of(n["inputs"][0])
        start = n["attrs"].get("start", 0)
        end = n["attrs"].get("end", None)
        dims = list(shape)[start:end] if shape is not None else None
        if dims is None or any(d is None for d in dims):
            self.fail(f"node {self.label}: the shape of {n['inputs'][0]!r} is not static "
                      f"({'unknown' if shape is None else shape})")
        self.fold(n, np.asarray(dims, np.int64))

    def _op_Gather(self, n):
        data = self.need_const(n, 0, "the data input")
        idx = self.need_const(n, 1, "the indices input")
        self.fold(n, np.take(data, idx.astype(np.int64), axis=n["attrs"].get("axis", 0)))

    def _op_Cast(self, n):
        to = _ONNX_DTYPES.get(n["attrs"].get("to"))
        if to is None:
            self.fail(f"node {self.label}: Cast to data type {n['attrs'].get('to')} is not supported")
        if self.foldable(n):
            v = self.value(n["inputs"][0])
            if np.any(v == BATCH) and v.dtype == np.int64 and to != np.int64:
                self.fail(f"node {self.label}: casts the batch size, which is only known at run time")
            self.fold(n, v.astype(to))
        elif to is np.float32 and self.dtype_of(n["inputs"][0]) == "float32":
            self.alias[n["outputs"][0]] = n["inputs"][0]
        else:
            self.fail(f"node {self.label}: Cast of a run-time value to {np.dtype(to).name} is not supported")

    def dtype_of(self, name):
        for iname, _, dtype in self.inputs:
            if iname == name:
                return dtype
        return "float32"  # every computed value the engine runs is float32 but for shapes

    def _op_Slice(self, n):
        data = self.need_const(n, 0, "the data input")
        if self.opset < 10:
            starts, ends = n["attrs"].get("starts"), n["attrs"].get("ends")
            axes, steps = n["attrs"].get("axes"), None
        else:
            starts = self.need_const(n, 1, "starts")
            ends = self.need_const(n, 2, "ends")
            axes = self.need_const(n, 3, "axes")
            steps = self.need_const(n, 4, "steps")
        axes = range(len(starts)) if axes is None else axes
        steps = [1] * len(starts) if steps is None else steps
        index = [slice(None)] * data.ndim
        for s, e, a, st in zip(starts, ends, axes, steps):
            index[int(a)] = slice(int(s), int(e), int(st))
        self.fold(n, data[tuple(index)])

    def check_static(self, values, what):
        values = np.asarray(values)
        if values.dtype == np.int64 and np.any(values == BATCH):
            self.fail(f"node {self.label}: {what} depends on the batch size, which is only known at run time")

    def _op_Concat(self, n):
        if "axis" not in n["attrs"]:  # optional before opset 4, default 1
            n["attrs"]["axis"] = 1
        if self.foldable(n):
            self.fold(n, np.concatenate([self.value(i) for i in n["inputs"]], axis=n["attrs"]["axis"]))
        else:
            self.emit(n)

    def _axes(self, n):
        if self.opset < 13 or "axes" in n["attrs"]:
            axes = n["attrs"].get("axes")
        else:
            axes = self.need_const(n, 1, "the axes input")
        return None if axes is None else [int(a) for a in np.asarray(axes).reshape(-1)]

    def _op_Unsqueeze(self, n):
        axes = self._axes(n)
        if axes is None:
            self.fail(f"node {self.label}: Unsqueeze needs axes")
        if self.value(n["inputs"][0]) is not None:
            v = self.value(n["inputs"][0])
            rank = v.ndim + len(axes)
            self.fold(n, np.reshape(v, ops.unsqueeze_output_shape(v.shape, [a % rank for a in axes])))
        else:
            self.emit(n, inputs=[n["inputs"][0], self.const_input(np.asarray(axes, np.int64), n["outputs"][0] + "/axes")])

    def _op_Squeeze(self, n):
        axes = self._axes(n)
        if self.value(n["inputs"][0]) is not None:
            v = self.value(n["inputs"][0])
            self.fold(n, np.reshape(v, ops.squeeze_output_shape(v.shape, axes or ())))
        elif axes:
            self.emit(n, inputs=[n["inputs"][0], self.const_input(np.asarray(axes, np.int64), n["outputs"][0] + "/axes")])
        else:
            self.emit(n, inputs=[n["inputs"][0]])

    def _op_Reshape(self, n):
        if self.opset < 5:
            spec = np.asarray(n["attrs"].get("shape", []), np.int64)
        else:
            spec = np.asarray(self.need_const(n, 1, "the shape input"), np.int64).copy()
        allowzero = n["attrs"].get("allowzero", 0)
        if self.value(n["inputs"][0]) is not None and not np.any(spec == BATCH):
            v = self.value(n["inputs"][0])
            out = [v.shape[k] if d == 0 and not allowzero else d for k, d in enumerate(spec)]
            self.fold(n, v.reshape(out))
            return
        batch = np.flatnonzero(spec == BATCH)
        for k in batch:
            # The batch dim of the input kept in place is Reshape's 0; elsewhere it is the one
            # dim the others determine.
            if k == 0 and not allowzero:
                spec[k] = 0
            elif not np.any(spec == -1):
                spec[k] = -1
            else:
                self.fail(f"node {self.label}: the target shape moves the batch size, which is only known at run time")
        name = self.const_input(spec, n["outputs"][0] + "/shape")
        self.emit(n, inputs=[n["inputs"][0], name])

    def _op_Softmax(self, n):
        if self.opset >= 13:
            self.emit(n)
            return
        axis = n["attrs"].get("axis", 1)
        rank = self.rank(n["inputs"][0])
        axis = axis + rank if axis < 0 else axis
        attrs = {"axis": axis}
        if axis != rank - 1:  # over several trailing dims: the 2-D coercion of opsets < 13
            attrs["engine_coerce_2d"] = 1
        self.emit(n, attrs=attrs)

    _op_LogSoftmax = _op_Softmax

    def _op_BatchNormalization(self, n):
        a = n["attrs"]
        if self.opset < 9 and a.get("spatial", 1) != 1:
            self.fail(f"node {self.label}: spatial=0 (per-activation statistics) is not supported")
        if a.get("training_mode", 0) != 0:
            self.fail(f"node {self.label}: training_mode=1 (batch statistics at inference) is not supported")
        for i in (3, 4):  # running statistics: updated by training, never by the optimizer
            self.param_inputs.setdefault(n["inputs"][i], False)
        self.emit(n, outputs=self.drop_extra_outputs(n))

    def _op_Dropout(self, n):
        attrs = {k: v for k, v in n["attrs"].items() if k in ("seed", "ratio")}
        if self.opset >= 12:
            ratio = self.need_const(n, 1, "the ratio input")
            if ratio is not None:
                attrs["ratio"] = float(np.asarray(ratio).reshape(-1)[0])
            mode = self.need_const(n, 2, "the training_mode input")
            if mode is not None and bool(np.asarray(mode).reshape(-1)[0]):
                self.fail(f"node {self.label}: training_mode=true at inference is not supported")
        self.emit(n, inputs=n["inputs"][:1], attrs=attrs, outputs=self.drop_extra_outputs(n))

    def _op_MaxPool(self, n):
        self.emit(n, outputs=self.drop_extra_outputs(n))

    def _binary(self, n):
        a = n["attrs"]
        if self.opset < 7 and a.get("broadcast", 0) and "axis" in a:
            # Legacy broadcasting aligns B with A starting at `axis`: pad B with trailing 1s.
            b = self.need_const(n, 1, "B (broadcast along an axis)")
            axis = a["axis"]
            rank = self.rank(n["inputs"][0])
            axis = axis + rank if axis < 0 else axis
            shape = b.shape + (1,) * (rank - axis - b.ndim)
            name = self.const_input(b.reshape(shape), n["inputs"][1] + "/aligned")
            if n["inputs"][1] in self.inits and n["inputs"][1] not in self.param_inputs:
                self.param_inputs[name] = True
                self.inits[name] = self.const.pop(name)
            n["inputs"] = [n["inputs"][0], name]
        if self.foldable(n):
            args = [self.value(i) for i in n["inputs"]]
            for v in args:
                self.check_static(v, "an operand")
            self.fold(n, _NUMPY_OPS[n["op_type"]](*args))
        else:
            self.emit(n)

    _op_Add = _op_Sub = _op_Mul = _op_Div = _binary

    # --- pass 4: probe and build ------------------------------------------------------------
    def probe(self, nodes, wanted):
        """Shapes of `wanted` values from runs on zeros at two batch sizes: dims equal in both
        runs are static, dims that follow the batch are BATCH, the rest None. A graph that
        runs only at its declared batch size (a fixed Reshape target, a batch dim that
        broadcasts against a constant) keeps that batch size, and its shapes are exact."""
        runs = []
        for extra in (0, 1):
            g = _core.Graph()
            for name, shape, dtype in self.inputs:
                g.add_input(name, [-1] + [None if d < 0 else d for d in shape[1:]] if shape else [], dtype)
            needed = {i for n in nodes for i in n["inputs"] if i}
            for name in needed:
                v = self.value(name)
                if v is not None:
                    self.check_static(v, f"value {name!r}")
                    g.set_initializer(name, _engine_array(v, name, self), False)
            for n in nodes:
                g.add_node(n["op_type"], n["inputs"], n["outputs"], n["attrs"], name=n["name"])
            names = [w for w in wanted if w not in self.const and w not in self.inits]
            for w in dict.fromkeys(names):
                g.add_output(w)
            feeds = []
            for name, shape, dtype in self.inputs:
                dims = [(d if d >= 0 else 1) + (extra if d != 0 else 0) if k == 0
                        else (d if d >= 0 else 3 + 2 * extra) for k, d in enumerate(shape)]
                feeds.append(np.zeros(dims, np.float32 if dtype == "float32" else np.int64))
            try:
                outs = _core.Executor(g).run(feeds, False) if names else []
            except (ValueError, TypeError, RuntimeError) as e:
                if extra == 1:
                    self.fixed_batch = True
                    break
                self.fail(str(e))
            runs.append(dict(zip(dict.fromkeys(names), [o.shape for o in outs])))
        if len(runs) == 1:
            return runs[0]
        b0 = [(d if d >= 0 else 1) for _, s, _ in self.inputs for d in s[:1]]
        result = {}
        for name, s0 in runs[0].items():
            s1 = runs[1][name]
            result[name] = tuple(a if a == b else BATCH if b0 and (a, b) == (b0[0], b0[0] + 1) else None
                                 for a, b in zip(s0, s1))
        return result

    def build(self):
        from engine.models import Input, Model

        self.check_structure()
        self.check_support()
        self.translate()
        outputs = [self.resolve(o) for o in self.outputs]
        for k, o in enumerate(outputs):
            if o in self.const or o in self.inits:
                # A folded output is still a graph output: the engine copies it out.
                self.check_static(self.value(o), f"graph output {o!r}")
                outputs[k] = self.emit({"op_type": "Identity", "inputs": [o], "outputs": [f"{o}/value"],
                                        "attrs": {}, "name": f"{o}/value", "domain": ""})["outputs"][0]
        shapes = self.probe(self.out, outputs)

        # Initializers read by engine nodes become Variables (float32) or constants.
        read = {i for n in self.out for i in n["inputs"] if i}
        variables, constants = {}, {}
        for name in sorted(read):
            if name in self.inits and self.inits[name].dtype == np.float32 and name not in self.const:
                variables[name] = Variable(name, self.inits[name], self.param_inputs.get(name, True))
            elif self.value(name) is not None:
                v = self.value(name)
                if v.dtype == np.int64:
                    self.check_static(v, f"value {name!r}")
                constants[name] = _engine_array(v, name, self)

        ins = []
        for name, shape, dtype in self.inputs:
            dims = [None if d < 0 else d for d in shape[1:]]
            batch = shape[0] if self.fixed_batch and shape and shape[0] > 0 else None
            if not shape:
                self.fail(f"graph input {name!r} is a scalar; the engine's inputs have a batch dimension")
            ins.append(Input(tuple(dims), batch_size=batch, name=name, dtype=dtype))

        def static(shape):
            return tuple(None if d is None or d == BATCH else d for d in shape)

        out_shapes = [static(shapes[o]) if o in shapes else static(self.shape_of(o)) for o in outputs]
        layer = OnnxGraph(self.out, variables, constants, [n for n, _, _ in self.inputs], outputs,
                          out_shapes)
        result = layer(ins[0] if len(ins) == 1 else ins)
        result = result if isinstance(result, list) else [result]
        input_names = {n for n, _, _ in self.inputs}
        named = []
        for t, onnx_name in zip(result, self.outputs):
            named.append(t if onnx_name in input_names else OnnxOutput(name=onnx_name)(t))
        return Model(ins if len(ins) != 1 else ins[0], named if len(named) != 1 else named[0])


def _legacy_attrs(op, opset):
    """Attributes of older opsets that translation consumes (never passed to the engine)."""
    if op == "BatchNormalization":
        return {"spatial", "is_test", "consumed_inputs", "training_mode"}
    if op == "Dropout":
        return {"is_test"}
    if op in ("Add", "Sub", "Mul", "Div"):
        return {"broadcast", "axis", "consumed_inputs"} if opset < 7 else set()
    if op == "Gemm":
        return {"broadcast"} if opset < 7 else set()
    if op in ("Sum", *_ACTIVATIONS):
        return {"consumed_inputs"} if opset < 6 else set()
    if op == "Reshape":
        return {"shape"} if opset < 5 else set()
    if op in ("Unsqueeze", "Squeeze"):
        return {"axes"}
    return set()


def _engine_array(v, name, importer):
    """A folded value as the engine stores it: float32 or int64."""
    v = np.asarray(v)
    if v.dtype.kind == "f":
        return np.ascontiguousarray(v, np.float32)
    if v.dtype.kind in "iub":
        return np.ascontiguousarray(v, np.int64)
    importer.fail(f"value {name!r} has data type {v.dtype}, which the engine does not hold")


def _int_div(a, b):
    if a.dtype.kind in "iu" and b.dtype.kind in "iu":
        return np.trunc(a / b).astype(np.result_type(a, b))
    return a / b


# Elementwise ops folded when every input is known at import (shape arithmetic).
_NUMPY_OPS = {
    "Add": np.add,
    "Sub": np.subtract,
    "Mul": np.multiply,
    "Div": _int_div,
}
