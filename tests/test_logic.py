"""The bool dtype across the core (numpy conversion, graph inputs and outputs, the ONNX
codec) and the ops that make and use it beyond the op-case table: NaN comparisons, a
run-time Cast read from ONNX, and Where's gradient inside a training graph."""
import numpy as np
import pytest

from engine import _core


def test_bool_arrays_cross_run_op_both_ways():
    x = np.array([[True, False], [False, True]])
    (y,), _ = _core.run_op("Not", [x])
    assert y.dtype == np.bool_ and y.tolist() == [[False, True], [True, False]]
    assert _core.infer_op("Not", [((2, 2), "bool")]) == [((2, 2), "bool")]


@pytest.mark.parametrize("op,want", [("Equal", [False, False, True]), ("Less", [False, True, False]),
                                     ("GreaterOrEqual", [False, False, True])])
def test_comparisons_with_nan_are_false(op, want):
    a = np.array([np.nan, 1.0, 2.0], np.float32)
    b = np.array([np.nan, np.nan, 2.0], np.float32)
    b[1] = 3.0 if op == "Less" else np.nan
    (y,), _ = _core.run_op(op, [a, b])
    assert y.tolist() == want


def _bool_graph():
    """y = Where(x > t, x, 0) * Cast(mask): a bool graph input and a bool initializer."""
    g = _core.Graph()
    g.add_input("x", [-1, 3])
    g.add_input("mask", [-1, 3], "bool")
    g.set_initializer("t", np.array([0.0], np.float32))
    g.set_initializer("keep", np.array([True, True, False]))
    g.set_initializer("zero", np.array(0.0, np.float32))
    g.add_node("Greater", ["x", "t"], ["pos"])
    g.add_node("And", ["mask", "keep"], ["m"])
    g.add_node("Where", ["pos", "x", "zero"], ["relu"])
    g.add_node("Cast", ["m"], ["mf"], {"to": 1})
    g.add_node("Mul", ["relu", "mf"], ["y"])
    g.add_output("y")
    g.add_output("m", "bool")
    return g


def _bool_graph_ref(x, mask):
    m = mask & np.array([True, True, False])
    return np.where(x > 0, x, 0) * m, m


def test_bool_graph_runs_and_round_trips_through_onnx(rng):
    ort = pytest.importorskip("onnxruntime")
    onnx = pytest.importorskip("onnx")
    x = rng.standard_normal((4, 3)).astype(np.float32)
    mask = rng.random((4, 3)) < 0.5
    want_y, want_m = _bool_graph_ref(x, mask)
    y, m = _core.Executor(_bool_graph()).run([x, mask])
    np.testing.assert_array_equal(y, want_y.astype(np.float32))
    assert m.dtype == np.bool_ and np.array_equal(m, want_m)

    data = _core.onnx_serialize_graph(_bool_graph(), output_shapes={"y": [-1, 3], "m": [-1, 3]})
    model = onnx.load_from_string(data)
    onnx.checker.check_model(model, full_check=True)
    assert model.graph.input[1].type.tensor_type.elem_type == onnx.TensorProto.BOOL
    got_y, got_m = ort.InferenceSession(data, providers=["CPUExecutionProvider"]).run(
        None, {"x": x, "mask": mask})
    np.testing.assert_array_equal(got_y, y)
    np.testing.assert_array_equal(got_m, m)

    graph, _ = _core.onnx_import(data)
    y2, m2 = _core.Executor(graph).run([x, mask])
    np.testing.assert_array_equal(y2, y)
    np.testing.assert_array_equal(m2, m)


@pytest.mark.parametrize("form", ["raw_data", "int32_data"])
def test_bool_initializers_are_read_in_both_forms(form):
    from onnx import TensorProto, helper
    values = [True, False, True]
    if form == "raw_data":
        init = helper.make_tensor("k", TensorProto.BOOL, [3], bytes([1, 0, 7]), raw=True)
    else:
        init = helper.make_tensor("k", TensorProto.BOOL, [3], values)
    node = helper.make_node("And", ["x", "k"], ["y"])
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.BOOL, [3])],
                              [helper.make_tensor_value_info("y", TensorProto.BOOL, [3])],
                              initializer=[init])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    g, _ = _core.onnx_import(model.SerializeToString())
    (y,), = [_core.Executor(g).run([np.array([True, True, False])])]
    assert y.tolist() == [True, False, False]


def test_cast_of_a_run_time_value_is_imported_as_the_cast_op(rng):
    ort = pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper
    nodes = [helper.make_node("Cast", ["x"], ["i"], to=TensorProto.INT64),
             helper.make_node("Cast", ["i"], ["y"], to=TensorProto.FLOAT),
             helper.make_node("Cast", ["x"], ["b"], to=TensorProto.BOOL)]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4]),
                               helper.make_tensor_value_info("b", TensorProto.BOOL, ["N", 4])])
    data = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                             ir_version=8).SerializeToString()
    x = (rng.standard_normal((3, 4)) * 3).astype(np.float32)
    x[0, 0] = 0.0
    g, _ = _core.onnx_import(data)
    got = _core.Executor(g).run([x])
    want = ort.InferenceSession(data, providers=["CPUExecutionProvider"]).run(None, {"x": x})
    for a, b in zip(got, want):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)


def test_where_trains_in_a_graph(rng):
    """loss = sum(Where(x > 0, w * x, w)): dloss/dw = sum of x where x > 0, plus 1 elsewhere,
    summed over the batch (w broadcasts along it)."""
    g = _core.Graph()
    g.add_input("x", [-1, 3])
    g.set_initializer("w", np.array([0.5, -1.0, 2.0], np.float32), trainable=True)
    g.set_initializer("zero", np.array(0.0, np.float32))
    g.set_initializer("all", np.array([0, 1], np.int64))
    g.add_node("Greater", ["x", "zero"], ["pos"])
    g.add_node("Mul", ["w", "x"], ["wx"])
    g.add_node("Where", ["pos", "wx", "w"], ["sel"])
    g.add_node("ReduceSum", ["sel", "all"], ["loss"], {"keepdims": 0})
    g.add_output("loss")
    x = rng.standard_normal((5, 3)).astype(np.float32)
    _, grads = _core.Executor(g).value_and_gradients([x], "loss", np.float32(1.0))
    np.testing.assert_allclose(grads["w"], np.where(x > 0, x, 1.0).sum(axis=0), rtol=1e-6)


def test_graph_input_dtype_names_bool():
    g = _core.Graph()
    with pytest.raises(TypeError, match="float32, int64 or bool, got float16"):
        g.add_input("x", [3], "float16")


def test_casts_to_and_from_bool_fold_at_import():
    """Constants cast to bool (a mask from int64 values) and back to float fold into bool and
    float32 initializers with the Cast op's conversions."""
    ort = pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper
    keep = helper.make_tensor("keep", TensorProto.INT64, [3], [2, 0, -1])
    nodes = [helper.make_node("Cast", ["keep"], ["mask"], to=TensorProto.BOOL),
             helper.make_node("Cast", ["mask"], ["maskf"], to=TensorProto.FLOAT),
             helper.make_node("Where", ["mask", "x", "maskf"], ["y"])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])],
                              initializer=[keep])
    data = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                             ir_version=8).SerializeToString()
    x = np.arange(6, dtype=np.float32).reshape(2, 3) + 5
    g, _ = _core.onnx_import(data)
    (got,) = _core.Executor(g).run([x])
    (want,) = ort.InferenceSession(data, providers=["CPUExecutionProvider"]).run(None, {"x": x})
    np.testing.assert_array_equal(got, want)
