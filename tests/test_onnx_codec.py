"""The core ONNX codec: models built with onnx.helper parsed field by field, engine-written
models checked by onnx.checker and run in onnxruntime, external data, and hostile bytes
(truncations, bit flips, random data, lying dims, escaping paths) that must raise
ValueError, never crash."""
import errno
import os

import numpy as np
import pytest

from engine import _core

onnx = pytest.importorskip("onnx", reason="onnx is not installed")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402


def make_model(nodes, inputs, outputs, inits=(), ir_version=8, opsets=(("", 17),), **kw):
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    return helper.make_model(graph, ir_version=ir_version,
                             opset_imports=[helper.make_opsetid(d, v) for d, v in opsets], **kw)


def vi(name, shape, elem=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, elem, shape)


def parse(model):
    data = model if isinstance(model, bytes) else model.SerializeToString()
    return _core.onnx_parse_bytes(data)


def parses_or_value_error(data):
    """True when the bytes parse, False on ValueError; anything else fails the test."""
    try:
        _core.onnx_parse_bytes(data)
        return True
    except ValueError:
        return False


def conv_relu_gemm(rng):
    """A small standard model: Conv(pads) + Relu + Flatten + Gemm(transB), raw_data weights."""
    f32 = lambda *s: rng.standard_normal(s).astype(np.float32)
    inits = {"w": f32(3, 2, 3, 3), "b": f32(3), "gw": f32(5, 3 * 5 * 7), "gb": f32(5)}
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", pads=[1, 1, 1, 1],
                              kernel_shape=[3, 3], strides=[1, 1]),
             helper.make_node("Relu", ["c"], ["r"], name="relu"),
             helper.make_node("Flatten", ["r"], ["f"], name="flat", axis=1),
             helper.make_node("Gemm", ["f", "gw", "gb"], ["y"], name="fc", transB=1, alpha=1.0)]
    model = make_model(nodes, [vi("x", ["N", 2, 5, 7])], [vi("y", ["N", 5])],
                       [numpy_helper.from_array(v, k) for k, v in inits.items()])
    return model, inits


def ort_run(model_bytes, feeds):
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
    sess = ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


# ---- parsing: every field ------------------------------------------------------------

def test_parse_every_attribute_kind():
    t = helper.make_tensor("t", TensorProto.FLOAT, [2, 2], [1.5, -2.0, 0.25, 8.0])
    ti = helper.make_tensor("ti", TensorProto.INT64, [3], [7, -9, 2**40])
    node = helper.make_node("Custom", ["x", ""], ["y"], name="n1", domain="custom.domain",
                            i=-3, f=0.3, s="text", t=t, ti=ti, ints=[1, -2, 2**40],
                            floats=[0.5, -1.25], strings=["Sigmoid", "Tanh"])
    node.attribute.append(helper.make_attribute("empty_ints", [], attr_type=onnx.AttributeProto.INTS))
    model = make_model([node], [vi("x", [2])], [vi("y", [2])],
                       opsets=(("", 17), ("custom.domain", 3)))
    graph, info = parse(model)
    (n,) = _core.graph_nodes(graph)
    assert (n["op_type"], n["name"], n["domain"]) == ("Custom", "n1", "custom.domain")
    assert n["inputs"] == ["x", ""] and n["outputs"] == ["y"]
    a = n["attrs"]
    assert sorted(a) == ["empty_ints", "f", "floats", "i", "ints", "s", "strings", "t", "ti"]
    assert a["i"] == -3 and a["s"] == "text" and a["ints"] == [1, -2, 2**40]
    assert a["strings"] == ["Sigmoid", "Tanh"]
    assert a["f"] == np.float32(0.3) and a["floats"] == [0.5, -1.25]
    assert a["empty_ints"] == []
    np.testing.assert_array_equal(a["t"], np.array([[1.5, -2.0], [0.25, 8.0]], np.float32))
    assert a["t"].dtype == np.float32
    np.testing.assert_array_equal(a["ti"], np.array([7, -9, 2**40], np.int64))
    assert info["opset_imports"] == {"": 17, "custom.domain": 3}


def test_attribute_type_inferred_when_unset():
    node = helper.make_node("Custom", ["x"], ["y"], k=4, alpha=0.5, mode="edge", pads=[1, 2])
    for a in node.attribute:
        a.ClearField("type")  # old exporters leave it out
    graph, _ = parse(make_model([node], [vi("x", [2])], [vi("y", [2])]))
    assert _core.graph_nodes(graph)[0]["attrs"] == {"k": 4, "alpha": 0.5, "mode": "edge",
                                                   "pads": [1, 2]}


