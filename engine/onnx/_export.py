"""The inference graph of a model as an ONNX file.

Export is serialisation: the model's layers already write ONNX nodes. What changes for
inference: Dropout is removed (its output becomes its input), training-only nodes never
appear, the batch dimension is symbolic, and outputs are named after their layers. The
sequence_lens of recurrent ops become int32 as ONNX types them (the engine's are int64),
and stateful layers start
from their states as they are now (engine.StoreState, which updates them, is left out).
"""
import os

import numpy as np

from engine import _core

# onnxruntime >= 1.20 loads IR version 8 with opsets up to 21; onnx 1.23 would write IR 14.
DEFAULT_IR_VERSION = 8
DEFAULT_OPSET = 17
TRAINING_ONLY = {"Dropout"}
COERCE_2D = "engine_coerce_2d"  # internal Softmax attribute (see engine.onnx.load)


def _coerced_softmax(node):
    """A Softmax/LogSoftmax with the opset < 13 coercion (imported from an old model) in
    current ONNX: Flatten at the axis, normalise the rows, restore the input's shape."""
    attrs = {k: v for k, v in node["attrs"].items() if k != COERCE_2D}
    x, y, name = node["inputs"][0], node["outputs"][0], node["name"]
    flat, rows, shape = f"{y}/flat", f"{y}/rows", f"{y}/shape"
    return [
        {"op_type": "Flatten", "inputs": [x], "outputs": [flat], "attrs": {"axis": attrs.get("axis", 1)},
         "name": f"{name}/flatten", "domain": ""},
        {"op_type": node["op_type"], "inputs": [flat], "outputs": [rows], "attrs": {"axis": 1},
         "name": name, "domain": ""},
        {"op_type": "Shape", "inputs": [x], "outputs": [shape], "attrs": {}, "name": f"{name}/shape", "domain": ""},
        {"op_type": "Reshape", "inputs": [rows, shape], "outputs": [y], "attrs": {}, "name": f"{name}/reshape",
         "domain": ""},
    ]


def _onnx_node(op_type, inputs, outputs, name, **attrs):
    return {"op_type": op_type, "inputs": inputs, "outputs": outputs, "attrs": attrs, "name": name, "domain": ""}


def _int32_lengths(node):
    """An RNN/LSTM/GRU node with sequence_lens, and a Cast of them to int32 before it."""
    lens = node["inputs"][4]
    cast = f"{node['name']}/sequence_lens_int32"
    inputs = node["inputs"][:4] + [cast] + node["inputs"][5:]
    return [_onnx_node("Cast", [lens], [cast], cast, to=6), dict(node, inputs=inputs)]


def _resolve(alias, name):
    while name in alias:
        name = alias[name]
    return name


def export(model, path, opset=DEFAULT_OPSET, ir_version=DEFAULT_IR_VERSION, external_threshold_bytes=None):
    """Writes `model`'s inference graph to `path` (atomically). Returns the path."""
    if opset < 13:
        raise ValueError(f"export: opset {opset} is too old (Softmax/BatchNormalization semantics "
                         "used here need opset >= 13)")
    builder, input_names, output_names = model._build_graph()
    alias = {}
    nodes = []
    constants = dict(builder.constants)
    for node in builder.nodes:
        # A Dropout fixed in training mode (Monte Carlo dropout) stays: it draws at inference too.
        forced = node["op_type"] == "Dropout" and len(node["inputs"]) > 2
        node = dict(node, inputs=[_resolve(alias, i) for i in node["inputs"]])
        if node["domain"] == "engine" and node["op_type"] == "StoreState":
            alias[node["outputs"][0]] = node["inputs"][0]  # the states stay as they are now
            continue
        if node["domain"] or (node["op_type"] in TRAINING_ONLY and not forced):
            if node["domain"]:
                raise ValueError(f"export: training-only node {node['name']!r} in an inference graph")
            alias[node["outputs"][0]] = node["inputs"][0]
            continue
        if node["op_type"] in ("RNN", "LSTM", "GRU") and len(node["inputs"]) > 4 and node["inputs"][4]:
            nodes.extend(_int32_lengths(node))
            continue
        nodes.extend(_coerced_softmax(node) if COERCE_2D in node["attrs"] else [node])

    # Outputs carry their layers' names where those names are free.
    used = {o for n in nodes for o in n["outputs"]} | set(input_names) | set(constants)
    used |= {name for name, _ in builder.parameters()}
    rename = {}
    outputs = []
    for t, name in zip(model.outputs, output_names):
        name = _resolve(alias, name)
        wanted = t.layer_name
        if wanted != name and wanted not in used and name not in input_names and name not in rename:
            rename[name] = wanted
            used.add(wanted)
        outputs.append((rename.get(name, name), t.shape, t.dtype))
    for n in nodes:
        n["inputs"] = [rename.get(i, i) for i in n["inputs"]]
        n["outputs"] = [rename.get(o, o) for o in n["outputs"]]

    g = _core.Graph()
    for name, shape, dtype in builder.inputs:
        g.add_input(name, shape, dtype)
    needed = {i for n in nodes for i in n["inputs"]}
    for name, var in builder.parameters():
        if name in needed:
            g.set_initializer(name, var.value, False)
    for name, value in constants.items():
        if name in needed:
            g.set_initializer(name, value, False)
    for n in nodes:
        g.add_node(n["op_type"], n["inputs"], n["outputs"], n["attrs"], name=n["name"])
    for name, _, dtype in outputs:
        g.add_output(name, dtype)
    from engine import __version__

    _core.onnx_save_graph(g, os.fspath(path), ir_version=ir_version, opset=opset, producer="engine",
                          producer_version=__version__, graph_name=model.name,
                          external_threshold_bytes=external_threshold_bytes,
                          output_shapes={name: shape for name, shape, _ in outputs})
    return path
