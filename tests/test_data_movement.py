"""The data-movement ops (Slice, Gather, Split, Expand, Tile) beyond the op-case table: inside
graphs (gradients through the executor, values used by several nodes, outputs nothing reads)
and from ONNX files (the forms of older opsets, shape values folded at import, parameters
that are only known at run time)."""
import numpy as np
import pytest

import engine
import engine.onnx
from engine import _core
from helpers import assert_close

onnx = pytest.importorskip("onnx", reason="onnx is not installed")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402


def make_model(nodes, inputs, outputs, inits=(), opset=13):
    graph = helper.make_graph(nodes, "g", inputs, outputs,
                              [numpy_helper.from_array(v, k) for k, v in dict(inits).items()])
    ir = 3 if opset < 7 else 7 if opset < 13 else 8
    return helper.make_model(graph, ir_version=ir, opset_imports=[helper.make_opsetid("", opset)])


def vi(name, shape, elem=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, elem, shape)


def load(model):
    return engine.onnx.load(model.SerializeToString())


def ort_outputs(model, feeds):
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


def check_against_ort(model, x):
    got = load(model).predict(x)
    got = got if isinstance(got, list) else [got]
    want = ort_outputs(model, {"x": x})
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape
        np.testing.assert_array_equal(g, w)


def i64(values):
    return np.asarray(values, np.int64)


# ---- Slice ------------------------------------------------------------------------------------

def test_slice_attribute_form_of_opset_9(rng):
    node = helper.make_node("Slice", ["x"], ["y"], starts=[1, -4], ends=[1000, -1], axes=[1, 2])
    model = make_model([node], [vi("x", ["N", 5, 6])], [vi("y", ["N", 4, 3])], opset=9)
    check_against_ort(model, rng.standard_normal((3, 5, 6)).astype(np.float32))


def test_slice_of_a_shape_is_folded_and_keeps_the_batch_symbolic(rng):
    # x.view(-1, *x.shape[2:]) with the trailing dims sliced out of Shape(x).
    nodes = [helper.make_node("Shape", ["x"], ["s"]),
             helper.make_node("Slice", ["s", "two", "big"], ["tail"]),
             helper.make_node("Concat", ["minus1", "tail"], ["shape"], axis=0),
             helper.make_node("Reshape", ["x", "shape"], ["y"])]
    inits = {"two": i64([2]), "big": i64([2**62]), "minus1": i64([-1])}
    model = make_model(nodes, [vi("x", ["N", 3, 4, 5])], [vi("y", ["M", 4, 5])], inits)
    m = load(model)
    builder, _, _ = m._build_graph()
    assert [n["op_type"] for n in builder.nodes] == ["Reshape"]
    x = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    np.testing.assert_array_equal(m.predict(x), x.reshape(6, 4, 5))


def test_slice_bounds_computed_at_run_time_are_refused():
    nodes = [helper.make_node("Slice", ["x", "starts", "ends"], ["y"])]
    model = make_model(nodes, [vi("x", ["N", 5]), vi("starts", [1], TensorProto.INT64)],
                       [vi("y", ["N", 5])], {"ends": i64([4])})
    with pytest.raises(ValueError, match=r"Slice.*the starts input must be a constant"):
        load(model)


def test_gradient_through_slices_of_one_value(rng):
    """Two slices of x overlap: their scattered gradients add up."""
    g = _core.Graph()
    g.add_input("x", [-1, 7])
    for name, v in {"s0": [0], "e0": [5], "s1": [2], "e1": [7], "a": [1]}.items():
        g.set_initializer(name, i64(v), False)
    g.add_node("Slice", ["x", "s0", "e0", "a"], ["left"])
    g.add_node("Slice", ["x", "s1", "e1", "a"], ["right"])
    g.add_node("Mul", ["left", "right"], ["y"])
    g.add_output("y")
    x = rng.standard_normal((3, 7)).astype(np.float32)
    seed = rng.standard_normal((3, 5)).astype(np.float32)
    grads = _core.Executor(g).gradients([x], "y", seed)
    want = np.zeros((3, 7))
    want[:, 0:5] += seed * x[:, 2:7]
    want[:, 2:7] += seed * x[:, 0:5]
    assert_close(grads["x"], want, 1e-6)


# ---- Gather -----------------------------------------------------------------------------------

def embedding_graph(rng, vocab=11, dim=6):
    g = _core.Graph()
    g.add_input("ids", [-1, 4], "int64")
    g.set_initializer("table", rng.standard_normal((vocab, dim)).astype(np.float32), True)
    g.add_node("Gather", ["table", "ids"], ["y"], name="embed")
    g.add_output("y")
    return g