@pytest.mark.parametrize("raw", [False, True], ids=["typed", "raw"])
def test_initializer_encodings(raw, rng):
    w = rng.standard_normal((3, 7)).astype(np.float32)
    idx = np.array([[5, -1], [2**35, 0]], np.int64)
    i32 = np.array([3, -7, 2**31 - 1, -2**31], np.int32)
    inits = [helper.make_tensor("w", TensorProto.FLOAT, w.shape, w.tobytes() if raw else w.ravel(), raw=raw),
             helper.make_tensor("idx", TensorProto.INT64, idx.shape, idx.tobytes() if raw else idx.ravel(), raw=raw),
             helper.make_tensor("i32", TensorProto.INT32, i32.shape, i32.tobytes() if raw else i32, raw=raw),
             helper.make_tensor("scalar", TensorProto.FLOAT, [], np.array([2.5], np.float32).tobytes() if raw else [2.5], raw=raw),
             helper.make_tensor("empty", TensorProto.FLOAT, [0, 3], b"" if raw else [], raw=raw)]
    assert inits[0].HasField("raw_data") == raw
    graph, _ = parse(make_model([helper.make_node("Identity", ["x"], ["y"])],
                                [vi("x", [1])], [vi("y", [1])], inits))
    got = _core.graph_initializers(graph)
    assert sorted(got) == ["empty", "i32", "idx", "scalar", "w"]
    np.testing.assert_array_equal(got["w"], w)
    assert got["w"].dtype == np.float32
    np.testing.assert_array_equal(got["idx"], idx)
    assert got["idx"].dtype == np.int64
    # int32 is widened to int64, the only conversion the codec makes.
    np.testing.assert_array_equal(got["i32"], i32.astype(np.int64))
    assert got["i32"].dtype == np.int64
    assert got["scalar"].shape == () and got["scalar"] == np.float32(2.5)
    assert got["empty"].shape == (0, 3)
    assert _core.graph_inputs(graph) == [("x", (1,), "float32")]


def test_inputs_outputs_symbolic_dims_and_dtypes():
    x = vi("x", ["batch", 3, None, 5])  # None: a dim with neither value nor param
    ids = vi("ids", ["batch", 4], TensorProto.INT64)
    y = vi("y", None)  # no shape at all
    model = make_model([helper.make_node("Identity", ["x"], ["y"])], [x, ids], [y, vi("z", [2, 0])])
    graph, _ = parse(model)
    assert _core.graph_inputs(graph) == [("x", (-1, 3, -1, 5), "float32"),
                                         ("ids", (-1, 4), "int64")]
    assert _core.graph_outputs(graph) == [("y", (), "float32"), ("z", (2, 0), "float32")]


def test_graph_input_duplicated_as_initializer_is_dropped():
    w = np.arange(3, dtype=np.float32)
    model = make_model([helper.make_node("Add", ["x", "w"], ["y"])],
                       [vi("x", ["N", 3]), vi("w", [3])], [vi("y", ["N", 3])],
                       [numpy_helper.from_array(w, "w")], ir_version=3)
    graph, info = parse(model)
    assert info["ir_version"] == 3
    assert _core.graph_inputs(graph) == [("x", (-1, 3), "float32")]
    np.testing.assert_array_equal(_core.graph_initializers(graph)["w"], w)


def test_model_fields_and_unknown_fields_skipped():
    model = make_model([helper.make_node("Relu", ["x"], ["y"], doc_string="node doc")],
                       [vi("x", [2])], [vi("y", [2])], producer_name="prod",
                       producer_version="1.2", domain="org.test", model_version=42,
                       doc_string="model doc", opsets=(("ai.onnx", 13), ("ai.onnx.ml", 3)))
    model.graph.doc_string = "graph doc"
    model.graph.name = "main_graph"
    model.graph.value_info.append(vi("y", [2]))
    helper.set_model_props(model, {"author": "me", "license": "MIT"})
    model.functions.append(onnx.FunctionProto(name="f", domain="d"))
    model.training_info.append(onnx.TrainingInfoProto())
    # Unknown field numbers of every wire type at the model level.
    extra = (b"\xc0\x3e\x96\x01"  # field 1000 varint
             + b"\xc1\x3e" + bytes(8)  # field 1000 fixed64
             + b"\xc2\x3e\x03abc"  # field 1000 length-delimited
             + b"\xc5\x3e" + bytes(4))  # field 1000 fixed32
    graph, info = parse(model.SerializeToString() + extra)
    assert info == {"ir_version": 8, "opset_imports": {"": 13, "ai.onnx.ml": 3},
                    "producer_name": "prod", "producer_version": "1.2", "domain": "org.test",
                    "model_version": 42, "doc_string": "model doc", "graph_name": "main_graph",
                    "metadata": {"author": "me", "license": "MIT"}}
    assert [n["op_type"] for n in _core.graph_nodes(graph)] == ["Relu"]


