"""engine.onnx.InferenceSession against onnxruntime on raw graphs: run-time shape inputs,
inputs of different first dimensions, 0-d inputs and outputs, graphs without inputs,
declared element types other than float32 and int64, and bad calls."""
import numpy as np
import pytest

import engine

onnx = pytest.importorskip("onnx", reason="onnx is not installed")
ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
from onnx import TensorProto, helper  # noqa: E402


def model(nodes, inputs, outputs, inits=()):
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.checker.check_model(m, full_check=True)
    return m.SerializeToString()


def vi(name, elem, shape):
    return helper.make_tensor_value_info(name, elem, shape)


def both(data, feeds, names=None):
    ours = engine.onnx.InferenceSession(data).run(names, feeds)
    theirs = ort.InferenceSession(data, providers=["CPUExecutionProvider"]).run(names, feeds)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert a.dtype == b.dtype and a.shape == b.shape, (a.dtype, a.shape, b.dtype, b.shape)
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
    return ours


def test_run_time_shapes_broadcast_operands_and_a_scalar_output(rng):
    data = model([helper.make_node("Reshape", ["x", "shape"], ["r"]),
                  helper.make_node("Add", ["r", "b"], ["y"]),
                  helper.make_node("ReduceSum", ["y"], ["s"], keepdims=0)],
                 [vi("x", TensorProto.FLOAT, [2, 6]), vi("shape", TensorProto.INT64, [2]),
                  vi("b", TensorProto.FLOAT, ["B", "C"])],
                 [vi("y", TensorProto.FLOAT, ["R", "C"]), vi("s", TensorProto.FLOAT, [])])
    x = rng.normal(size=(2, 6)).astype(np.float32)
    session = engine.onnx.InferenceSession(data)
    for shape, b in (([4, 3], (1, 3)), ([-1, 3], (4, 3)), ([4, 3], (1, 3))):
        both(data, {"x": x, "shape": np.array(shape), "b": rng.normal(size=b).astype(np.float32)})
        session.run(None, {"x": x, "shape": np.array(shape), "b": np.ones(b, np.float32)})
    assert len(session._plans) == 2  # one import per distinct shape input
    (s,) = both(data, {"x": x, "shape": np.array([6, 2]), "b": np.zeros((1, 2), np.float32)}, ["s"])
    assert s.shape == ()


def test_a_graph_without_inputs_and_a_scalar_input():
    value = helper.make_tensor("v", TensorProto.FLOAT, [2, 2], [1.0, 2.0, 3.0, 4.0])
    data = model([helper.make_node("Constant", [], ["c"], value=value),
                  helper.make_node("Relu", ["c"], ["y"])], [], [vi("y", TensorProto.FLOAT, [2, 2])])
    both(data, {})
    data = model([helper.make_node("Mul", ["x", "k"], ["y"])],
                 [vi("x", TensorProto.FLOAT, [3]), vi("k", TensorProto.FLOAT, [])], [vi("y", TensorProto.FLOAT, [3])])
    both(data, {"x": np.array([1.0, -2.0, 3.0], np.float32), "k": np.array(2.5, np.float32)})


def test_declared_element_types_come_back(rng):
    data = model([helper.make_node("Cast", ["x"], ["xf"], to=TensorProto.FLOAT),
                  helper.make_node("Mul", ["xf", "w"], ["m"]),
                  helper.make_node("Cast", ["m"], ["y"], to=TensorProto.DOUBLE),
                  helper.make_node("ArgMax", ["m"], ["i"], axis=1, keepdims=0),
                  helper.make_node("Cast", ["i"], ["j"], to=TensorProto.INT32)],
                 [vi("x", TensorProto.FLOAT16, ["N", 4]), vi("w", TensorProto.FLOAT, [4])],
                 [vi("y", TensorProto.DOUBLE, ["N", 4]), vi("j", TensorProto.INT32, ["N"])])
    x = rng.normal(size=(5, 4)).astype(np.float16)
    both(data, {"x": x, "w": rng.normal(size=4).astype(np.float32)})
    session = engine.onnx.InferenceSession(data)
    assert [i.type for i in session.get_inputs()] == ["tensor(float16)", "tensor(float)"]
    assert [o.type for o in session.get_outputs()] == ["tensor(double)", "tensor(int32)"]
    assert session.get_inputs()[0].shape == [None, 4]


def test_bad_calls_name_the_problem(rng):
    data = model([helper.make_node("Relu", ["x"], ["y"])], [vi("x", TensorProto.FLOAT, ["N", 3])],
                 [vi("y", TensorProto.FLOAT, ["N", 3])])
    session = engine.onnx.InferenceSession(data)
    x = np.ones((2, 3), np.float32)
    with pytest.raises(ValueError, match=r"unknown inputs \['z'\]"):
        session.run(None, {"x": x, "z": x})
    with pytest.raises(ValueError, match=r"missing inputs \['x'\]"):
        session.run(None, {})
    with pytest.raises(ValueError, match=r"input 'x' has shape \(2, 4\); the graph declares \['\?', 3\]"):
        session.run(None, {"x": np.ones((2, 4), np.float32)})
    with pytest.raises(ValueError, match=r"\['q'\] are not outputs of the graph"):
        session.run(["q"], {"x": x})
    with pytest.raises(TypeError, match=r"input 'x' has dtype <U1"):
        session.run(None, {"x": np.array([["a", "b", "c"]])})
