"""Reductions beyond the op-case table: the ONNX forms of older opsets (axes as an
attribute) read and written by the core, the gradient rule of ReduceMax/ReduceMin at ties,
NaN and empty reductions, and axes that are not constants."""
import numpy as np
import pytest

from engine import _core
from op_cases import reduce_ref

REDUCE_OPS = ["ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL2",
              "ReduceSumSquare", "ReduceLogSumExp"]
AXES_INPUT_SINCE = {op: 13 if op == "ReduceSum" else 18 for op in REDUCE_OPS}


def _model(op, opset, x, axes, keepdims):
    from onnx import TensorProto, helper
    inputs, init, attrs = ["x"], [], {"keepdims": keepdims}
    if opset >= AXES_INPUT_SINCE[op]:
        inputs.append("axes")
        init.append(helper.make_tensor("axes", TensorProto.INT64, [len(axes)], axes))
    else:
        attrs["axes"] = axes
    node = helper.make_node(op, inputs, ["y"], **attrs)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", 1, x.shape)],
                              [helper.make_empty_tensor_value_info("y")], initializer=init)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=8)


@pytest.mark.parametrize("opset", [11, 13, 17, 18])
@pytest.mark.parametrize("op", REDUCE_OPS)
def test_import_of_each_opset_form_matches_onnxruntime(op, opset, rng):
    ort = pytest.importorskip("onnxruntime")
    x = rng.standard_normal((3, 4, 5)).astype(np.float32)
    model = _model(op, opset, x, [0, -1], 0)
    graph, info = _core.onnx_import(model.SerializeToString())
    (got,) = _core.Executor(graph).run([x])
    want = ort.InferenceSession(model.SerializeToString(),
                                providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got, reduce_ref(op)(x.astype(np.float64), [0, -1], keepdims=0),
                               rtol=1e-5, atol=1e-6)


def _engine_graph(op, axes=(1,), **attrs):
    g = _core.Graph()
    g.add_input("x", [3, 4, 5])
    g.set_initializer("axes", np.array(axes, np.int64))
    g.add_node(op, ["x", "axes"], ["y"], attrs, name="r")
    g.add_output("y")
    return g