def test_external_data_is_read(tmp_path, rng):
    model, inits = conv_relu_gemm(rng)
    path = str(tmp_path / "m.onnx")
    onnx.save_model(model, path, save_as_external_data=True, all_tensors_to_one_file=True,
                    location="weights.bin", size_threshold=0)
    assert os.path.exists(tmp_path / "weights.bin")
    assert onnx.load(path, load_external_data=False).graph.initializer[0].data_location == 1
    graph, _ = _core.onnx_load_graph(path)
    got = _core.graph_initializers(graph)
    for k, v in inits.items():
        np.testing.assert_array_equal(got[k], v)
    # Without the model's folder, external data cannot be resolved.
    with pytest.raises(ValueError, match="external data needs the model's folder"):
        _core.onnx_parse_bytes(open(path, "rb").read())
    graph, _ = _core.onnx_parse_bytes(open(path, "rb").read(), base_dir=str(tmp_path))
    np.testing.assert_array_equal(_core.graph_initializers(graph)["w"], inits["w"])


# ---- writing ----------------------------------------------------------------------

def build_engine_graph(inits):
    g = _core.Graph()
    g.add_input("x", [-1, 2, 5, 7])
    for name, value in inits.items():
        g.set_initializer(name, value, trainable=True)
    g.add_node("Conv", ["x", "w", "b"], ["c"], {"pads": [1, 1, 1, 1], "kernel_shape": [3, 3],
                                                "strides": [1, 1]}, name="conv")
    g.add_node("Relu", ["c"], ["r"], name="relu")
    g.add_node("Flatten", ["r"], ["f"], {"axis": 1}, name="flat")
    g.add_node("Gemm", ["f", "gw", "gb"], ["y"], {"transB": 1, "alpha": 1.0}, name="fc")
    g.add_output("y")
    return g


def test_written_model_passes_checker_and_runs_in_onnxruntime(tmp_path, rng):
    model, inits = conv_relu_gemm(rng)
    path = str(tmp_path / "engine.onnx")
    _core.onnx_save_graph(build_engine_graph(inits), path, producer="engine",
                          producer_version="0.1", metadata={"k": "v"},
                          output_shapes={"y": [-1, 5]})
    loaded = onnx.load(path)
    onnx.checker.check_model(loaded, full_check=True)
    assert loaded.ir_version == 8
    assert [(o.domain, o.version) for o in loaded.opset_import] == [("", 17)]
    assert loaded.producer_name == "engine" and loaded.producer_version == "0.1"
    assert {p.key: p.value for p in loaded.metadata_props} == {"k": "v"}
    assert [n.op_type for n in loaded.graph.node] == ["Conv", "Relu", "Flatten", "Gemm"]
    for t in loaded.graph.initializer:
        np.testing.assert_array_equal(numpy_helper.to_array(t), inits[t.name])
    x = rng.standard_normal((3, 2, 5, 7)).astype(np.float32)
    (ours,) = ort_run(open(path, "rb").read(), {"x": x})
    (theirs,) = ort_run(model.SerializeToString(), {"x": x})
    np.testing.assert_array_equal(ours, theirs)


def test_onnx_model_roundtrip_runs_identically(rng):
    model, _ = conv_relu_gemm(rng)
    graph, _ = parse(model)
    data = _core.onnx_serialize_graph(graph)
    onnx.checker.check_model(onnx.load_from_string(data), full_check=True)
    x = rng.standard_normal((2, 2, 5, 7)).astype(np.float32)
    np.testing.assert_array_equal(ort_run(data, {"x": x})[0],
                                  ort_run(model.SerializeToString(), {"x": x})[0])