def test_embedding_gradient_adds_repeated_ids(rng):
    g = embedding_graph(rng)
    ids = np.array([[1, 3, 1, -1], [0, 10, 3, 1]], np.int64)
    seed = rng.standard_normal((2, 4, 6)).astype(np.float32)
    grads = _core.Executor(g).gradients([ids], "y", seed)
    want = np.zeros((11, 6))
    np.add.at(want, ids.reshape(-1) % 11, seed.reshape(-1, 6).astype(np.float64))
    assert_close(grads["table"], want, 1e-6)
    assert "ids" not in grads


def test_out_of_range_ids_at_run_time_name_the_node(rng):
    ex = _core.Executor(embedding_graph(rng))
    with pytest.raises(ValueError, match=r"Gather 'embed': index 11 at indices\[1, 2\] is out "
                                         r"of range \[-11, 11\)"):
        ex.run([np.array([[0, 1, 2, 3], [4, 5, 11, 6]], np.int64)])


def test_gather_of_a_weight_is_kept_at_import(rng):
    """An embedding table read with constant indices stays a trainable weight."""
    table = rng.standard_normal((5, 3)).astype(np.float32)
    nodes = [helper.make_node("Gather", ["table", "ids"], ["rows"], axis=0),
             helper.make_node("Add", ["x", "rows"], ["y"])]
    model = make_model(nodes, [vi("x", ["N", 2, 3])], [vi("y", ["N", 2, 3])],
                       {"table": table, "ids": i64([4, -5])})
    m = load(model)
    assert [v.name for v in m.weights] == ["table"]
    check_against_ort(model, rng.standard_normal((3, 2, 3)).astype(np.float32))


# ---- Split ------------------------------------------------------------------------------------

@pytest.mark.parametrize("opset", [11, 13, 18])
def test_split_forms_of_each_opset(opset, rng):
    """The sizes as an attribute (opsets < 13), as an input, and num_outputs (opset 18)."""
    inits = {}
    if opset < 13:
        node = helper.make_node("Split", ["x"], ["a", "b", "c"], axis=1, split=[3, 3, 1])
    elif opset < 18:
        node = helper.make_node("Split", ["x", "sizes"], ["a", "b", "c"], axis=1)
        inits = {"sizes": i64([3, 3, 1])}
    else:
        node = helper.make_node("Split", ["x"], ["a", "b", "c"], axis=1, num_outputs=3)
    outputs = [vi(n, ["N", s]) for n, s in zip("abc", (3, 3, 1))]
    model = make_model([node], [vi("x", ["N", 7])], outputs, inits, opset=opset)
    check_against_ort(model, rng.standard_normal((4, 7)).astype(np.float32))


def test_split_gradient_with_an_output_nothing_reads(rng):
    g = _core.Graph()
    g.add_input("x", [-1, 7])
    g.set_initializer("sizes", i64([2, 4, 1]), False)
    g.add_node("Split", ["x", "sizes"], ["a", "unused", "c"], {"axis": 1})
    g.add_node("Mul", ["a", "a"], ["a2"])
    g.add_node("Concat", ["a2", "c"], ["y"], {"axis": 1})
    g.add_output("y")
    x = rng.standard_normal((3, 7)).astype(np.float32)
    seed = rng.standard_normal((3, 3)).astype(np.float32)
    grads = _core.Executor(g).gradients([x], "y", seed)
    want = np.zeros((3, 7))
    want[:, 0:2] = 2 * x[:, 0:2] * seed[:, 0:2]
    want[:, 6:7] = seed[:, 2:3]
    assert_close(grads["x"], want, 1e-6)


# ---- Expand, Tile -----------------------------------------------------------------------------

def test_expand_and_tile_gradients_sum_the_copies(rng):
    g = _core.Graph()
    g.add_input("x", [-1, 1, 3])
    g.set_initializer("shape", i64([4, 1]), False)
    g.set_initializer("reps", i64([1, 2, 2]), False)
    g.add_node("Expand", ["x", "shape"], ["e"])      # [N, 4, 3]
    g.add_node("Tile", ["e", "reps"], ["y"])         # [N, 8, 6]
    g.add_output("y")
    x = rng.standard_normal((2, 1, 3)).astype(np.float32)
    (y,) = _core.Executor(g).run([x])
    np.testing.assert_array_equal(y, np.tile(np.broadcast_to(x, (2, 4, 3)), (1, 2, 2)))
    seed = rng.standard_normal((2, 8, 6)).astype(np.float32)
    grads = _core.Executor(g).gradients([x], "y", seed)
    want = seed.astype(np.float64).reshape(2, 2, 4, 2, 3).sum(axis=(1, 2, 3))[:, None, :]
    assert_close(grads["x"], want, 1e-6)


def test_expand_and_tile_from_onnx(rng):
    nodes = [helper.make_node("Expand", ["x", "shape"], ["e"]),
             helper.make_node("Tile", ["e", "reps"], ["y"])]
    model = make_model(nodes, [vi("x", ["N", 1, 3])], [vi("y", ["N", 8, 6])],
                       {"shape": i64([4, 1]), "reps": i64([1, 2, 2])}, opset=8)
    check_against_ort(model, rng.standard_normal((2, 1, 3)).astype(np.float32))


