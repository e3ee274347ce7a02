"""onnxruntime's session API over the engine, for raw ONNX graphs:

    session = engine.onnx.InferenceSession("model.onnx")
    outputs = session.run(None, {"x": x})          # or run(["y"], {...})

Unlike engine.onnx.load, which makes a trainable Model whose inputs have a batch dimension,
a session runs the graph as it is: inputs of any shape (0-d ones too), inputs with different
first dimensions, graphs without inputs, and 0-d outputs.

The engine plans a graph for known shapes and attributes: the inputs' shapes replace the
open dims the file declares, and inputs the plan needs as values (a Reshape's target shape,
Unsqueeze's axes, Resize's scales) are bound as constants: where the import fails without
them, the session binds the integer and 0-d inputs, then small float vectors, and remembers
which. It imports the file once per distinct set of input shapes and bound values and keeps
the last few plans. Values come back in the element types the file declares (the engine computes
integers in int64 and float16/float64 in float32).
"""
import collections
import os
import threading

import numpy as np

from engine import _core
from engine.onnx._import import _DECLARED

# TensorProto.DataType codes and their names in onnxruntime's NodeArg.type.
_TYPE_NAMES = {1: "float", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32", 7: "int64",
               9: "bool", 10: "float16", 11: "double", 12: "uint32", 13: "uint64", 16: "bfloat16"}
_PLANS_KEPT = 16
_SMALL = 64  # values of a vector input that may be a parameter of the plan (scales, a ratio)


class NodeArg:
    """A graph input or output as onnxruntime describes it: name, shape (None or a name for
    dims only known at run time) and type ("tensor(float)")."""

    def __init__(self, name, shape, type_code):
        self.name = name
        self.shape = [None if d < 0 else d for d in shape]
        self.type = f"tensor({_TYPE_NAMES.get(type_code or 1, 'float')})"

    def __repr__(self):
        return f"NodeArg(name={self.name!r}, type={self.type!r}, shape={self.shape})"


class InferenceSession:
    """Runs an ONNX file (a path or the model's bytes) as onnxruntime.InferenceSession does.
    `providers` and `sess_options` are accepted for compatibility; the engine runs on the CPU."""

    def __init__(self, path_or_bytes, sess_options=None, providers=None, **kwargs):
        if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
            self._source = bytes(path_or_bytes)
            graph, _ = _core.onnx_parse_bytes(self._source)
        else:
            self._source = os.fspath(path_or_bytes)
            graph, _ = _core.onnx_load_graph(self._source)
        input_types, output_types = _core.graph_declared_types(graph)
        self._inputs = [NodeArg(name, shape, code)
                        for (name, shape, _), code in zip(_core.graph_inputs(graph), input_types)]
        self._outputs = [NodeArg(name, shape, code)
                         for (name, shape, _), code in zip(_core.graph_outputs(graph), output_types)]
        self._output_dtypes = [_DECLARED.get(code) for code in output_types]
        self._plans = collections.OrderedDict()
        self._steering = set()  # inputs the plan needs as constants
        self._lock = threading.Lock()

    def get_inputs(self):
        return list(self._inputs)

    def get_outputs(self):
        return list(self._outputs)

    def get_providers(self):
        return ["CPUExecutionProvider"]

    def run(self, output_names, input_feed, run_options=None):
        """The outputs named (None: all, in graph order) for the inputs given by name."""
        names = [i.name for i in self._inputs]
        unknown = sorted(set(input_feed) - set(names))
        if unknown:
            raise ValueError(f"InferenceSession.run: unknown inputs {unknown}; the graph's inputs are {names}")
        missing = [n for n in names if n not in input_feed]
        if missing:
            raise ValueError(f"InferenceSession.run: missing inputs {missing}")
        arrays = {name: _computing(name, input_feed[name]) for name in names}
        for arg in self._inputs:
            shape = arrays[arg.name].shape
            if len(shape) != len(arg.shape) or any(d is not None and d != k for d, k in zip(arg.shape, shape)):
                raise ValueError(f"InferenceSession.run: input {arg.name!r} has shape {shape}; the graph "
                                 f"declares {[d if d is not None else '?' for d in arg.shape]}")
        shapes = {n: a.shape for n, a in arrays.items()}
        # Inputs the plan needs as values (a Reshape's target, Unsqueeze's axes, Resize's
        # scales) are bound as constants; which they are is learnt from the importer, once.
        while True:
            try:
                executor, fed = self._plan({n: arrays[n] for n in self._steering}, shapes)
                break
            except ValueError:
                # Whatever the importer objected to (an input it needs as a value, or an op
                # it can only compute on values it knows), binding more inputs may answer it.
                more = _steering_candidates(arrays, self._steering)
                if not more:
                    raise
                self._steering |= more
        values = executor.run([arrays[n] for n in fed], False)
        results = dict(zip([o.name for o in self._outputs], values))
        for out, dtype in zip(self._outputs, self._output_dtypes):
            if dtype is not None:
                results[out.name] = results[out.name].astype(dtype)
        wanted = [o.name for o in self._outputs] if output_names is None else list(output_names)
        absent = [n for n in wanted if n not in results]
        if absent:
            raise ValueError(f"InferenceSession.run: {absent} are not outputs of the graph "
                             f"({[o.name for o in self._outputs]})")
        return [results[n] for n in wanted]

    def _plan(self, bound, shapes):
        """(executor, names of the inputs it takes) for these bound values and input shapes,
        imported once: the importer then plans with the real sizes of dims the file leaves
        open."""
        key = (tuple((n, a.dtype.str, a.tobytes()) for n, a in sorted(bound.items())),
               tuple(sorted(shapes.items())))
        with self._lock:
            plan = self._plans.get(key)
            if plan is not None:
                self._plans.move_to_end(key)
                return plan
        graph, _ = _core.onnx_import(self._source, bound, shapes)
        plan = (_core.Executor(graph), [name for name, _, _ in _core.graph_inputs(graph)])
        with self._lock:
            self._plans[key] = plan
            while len(self._plans) > _PLANS_KEPT:
                self._plans.popitem(last=False)
        return plan


def _steering_candidates(arrays, bound):
    """The next inputs to bind: integer and 0-d ones first, then small float vectors."""
    for wanted in (lambda a: a.dtype == np.int64 or a.ndim == 0, lambda a: a.ndim == 1 and a.size <= _SMALL):
        more = {n for n, a in arrays.items() if n not in bound and wanted(a)}
        if more:
            return more
    return set()


def _computing(name, value):
    """The array as the engine holds it: integers in int64, floating point in float32."""
    a = np.asarray(value)
    # (np.require keeps 0-d arrays 0-d; ascontiguousarray would make them 1-d.)
    if a.dtype.kind in "iu":
        return np.require(a, np.int64, "C")
    if a.dtype.kind == "f":
        return np.require(a, np.float32, "C")
    if a.dtype == np.bool_:
        return np.require(a, None, "C")
    raise TypeError(f"InferenceSession.run: input {name!r} has dtype {a.dtype}; the engine takes numbers and bools")