def test_roundtrip_preserves_everything_and_is_deterministic(rng):
    t = helper.make_tensor("t", TensorProto.INT64, [2], [3, -4])
    nodes = [helper.make_node("Custom", ["x", "w"], ["y"], name="c", domain="my.ops", i=2**40,
                              f=-0.5, s="s", t=t, ints=[-1, 0], floats=[1.5], names=["a", "bc"]),
             helper.make_node("Relu", ["y"], ["z"])]
    w = rng.standard_normal((4, 3)).astype(np.float32)
    model = make_model(nodes, [vi("x", ["N", 4]), vi("ids", [7], TensorProto.INT64)],
                       [vi("z", ["N", 3])], [numpy_helper.from_array(w, "w")],
                       opsets=(("", 17), ("my.ops", 2)))
    graph, info = parse(model)
    data = _core.onnx_serialize_graph(graph, ir_version=10, opset={"": 17, "my.ops": 2},
                                      graph_name=info["graph_name"])
    assert _core.onnx_serialize_graph(graph, ir_version=10, opset={"": 17, "my.ops": 2},
                                      graph_name=info["graph_name"]) == data
    graph2, info2 = parse(data)
    assert info2["ir_version"] == 10 and info2["opset_imports"] == {"": 17, "my.ops": 2}
    assert info2["graph_name"] == "g"
    assert _core.graph_inputs(graph2) == _core.graph_inputs(graph)
    assert _core.graph_outputs(graph2) == [("z", (-1, 3), "float32")]
    n1, n2 = _core.graph_nodes(graph), _core.graph_nodes(graph2)
    np.testing.assert_array_equal(n1[0]["attrs"].pop("t"), n2[0]["attrs"].pop("t"))
    assert n1 == n2
    np.testing.assert_array_equal(_core.graph_initializers(graph2)["w"], w)
    assert _core.onnx_serialize_graph(graph2, ir_version=10, opset={"": 17, "my.ops": 2},
                                      graph_name="g") == data
    # onnx reads it back too.
    m = onnx.load_from_string(data)
    assert m.graph.node[0].attribute[0].name == "f" and m.graph.node[0].domain == "my.ops"
    assert list(helper.get_node_attr_value(m.graph.node[0], "names")) == [b"a", b"bc"]


def test_node_domains_get_an_opset_import():
    g = _core.Graph()
    g.add_input("x", [2])
    g.add_node("Relu", ["x"], ["y"])
    g.add_node("SoftmaxCrossEntropy", ["y", "x"], ["l"], domain="engine")
    g.add_output("l")
    m = onnx.load_from_string(_core.onnx_serialize_graph(g))
    assert [(o.domain, o.version) for o in m.opset_import] == [("", 17), ("engine", 1)]


def test_external_data_write(tmp_path, rng):
    _, inits = conv_relu_gemm(rng)
    path = str(tmp_path / "ext.onnx")
    _core.onnx_save_graph(build_engine_graph(inits), path, external_threshold_bytes=64,
                          output_shapes={"y": [-1, 5]})
    data_file = tmp_path / "ext.onnx.data"
    assert data_file.exists()
    big = {k for k, v in inits.items() if v.nbytes >= 64}
    assert big == {"w", "gw"}
    # onnx resolves it, and the engine reads it back.
    loaded = onnx.load(path)
    onnx.checker.check_model(path, full_check=True)
    for t in loaded.graph.initializer:
        np.testing.assert_array_equal(numpy_helper.to_array(t), inits[t.name])
    raw = onnx.load(path, load_external_data=False)
    assert {t.name for t in raw.graph.initializer if t.data_location == 1} == big
    graph, _ = _core.onnx_load_graph(path)
    for k, v in _core.graph_initializers(graph).items():
        np.testing.assert_array_equal(v, inits[k])
    x = rng.standard_normal((1, 2, 5, 7)).astype(np.float32)
    assert ort_run(loaded.SerializeToString(), {"x": x})[0].shape == (1, 5)
    with pytest.raises(ValueError, match="plain file name"):
        _core.onnx_save_graph(build_engine_graph(inits), path, external_threshold_bytes=0,
                              external_file="../x.bin")