@pytest.mark.parametrize("opset", [13, 17, 18])
@pytest.mark.parametrize("op", REDUCE_OPS)
def test_export_writes_the_form_of_the_opset(op, opset, rng):
    """The engine's form (axes input) is written as the attribute below the opset that
    introduced the input, and the axes initializer is then left out."""
    ort = pytest.importorskip("onnxruntime")
    onnx = pytest.importorskip("onnx")
    x = rng.standard_normal((3, 4, 5)).astype(np.float32)
    data = _core.onnx_serialize_graph(_engine_graph(op, (0, 2), keepdims=0), opset=opset,
                                      output_shapes={"y": [4]})
    model = onnx.load_from_string(data)
    onnx.checker.check_model(model, full_check=True)
    node = model.graph.node[0]
    if opset < AXES_INPUT_SINCE[op]:
        assert list(node.input) == ["x"] and [a.name for a in node.attribute] == ["axes", "keepdims"]
        assert not model.graph.initializer
    else:
        assert list(node.input) == ["x", "axes"]
    want = ort.InferenceSession(data, providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    np.testing.assert_allclose(want, reduce_ref(op)(x.astype(np.float64), [0, 2], keepdims=0),
                               rtol=1e-5, atol=1e-6)


def test_export_refuses_what_the_older_opset_cannot_say():
    g = _core.Graph()
    g.add_input("x", [3, 4])
    g.add_input("axes", [1], "int64")
    g.add_node("ReduceMean", ["x", "axes"], ["y"], name="r")
    g.add_output("y")
    with pytest.raises(ValueError, match=r"ReduceMean 'r' at opset 17: .*axes.*not a constant"):
        _core.onnx_serialize_graph(g, opset=17)
    g = _core.Graph()
    g.add_input("x", [3, 4])
    g.add_node("ReduceMax", ["x"], ["y"], {"noop_with_empty_axes": 1}, name="r")
    g.add_output("y")
    with pytest.raises(ValueError, match=r"opset 17 has no noop_with_empty_axes"):
        _core.onnx_serialize_graph(g, opset=17)


def test_import_rejects_the_axes_attribute_in_the_opset_of_the_input():
    x = np.zeros((3, 4), np.float32)
    model = _model("ReduceMean", 17, x, [1], 1)
    model.opset_import[0].version = 18
    with pytest.raises(ValueError, match=r"axes"):
        _core.onnx_import(model.SerializeToString())


@pytest.mark.parametrize("op", REDUCE_OPS)
def test_axes_computed_at_run_time_are_refused(op):
    with pytest.raises(ValueError, match=rf"{op}: the axes input must be a constant"):
        _core.infer_op(op, [((3, 7), "float32"), ((1,), "int64")])


@pytest.mark.parametrize("variant", ["ref", "cpu", "cuda-emulated"])
@pytest.mark.parametrize("op", ["ReduceMax", "ReduceMin"])
def test_max_min_gradient_goes_to_the_first_tied_element(op, variant):
    x = np.array([[1.0, 3.0, 3.0, -2.0], [-2.0, 0.5, -2.0, 1.0]], np.float32)
    if op == "ReduceMin":
        x = -x
    dy = np.array([[2.0], [5.0]], np.float32)
    _core.set_kernel_variant(variant)
    try:
        (dx,) = _core.run_op_backward(op, [x, np.array([1], np.int64)], [dy], need=[True, False])[:1]
        # A long row split in chunks: the winner is the first tie of the first chunk with one.
        long = np.zeros((1, 70001), np.float32)
        long[0, [40000, 50000, 69999]] = 1.0 if op == "ReduceMax" else -1.0
        (dlong,) = _core.run_op_backward(op, [long, np.array([1], np.int64)],
                                          [np.ones((1, 1), np.float32)], need=[True, False])[:1]
    finally:
        _core.set_kernel_variant("cpu")
    assert dx.tolist() == [[0, 2, 0, 0], [0, 0, 0, 5]]
    assert np.flatnonzero(dlong).tolist() == [40000] and dlong[0, 40000] == 1.0


@pytest.mark.parametrize("variant", ["ref", "cpu", "cuda-emulated"])
def test_nan_and_empty_reductions(variant):
    x = np.array([[1.0, np.nan, 2.0], [-1.0, 0.0, 4.0]], np.float32)
    axes = np.array([1], np.int64)
    empty = np.zeros((0, 3), np.float32)
    _core.set_kernel_variant(variant)
    try:
        for op in REDUCE_OPS:
            (y,), _ = _core.run_op(op, [x, axes], {"keepdims": 0})
            assert np.isnan(y[0]) and np.isfinite(y[1]), op
        got = {op: _core.run_op(op, [empty, np.array([0], np.int64)], {"keepdims": 0})[0][0]
               for op in REDUCE_OPS}
    finally:
        _core.set_kernel_variant("cpu")
    want = {"ReduceSum": 0.0, "ReduceMean": np.nan, "ReduceMax": -np.inf, "ReduceMin": np.inf,
            "ReduceProd": 1.0,
            "ReduceL2": 0.0, "ReduceSumSquare": 0.0, "ReduceLogSumExp": -np.inf}
    for op, value in want.items():
        np.testing.assert_array_equal(got[op], np.full(3, value, np.float32), err_msg=op)


def test_reductions_train_in_a_graph(rng):
    """The backward of a graph: the loss sum(mean(x * w, axis 1)) differentiates to w / 4."""
    g = _core.Graph()
    g.add_input("x", [3, 4])
    g.set_initializer("w", np.full((3, 4), 2.0, np.float32), trainable=True)
    g.set_initializer("axes", np.array([1], np.int64))
    g.add_node("Mul", ["x", "w"], ["xw"])
    g.add_node("ReduceMean", ["xw", "axes"], ["m"], {"keepdims": 0})
    g.add_node("ReduceSum", ["m"], ["loss"], {"keepdims": 0})
    g.add_output("loss")
    x = rng.standard_normal((3, 4)).astype(np.float32)
    value, grads = _core.Executor(g).value_and_gradients([x], "loss", np.float32(1.0))
    np.testing.assert_allclose(value, (x * 2).mean(axis=1).sum(), rtol=1e-6)
    np.testing.assert_allclose(grads["w"], x / 4, rtol=1e-6)
