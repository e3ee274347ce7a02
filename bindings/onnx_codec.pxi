# ONNX import/export through the core codec (no Python onnx package needed). Included by
# _core.pyx.
import os
cimport onnx_codec as oc


cdef object _onnx_info(oc.OnnxModel& m):
    opsets = {}
    for entry in m.opset_imports:
        opsets[entry.first.decode()] = entry.second
    return {"ir_version": m.ir_version, "opset_imports": opsets,
            "producer_name": m.producer_name.decode(),
            "producer_version": m.producer_version.decode(), "domain": m.domain.decode(),
            "model_version": m.model_version, "doc_string": m.doc_string.decode(),
            "graph_name": m.graph_name.decode(),
            "metadata": {kv.first.decode(): kv.second.decode() for kv in m.metadata}}


cdef tuple _onnx_result(oc.OnnxModel& m):
    cdef shared_ptr[g.Graph] ptr = make_shared[g.Graph](m.graph)
    return graph_from_ptr(ptr), _onnx_info(m)


def onnx_load_graph(path):
    """Reads an ONNX file: (Graph, info dict with ir_version, opset_imports, producer...)."""
    cdef string p = os.fsencode(path)
    cdef oc.OnnxModel m
    with nogil:
        m = oc.onnx_read(p)
    return _onnx_result(m)


def onnx_parse_bytes(data, base_dir=None):
    """Parses ModelProto bytes; external data only when base_dir names its folder."""
    cdef const unsigned char[::1] view = memoryview(data).cast("B")
    cdef string base = os.fsencode(base_dir) if base_dir is not None else b""
    cdef const void* ptr = &view[0] if view.shape[0] > 0 else NULL
    cdef size_t n = view.shape[0]
    cdef oc.OnnxModel m
    with nogil:
        m = oc.onnx_parse(ptr, n, base)
    return _onnx_result(m)


cdef tuple _imported(oc.OnnxImport& r):
    weights = {name.decode(): r.graph.trainable.count(name) != 0 for name in r.weights}
    info = {"opset": r.opset, "fixed_batch": r.fixed_batch, "weights": weights,
            "output_shapes": [tuple(s) for s in r.output_shapes],
            # The element types the file declares (TensorProto.DataType codes; 0: none).
            "input_types": [v.onnx_type for v in r.graph.inputs],
            "output_types": [v.onnx_type for v in r.graph.outputs]}
    return graph_from_ptr(make_shared[g.Graph](r.graph)), info


def onnx_import(source, bound=None, input_shapes=None):
    """An ONNX model (a path, or the model's bytes) as the engine runs it: (Graph, info) with
    info["weights"] ({name: trainable}), info["output_shapes"] (-1 where a dim follows the
    batch), info["fixed_batch"] and info["opset"]. Every problem of the file is reported
    in one ValueError before anything is built. `bound` ({graph input: array}) fixes those
    inputs to these values, as initializers (shape and axes inputs the plan needs), and
    `input_shapes` ({graph input: shape}) replaces the shapes the file declares: the graph is
    then planned for exactly those shapes (no dim follows a batch)."""
    cdef oc.OnnxImport r
    cdef oc.OnnxModel m
    cdef string p
    cdef string label = b"<bytes>"
    cdef const unsigned char[::1] view
    cdef const void* ptr = NULL
    cdef size_t n = 0
    if isinstance(source, (bytes, bytearray, memoryview)):
        view = memoryview(source).cast("B")
        n = view.shape[0]
        if n > 0:
            ptr = &view[0]
        with nogil:
            m = oc.onnx_parse(ptr, n, b"")
    else:
        p = os.fsencode(source)
        label = p
        with nogil:
            m = oc.onnx_read(p)
    for name, value in (bound or {}).items():
        m.graph.initializers[name.encode()] = as_tensor(np.array(value, copy=True), name)
    shapes = input_shapes or {}
    for k in range(m.graph.inputs.size()):
        name = m.graph.inputs[k].name.decode()
        if name in shapes:
            m.graph.inputs[k].shape = as_int_list(shapes[name], "input shape")
    cdef bool exact = input_shapes is not None
    with nogil:
        r = oc.onnx_import(m, label, exact)
    return _imported(r)


cdef oc.OnnxModel _onnx_model(Graph graph, ir_version, opset, producer, producer_version,
                              doc_string, metadata, graph_name, output_shapes) except *:
    cdef oc.OnnxModel m
    m.graph = deref(graph.ptr)
    # An output's shape is unknown to a graph under construction (add_output takes none);
    # the caller may state it, and outputs without one are written without a shape.
    shapes = dict(output_shapes or {})
    for i in range(m.graph.outputs.size()):
        name = m.graph.outputs[i].name.decode()
        if name in shapes:
            m.graph.outputs[i].shape = as_int_list([-1 if d is None else d for d in shapes.pop(name)],
                                                   f"output {name!r} shape")
    if shapes:
        raise ValueError(f"output_shapes names values that are not graph outputs: {sorted(shapes)}")
    m.ir_version = ir_version
    if isinstance(opset, (int, np.integer)):
        opset = {"": int(opset)}
    for domain, version in opset.items():
        m.opset_imports.push_back(pair[string, int64_t](domain.encode(), int(version)))
    m.producer_name = producer.encode()
    m.producer_version = producer_version.encode()
    m.doc_string = doc_string.encode()
    m.graph_name = graph_name.encode()
    for key, value in (metadata or {}).items():
        m.metadata[str(key).encode()] = str(value).encode()
    return m


def onnx_save_graph(Graph graph, path, ir_version=8, opset=17, producer="engine",
                    external_threshold_bytes=None, producer_version="", doc_string="",
                    metadata=None, graph_name="engine", external_file=None,
                    output_shapes=None):
    """Writes the graph as an ONNX model, atomically (a temporary file renamed over `path`).

    `opset` is the default-domain opset or a {domain: version} dict. Tensors of at least
    `external_threshold_bytes` go to one data file next to the model (`external_file`,
    default "<model file>.data"); without a threshold they do only when the model would
    exceed protobuf's 2 GB limit. `output_shapes` ({name: shape, -1 or None for a
    symbolic dim}) states output shapes the graph does not hold; outputs left without a
    shape load in onnxruntime but fail onnx.checker, which requires one.
    """
    cdef oc.OnnxModel m = _onnx_model(graph, ir_version, opset, producer, producer_version,
                                      doc_string, metadata, graph_name, output_shapes)
    cdef oc.OnnxWriteOptions options
    options.external_threshold_bytes = -1 if external_threshold_bytes is None else external_threshold_bytes
    if external_threshold_bytes is not None and external_threshold_bytes < 0:
        raise ValueError(f"external_threshold_bytes must be >= 0, got {external_threshold_bytes}")
    options.external_file = os.fsencode(external_file) if external_file else b""
    cdef string p = os.fsencode(path)
    with nogil:
        oc.onnx_write(m, p, options)


def onnx_serialize_graph(Graph graph, ir_version=8, opset=17, producer="engine",
                         producer_version="", doc_string="", metadata=None,
                         graph_name="engine", output_shapes=None):
    """The graph as ONNX ModelProto bytes (all tensors inline)."""
    cdef oc.OnnxModel m = _onnx_model(graph, ir_version, opset, producer, producer_version,
                                      doc_string, metadata, graph_name, output_shapes)
    cdef string out
    with nogil:
        out = oc.onnx_serialize(m)
    return <bytes>out