def test_save_is_atomic(tmp_path, rng):
    _, inits = conv_relu_gemm(rng)
    path = tmp_path / "m.onnx"
    _core.onnx_save_graph(build_engine_graph(inits), str(path))
    before = path.read_bytes()
    other = _core.Graph()
    other.add_input("x", [1])
    other.add_node("Relu", ["x"], ["y"])
    other.add_output("y")
    # The temporary file cannot be created: the save fails and the model is untouched.
    os.mkdir(str(path) + ".tmp")
    with pytest.raises(IsADirectoryError, match="cannot open") as err:
        _core.onnx_save_graph(other, str(path))
    assert err.value.errno == errno.EISDIR and err.value.filename == str(path)
    assert path.read_bytes() == before
    os.rmdir(str(path) + ".tmp")
    # A graph that fails while being serialized leaves no temporary file behind.
    bad = _core.Graph()
    bad.add_node("", ["x"], ["y"])
    with pytest.raises(ValueError, match="no op_type"):
        _core.onnx_save_graph(bad, str(path))
    assert path.read_bytes() == before and not os.path.exists(str(path) + ".tmp")
    # The final rename fails (a directory is in the way): the directory is untouched.
    blocked = tmp_path / "dir.onnx"
    blocked.mkdir()
    (blocked / "keep").write_bytes(b"x")
    with pytest.raises(IsADirectoryError, match="cannot rename"):
        _core.onnx_save_graph(other, str(blocked))
    assert (blocked / "keep").read_bytes() == b"x" and not os.path.exists(str(blocked) + ".tmp")
    with pytest.raises(FileNotFoundError, match="cannot open") as err:
        _core.onnx_save_graph(other, str(tmp_path / "missing" / "m.onnx"))
    assert err.value.filename == str(tmp_path / "missing" / "m.onnx")
    # A successful save replaces the file completely.
    _core.onnx_save_graph(other, str(path))
    assert [n["op_type"] for n in _core.graph_nodes(_core.onnx_load_graph(str(path))[0])] == ["Relu"]


def test_file_errors_are_os_errors_with_errno_and_path(tmp_path):
    import engine.onnx
    missing = tmp_path / "missing.onnx"
    for load in (lambda p: _core.onnx_load_graph(p), engine.onnx.load):
        with pytest.raises(FileNotFoundError) as err:
            load(str(missing))
        assert err.value.errno == errno.ENOENT and err.value.filename == str(missing)
        with pytest.raises(IsADirectoryError) as err:
            load(str(tmp_path))
        assert err.value.errno == errno.EISDIR and err.value.filename == str(tmp_path)


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="root writes into read-only folders")
def test_saving_into_a_read_only_folder_is_a_permission_error(tmp_path):
    graph = _core.Graph()
    graph.add_input("x", [1])
    graph.add_node("Relu", ["x"], ["y"])
    graph.add_output("y")
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(PermissionError) as err:
            _core.onnx_save_graph(graph, str(folder / "m.onnx"))
        assert err.value.filename == str(folder / "m.onnx")
    finally:
        folder.chmod(0o700)


# ---- unsupported content: clear errors ----------------------------------------------

def test_subgraph_attribute_is_a_clear_error():
    branch = helper.make_graph([helper.make_node("Identity", ["x"], ["z"])], "b", [], [vi("z", [1])])
    node = helper.make_node("If", ["c"], ["y"], name="branchy", then_branch=branch, else_branch=branch)
    with pytest.raises(ValueError, match="If 'branchy'.*subgraph attributes are not supported"):
        parse(make_model([node], [vi("x", [1])], [vi("y", [1])]))


@pytest.mark.parametrize("np_dtype", [np.float16, np.float64, np.int8, np.uint8, np.int16, np.uint16,
                                      np.int32, np.uint32, np.uint64, "bfloat16"])
@pytest.mark.parametrize("typed", [False, True])
def test_initializers_of_other_types_hold_their_values_in_float32_or_int64(np_dtype, typed):
    values = np.array([0, 1, 3, 250, 7], np.float64) if np_dtype != np.int8 else np.array([-128, -1, 0, 5, 127.0])
    if np_dtype == "bfloat16":  # bfloat16 is float32's upper 16 bits
        values = np.array([0.0, -1.5, 3.25, 2.0 ** 100, 2.0 ** -100])  # exact in bfloat16
        bits = (values.astype(np.float32).view(np.uint32) >> 16).astype(np.uint16)
        t = helper.make_tensor("w", TensorProto.BFLOAT16, [5], bits.tobytes(), raw=True) if not typed else \
            helper.make_tensor("w", TensorProto.BFLOAT16, [5], values.tolist())
        expected = (bits.astype(np.uint32) << 16).view(np.float32)
    else:
        array = values.astype(np_dtype)
        if np_dtype == np.float16:
            array = np.array([0.0, -1.5, 6e-8, 65504.0, np.inf], np.float16)  # a subnormal, the largest, inf
        t = numpy_helper.from_array(array, "w")
        if typed:  # the typed field instead of raw_data
            t = helper.make_tensor("w", t.data_type, [5], array.tolist())
        expected = array.astype(np.float32 if array.dtype.kind == "f" else np.int64)
    model = make_model([helper.make_node("Identity", ["x"], ["y"])], [vi("x", [1])], [vi("y", [1])], [t])
    graph, _ = parse(model)
    got = _core.graph_initializers(graph)["w"]
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("dtype,name", [(TensorProto.COMPLEX64, "complex64"), (TensorProto.FLOAT8E4M3FN, "float8e4m3fn"),
                                        (TensorProto.STRING, "string")])