# ---- writing older opsets ---------------------------------------------------------------------

def slice_split_graph(steps=None, num_outputs=None):
    g = _core.Graph()
    g.add_input("x", [3, 8])
    for name, v in {"starts": [1], "ends": [100], "axes": [1], "sizes": [3, 4]}.items():
        g.set_initializer(name, i64(v))
    inputs = ["x", "starts", "ends", "axes"]
    if steps is not None:
        g.set_initializer("steps", i64(steps))
        inputs.append("steps")
    g.add_node("Slice", inputs, ["s"], name="slice")
    if num_outputs is None:
        g.add_node("Split", ["s", "sizes"], ["a", "b"], {"axis": 1}, name="split")
    else:
        g.add_node("Split", ["s"], ["a", "b"], {"axis": 1, "num_outputs": num_outputs},
                   name="split")
    g.add_output("a")
    g.add_output("b")
    return g


@pytest.mark.parametrize("opset", [9, 11, 13, 18])
def test_export_writes_the_slice_and_split_forms_of_the_opset(opset, rng):
    ort = pytest.importorskip("onnxruntime")
    g = slice_split_graph(num_outputs=2 if opset >= 18 else None)
    widths = (4, 3) if opset >= 18 else (3, 4)  # num_outputs: the last part the smaller
    data = _core.onnx_serialize_graph(g, opset=opset,
                                      output_shapes={"a": [3, widths[0]], "b": [3, widths[1]]})
    model = onnx.load_from_string(data)
    onnx.checker.check_model(model, full_check=True)
    sl, sp = model.graph.node
    assert (len(sl.input) == 1) == (opset < 10)
    assert ([a.name for a in sp.attribute if a.name == "split"] == ["split"]) == (opset < 13)
    x = rng.standard_normal((3, 8)).astype(np.float32)
    got = ort.InferenceSession(data, providers=["CPUExecutionProvider"]).run(None, {"x": x})
    want = _core.Executor(g).run([x])
    for g_, w in zip(got, want):
        np.testing.assert_array_equal(g_, w)


def test_export_refuses_what_the_older_opset_cannot_say():
    with pytest.raises(ValueError, match=r"Slice 'slice' at opset 9: opset 9 has no steps"):
        _core.onnx_serialize_graph(slice_split_graph(steps=[2]), opset=9)
    with pytest.raises(ValueError, match=r"Split 'split' at opset 17: opset 17 has no "
                                         r"num_outputs \(from opset 18\)"):
        _core.onnx_serialize_graph(slice_split_graph(num_outputs=2), opset=17)


def test_expand_to_a_shape_holding_the_batch_size(rng):
    """Position ids [1, T] expanded to Shape(x) = [N, T]: the batch is only known at run time,
    and the expanded value follows it."""
    nodes = [helper.make_node("Shape", ["x"], ["s"]),
             helper.make_node("Expand", ["pos", "s"], ["e"]),
             helper.make_node("Add", ["x", "e"], ["y"])]
    model = make_model(nodes, [vi("x", ["N", 5])], [vi("y", ["N", 5])],
                       {"pos": np.arange(5, dtype=np.float32).reshape(1, 5)})
    x = rng.standard_normal((3, 5)).astype(np.float32)
    check_against_ort(model, x)
    check_against_ort(model, x[:1])


def test_expand_to_a_shape_holding_the_batch_size_twice_is_refused():
    nodes = [helper.make_node("Shape", ["x"], ["s"]),
             helper.make_node("Concat", ["s", "s"], ["ss"], axis=0),
             helper.make_node("Expand", ["pos", "ss"], ["e"])]
    model = make_model(nodes, [vi("x", ["N", 5])], [vi("e", ["N", 5, "N", 5])],
                       {"pos": np.arange(5, dtype=np.float32).reshape(1, 5)})
    with pytest.raises(ValueError, match=r"Expand\).*target shape depends on the batch size"):
        load(model)


@pytest.mark.parametrize("op,what", [("Slice", "starts"), ("Split", "split"), ("Expand", "shape"),
                                     ("Tile", "repeats")])
def test_parameters_computed_at_run_time_are_refused(op, what):
    """Shapes are fixed when a graph is planned: these inputs must be constants."""
    g = _core.Graph()
    g.add_input("x", [-1, 4])
    g.add_input("p", [2], "int64")
    g.set_initializer("c", i64([1, 1]), False)
    inputs = {"Slice": ["x", "p", "c"], "Split": ["x", "p"], "Expand": ["x", "p"],
              "Tile": ["x", "p"]}[op]
    g.add_node(op, inputs, ["y"] if op != "Split" else ["y", "z"],
               {"axis": 1} if op == "Split" else {}, name="n")
    g.add_output("y")
    with pytest.raises(ValueError, match=rf"{op} 'n': the {what} input must be a constant"):
        _core.Executor(g).run([np.ones((2, 4), np.float32), i64([1, 3])])
