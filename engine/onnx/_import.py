"""An ONNX file as a trainable engine.Model.

The core imports the file (engine/onnx.h, onnx_import): it checks every node against its
op's definition and opset range and reports all the problems at once, translates the forms
of older opsets, folds the shape computations exporters emit (keeping the batch size
symbolic) and infers the output shapes, exactly as a C++ program that loads the file gets
it. This module wraps the result: Model([Input per graph input], OnnxOutput(OnnxGraph(...))),
where the OnnxGraph layer owns the model's weights as Variables (trainable, except
BatchNormalization's running statistics), so predict, compile/fit and engine.onnx.export
all work on it.
"""
import os

import numpy as np

from engine import _core
from engine.layers.base import Layer, Variable

# TensorProto.DataType codes and the numpy types of outputs declared with them. The engine
# computes integers in int64 and float16/float64 in float32; outputs declared otherwise are
# converted back (integers wrap as numpy's astype does; bfloat16, which numpy lacks, stays
# float32).
_DECLARED = {2: np.uint8, 3: np.int8, 4: np.uint16, 5: np.int16, 6: np.int32, 10: np.float16, 11: np.float64,
             12: np.uint32, 13: np.uint64}


def load(source):
    """An engine.Model from an ONNX file path (or the model's bytes)."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        graph, info = _core.onnx_import(bytes(source))
        label = "<bytes>"
    else:
        label = os.fspath(source)
        graph, info = _core.onnx_import(label)
    return _model(graph, info, label)


class OnnxGraph(Layer):
    """The nodes of an imported ONNX graph, replayed into the model's graph.

    Owns the weights as Variables; the other initializers (int64 values, folded
    computations) are constants. Values are renamed through the GraphBuilder, so the same
    graph can sit in a larger model next to other layers."""

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


def _dims(shape):
    return tuple(None if d < 0 else d for d in shape)


def _model(graph, info, source):
    from engine.models import Input, Model

    inputs = _core.graph_inputs(graph)
    output_names = [name for name, _, _ in _core.graph_outputs(graph)]
    initializers = _core.graph_initializers(graph)
    weights = info["weights"]
    variables = {name: Variable(name, initializers[name], weights[name]) for name in sorted(weights)}
    constants = {name: v for name, v in initializers.items() if name not in weights}
    ins = []
    for name, shape, dtype in inputs:
        if not shape:
            raise ValueError(f"ONNX import of {source} (opset {info['opset']}): graph input "
                             f"{name!r} is a scalar; the engine's inputs have a batch dimension")
        batch = shape[0] if info["fixed_batch"] and shape[0] > 0 else None
        ins.append(Input(_dims(shape[1:]), batch_size=batch, name=name, dtype=dtype))
    layer = OnnxGraph(_core.graph_nodes(graph), variables, constants,
                      [name for name, _, _ in inputs], output_names,
                      [_dims(s) for s in info["output_shapes"]])
    result = layer(ins[0] if len(ins) == 1 else ins)
    result = result if isinstance(result, list) else [result]
    input_names = {name for name, _, _ in inputs}
    named = [t if name in input_names else OnnxOutput(name=name)(t)
             for t, name in zip(result, output_names)]
    model = Model(ins if len(ins) != 1 else ins[0], named if len(named) != 1 else named[0])
    declared = [_DECLARED.get(code) for code in info.get("output_types", [])]
    if any(d is not None for d in declared):
        model._declared_output_dtypes = declared
    return model