def test_unsupported_initializer_dtype_names_tensor_and_code(dtype, name):
    t = helper.make_tensor("weights", dtype, [0], [])
    model = make_model([helper.make_node("Identity", ["x"], ["y"])], [vi("x", [1])], [vi("y", [1])], [t])
    with pytest.raises(ValueError, match=f"initializer 'weights': data type {dtype} \\({name}\\)"):
        parse(model)


@pytest.mark.parametrize("case", ["tensors_attr", "sparse_init", "sequence_input", "float16_input",
                                  "no_op_type", "dup_attr", "dup_init", "no_graph"])
def test_unsupported_content(case):
    nodes = [helper.make_node("Relu", ["x"], ["y"])]
    inputs, inits = [vi("x", [1])], []
    if case == "tensors_attr":
        t = helper.make_tensor("t", TensorProto.FLOAT, [1], [1.0])
        nodes = [helper.make_node("Custom", ["x"], ["y"], tensors=[t, t])]
    if case == "sparse_init":
        pass
    if case == "sequence_input":
        inputs = [helper.make_tensor_sequence_value_info("x", TensorProto.FLOAT, [1])]
    if case == "float16_input":  # (a complex input: float16 is held in float32)
        inputs = [vi("x", [1], TensorProto.COMPLEX64)]
    if case == "no_op_type":
        nodes = [helper.make_node("", ["x"], ["y"])]
    if case == "dup_attr":
        nodes[0].attribute.extend([helper.make_attribute("a", 1), helper.make_attribute("a", 2)])
    if case == "dup_init":
        inits = [helper.make_tensor("w", TensorProto.FLOAT, [1], [1.0])] * 2
    model = make_model(nodes, inputs, [vi("y", [1])], inits)
    if case == "sparse_init":
        model.graph.sparse_initializer.append(onnx.SparseTensorProto())
    if case == "no_graph":
        model.ClearField("graph")
    expected = {"tensors_attr": "attribute 'tensors'.*TENSORS.*not supported",
                "sparse_init": "sparse initializers are not supported",
                "sequence_input": "graph input 'x'.*only dense tensor types",
                "float16_input": "graph input 'x'.*data type 14 \\(complex64\\)",
                "no_op_type": "node 0.*no op_type", "dup_attr": "attribute 'a' appears twice",
                "dup_init": "initializer 'w'.*appears twice", "no_graph": "no graph"}[case]
    with pytest.raises(ValueError, match=expected):
        parse(model)


# ---- hostile bytes ----------------------------------------------------------------

def small_model_bytes():
    t = helper.make_tensor("t", TensorProto.FLOAT, [2], [1.0, 2.0])
    nodes = [helper.make_node("Custom", ["x", "w"], ["y"], name="c", i=3, f=0.5, s="s", t=t,
                              ints=[1, 2], floats=[0.5])]
    inits = [numpy_helper.from_array(np.arange(6, dtype=np.float32).reshape(2, 3), "w"),
             helper.make_tensor("k", TensorProto.INT64, [2], [1, 2])]
    model = make_model(nodes, [vi("x", ["N", 3])], [vi("y", ["N", 3])], inits)
    helper.set_model_props(model, {"a": "b"})
    return model.SerializeToString()


def test_every_truncation_raises_or_parses():
    data = small_model_bytes()
    failures = sum(not parses_or_value_error(data[:n]) for n in range(len(data)))
    # Cuts inside the graph (which comes before the opsets and metadata) must fail.
    assert failures > len(data) // 2
    with pytest.raises(ValueError):
        _core.onnx_parse_bytes(data[: len(data) // 2])
    assert parses_or_value_error(data)


def test_random_bytes(rng):
    for n in [0, 1, 2, 3, 7, 33, 257, 4099] * 25:
        parses_or_value_error(rng.integers(0, 256, n, dtype=np.uint8).tobytes())
    with pytest.raises(ValueError, match="no graph"):
        _core.onnx_parse_bytes(b"")


def test_single_bit_flips(rng):
    data = bytearray(small_model_bytes())
    positions = rng.integers(0, len(data) * 8, 1000)
    ok = 0
    for p in positions:
        flipped = bytearray(data)
        flipped[p // 8] ^= 1 << (p % 8)
        ok += parses_or_value_error(bytes(flipped))
    assert 0 < ok < 1000  # some flips only change values, many break the structure


def init_model(tensor):
    return make_model([helper.make_node("Identity", ["x"], ["y"])], [vi("x", [1])],
                      [vi("y", [1])], [tensor])


@pytest.mark.parametrize("dims,raw,match", [
    ([2**40, 2**40], b"\0" * 4, "overflow"),
    ([2**62, 3], b"\0" * 4, "overflow"),
    ([0, 2**62, 2**62], b"", "overflow"),
    ([-1, 4], b"\0" * 16, "negative dim -1"),
    ([2, 3], b"\0" * 20, "raw_data holds 20 bytes but dims \\[2, 3\\] of float32 need 24"),
    ([2**31], b"\0" * 8, "raw_data holds 8 bytes"),
    ([1] * 65, b"\0" * 4, "more than 64"),
], ids=["huge", "overflow", "zero-overflow", "negative", "short-raw", "huge-raw", "rank"])
def test_lying_dims(dims, raw, match):
    t = onnx.TensorProto(name="w", data_type=TensorProto.FLOAT, dims=dims, raw_data=raw)
    with pytest.raises(ValueError, match=f"initializer 'w'.*{match}"):
        parse(init_model(t))


def test_typed_field_mismatches():
    cases = [
        (onnx.TensorProto(name="w", data_type=1, dims=[3], float_data=[1.0, 2.0]),
         "float_data holds 2 values but dims \\[3\\] need 3"),
        (onnx.TensorProto(name="w", data_type=7, dims=[1], int64_data=[1, 2]),
         "int64_data holds 2 values"),
        (onnx.TensorProto(name="w", data_type=7, dims=[2], float_data=[1.0, 2.0]),
         "int64 tensor stores values in float_data"),
        (onnx.TensorProto(name="w", data_type=1, dims=[1], float_data=[1.0], raw_data=b"\0" * 4),
         "more than one"),
        (onnx.TensorProto(name="w", data_type=1, dims=[4]), "has no data"),
        (onnx.TensorProto(name="w", dims=[1], float_data=[1.0]), "no data_type"),
        (onnx.TensorProto(name="w", data_type=99, dims=[1], raw_data=b"\0" * 4),
         "data type 99 \\(unknown\\)"),
    ]
    for tensor, match in cases:
        with pytest.raises(ValueError, match=f"initializer 'w'.*{match}"):
            parse(init_model(tensor))
    # int32_data holding a value outside int32 (protobuf's Python API refuses to build it).
    tensor = (key(1, 0) + varint(1) + key(2, 0) + varint(TensorProto.INT32)
              + length_delimited(8, b"w") + key(5, 0) + varint(2**40))
    with pytest.raises(ValueError, match="initializer 'w'.*int32_data value 1099511627776 overflows"):
        _core.onnx_parse_bytes(length_delimited(7, length_delimited(5, tensor)))


def external_model(location, offset=None, length=None, dims=(4,)):
    t = onnx.TensorProto(name="w", data_type=TensorProto.FLOAT, dims=list(dims),
                         data_location=TensorProto.EXTERNAL)
    t.external_data.add(key="location", value=location)
    if offset is not None:
        t.external_data.add(key="offset", value=str(offset))
    if length is not None:
        t.external_data.add(key="length", value=str(length))
    return init_model(t)


def test_external_data_confinement(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    outside = tmp_path / "secret.bin"
    outside.write_bytes(np.arange(4, dtype=np.float32).tobytes())
    (folder / "w.bin").write_bytes(np.arange(8, dtype=np.float32).tobytes())
    (folder / "sub").mkdir()
    os.symlink(str(outside), str(folder / "link.bin"))
    os.symlink(str(tmp_path), str(folder / "sub" / "up"))

    def load(model):
        path = folder / "m.onnx"
        path.write_bytes(model.SerializeToString())
        return _core.onnx_load_graph(str(path))

    graph, _ = load(external_model("w.bin", offset=16, length=16))
    np.testing.assert_array_equal(_core.graph_initializers(graph)["w"], [4, 5, 6, 7])
    graph, _ = load(external_model("./w.bin", length=16))
    np.testing.assert_array_equal(_core.graph_initializers(graph)["w"], [0, 1, 2, 3])
    cases = [
        (external_model("../secret.bin"), "leaves the model's folder"),
        (external_model("sub/../../secret.bin"), "leaves the model's folder"),
        (external_model(str(outside)), "is absolute"),
        (external_model("link.bin"), "resolves outside the model's folder"),
        (external_model("sub/up/secret.bin"), "resolves outside the model's folder"),
        (external_model("sub"), "not a regular file"),
        (external_model("missing.bin"), "cannot be opened"),
        (external_model(""), "no location"),
        (external_model("w.bin", offset=33), "offset 33 is past the end"),
        (external_model("w.bin", offset=24, length=16), "past the end"),
        (external_model("w.bin", offset=2**63), "past the end"),
        (external_model("w.bin", offset=-1), "not a valid size"),
        (external_model("w.bin", offset="1e3"), "not a valid size"),
        (external_model("w.bin", length=12), "length 12 does not match the 16 bytes"),
        (external_model("w.bin"), "length 32 does not match"),
        (external_model("w.bin", length=2**60, dims=(2**58,)), "past the end"),
    ]
    for model, match in cases:
        with pytest.raises(ValueError, match=f"initializer 'w'.*{match}"):
            load(model)


def key(field, wire):
    return varint(field << 3 | wire)


def varint(v):
    out = bytearray()
    while v >= 0x80:
        out.append(v & 0x7F | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def length_delimited(field, payload):
    return key(field, 2) + varint(len(payload)) + payload


def test_malformed_wire_format():
    graph = length_delimited(7, b"")
    cases = [
        (b"\x08" + b"\xff" * 10 + b"\x01", "varint"),  # 11-byte varint
        (b"\x08" + b"\xff" * 9 + b"\x02", "overflows 64 bits"),
        (b"\x08\x80", "truncated varint"),
        (b"\x0b" + graph, "group"),  # wire type 3 (start group)
        (b"\x0c", "group"),
        (b"\x0e", "invalid wire type 6"),
        (b"\x00\x00", "invalid field number 0"),
        (length_delimited(7, b"")[:-1] + b"\x05", "length 5 exceeds the 0 bytes left"),
        (key(1, 2) + b"\x00" + graph, "field 'ir_version' has wire type length-delimited"),
        (graph + graph, "more than one graph"),
        (key(1000, 1) + b"\0" * 7, "truncated fixed64"),
        (key(1000, 5) + b"\0" * 3, "truncated fixed32"),
    ]
    for data, match in cases:
        with pytest.raises(ValueError, match=match):
            _core.onnx_parse_bytes(data)


def test_deeply_nested_garbage_is_bounded():
    # Subgraphs nested 20000 deep in an attribute: never descended into.
    inner = b""
    for _ in range(20000):
        inner = length_delimited(6, length_delimited(1, inner))  # attribute.g -> graph.node
    node = length_delimited(4, b"If") + length_delimited(5, length_delimited(1, b"g") + inner)
    with pytest.raises(ValueError, match="subgraph attributes are not supported"):
        _core.onnx_parse_bytes(length_delimited(7, length_delimited(1, node)))
    # Unknown fields nested deep are skipped as opaque bytes.
    blob = b""
    for _ in range(20000):
        blob = length_delimited(99, blob)
    graph, _ = _core.onnx_parse_bytes(length_delimited(7, blob) + blob)
    assert _core.graph_nodes(graph) == []
    # A length that claims more than is there.
    with pytest.raises(ValueError, match="exceeds"):
        _core.onnx_parse_bytes(key(7, 2) + varint(2**62) + b"\0" * 10)


def test_imported_graph_runs_in_the_executor(rng):
    model, _ = conv_relu_gemm(rng)
    graph, _ = parse(model)
    x = rng.standard_normal((3, 2, 5, 7)).astype(np.float32)
    (got,) = _core.Executor(graph).run([x])
    (want,) = ort_run(model.SerializeToString(), {"x": x})
    np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-5)
