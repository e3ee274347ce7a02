"""The indexing and scan ops in imported graphs. With indices computed at run time (so checked
on every call, not at import): right answers against numpy, and a bad index is a ValueError
naming the op and the index, after which the same session still answers right. And all of
them in one graph: onnxruntime's outputs, and a training step that follows the gradient of
onnxruntime's loss."""
import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="onnx builds the models")
from onnx import TensorProto, helper  # noqa: E402

from helpers import run_onnx_in_engine  # noqa: E402
from op_cases import gather_nd_ref, scatter_elements_ref, scatter_nd_ref  # noqa: E402


def model(op, data_shape, index_shape, updates_shape, **attrs):
    """op(data, Cast<int64>(index_values)[, updates]) with every input a run-time float input:
    the indices exist only when the graph runs."""
    inputs = [helper.make_tensor_value_info("data", TensorProto.FLOAT, data_shape),
              helper.make_tensor_value_info("where", TensorProto.FLOAT, index_shape)]
    names = ["data", "indices"]
    if updates_shape is not None:
        inputs.append(helper.make_tensor_value_info("updates", TensorProto.FLOAT, updates_shape))
        names.append("updates")
    nodes = [helper.make_node("Cast", ["where"], ["indices"], to=TensorProto.INT64),
             helper.make_node(op, names, ["y"], **attrs)]
    graph = helper.make_graph(nodes, op, inputs, [helper.make_empty_tensor_value_info("y")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=8)


CASES = {
    "ScatterElements": (lambda: model("ScatterElements", [3, 5], [3, 2], [3, 2], axis=1,
                                      reduction="add"),
                        np.array([[0, -1], [4, 4], [2, 0]]), np.array([[0, 5], [1, 1], [2, 0]]),
                        r"ScatterElements: index 5 is out of range for an axis of size 5",
                        lambda d, i, u: scatter_elements_ref(d, i, u, 1, "add")),
    "ScatterND": (lambda: model("ScatterND", [4, 3], [2, 1], [2, 3]),
                  np.array([[3], [-4]]), np.array([[1], [-5]]),
                  r"ScatterND: index -5 is out of range for dim 0 of size 4",
                  lambda d, i, u: scatter_nd_ref(d, i, u)),
    "GatherND": (lambda: model("GatherND", [4, 3], [5, 2], None),
                 np.array([[0, 0], [3, 2], [-1, -3], [2, 1], [0, 0]]),
                 np.array([[0, 0], [3, 3], [-1, -3], [2, 1], [0, 0]]),
                 r"GatherND: index 3 is out of range for dim 1 of size 3",
                 lambda d, i: gather_nd_ref(d, i)),
}


@pytest.mark.parametrize("op", sorted(CASES))
def test_runtime_indices_are_checked_on_every_call(op, rng):
    make, good, bad, message, ref = CASES[op]
    m = make()
    shapes = [[d.dim_value for d in i.type.tensor_type.shape.dim] for i in m.graph.input]
    data = rng.standard_normal(shapes[0]).astype(np.float32)
    extra = [rng.standard_normal(s).astype(np.float32) for s in shapes[2:]]  # updates

    def run(indices):
        return run_onnx_in_engine(m, [data, indices.astype(np.float32)] + extra)[0]

    want = ref(data.astype(np.float64), good, *[u.astype(np.float64) for u in extra])
    np.testing.assert_allclose(run(good), want, rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match=message):
        run(bad)
    np.testing.assert_allclose(run(good), want, rtol=1e-6, atol=1e-6)


def test_a_graph_of_the_index_ops_matches_onnxruntime_and_trains_by_its_gradient(rng):
    """One SGD step through CumSum, ScatterElements, ReverseSequence, ScatterND, GatherND, TopK,
    CumProd and TensorScatter in one imported graph moves each weight by its gradient, which
    is checked against central differences of onnxruntime's loss."""
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is the oracle")
    import engine
    from onnx import numpy_helper

    weights = {"w": rng.normal(size=6), "u": rng.normal(size=(4, 2)), "q": rng.normal(size=(2, 6)),
               "p": rng.normal(size=(4, 1, 2))}
    weights = {k: v.astype(np.float32) for k, v in weights.items()}
    ints = {"idx": [[0, 5], [2, -1], [3, 1], [4, 0]], "lens": [4, 0, 3, 1, 2, 4],
            "nd": [[1], [-1]], "gidx": [[[0], [5], [3]], [[1], [1], [2]], [[4], [0], [2]],
                                        [[5], [4], [3]]],
            "k": [2], "axis": 1, "writes": [0, 1, 2, 1]}
    nodes = [helper.make_node("Mul", ["x", "w"], ["h"]),
             helper.make_node("CumSum", ["h", "axis"], ["c"]),
             helper.make_node("ScatterElements", ["c", "idx", "u"], ["s"], axis=1),
             helper.make_node("ReverseSequence", ["s", "lens"], ["r"], time_axis=0, batch_axis=1),
             helper.make_node("ScatterND", ["r", "nd", "q"], ["sn"], reduction="add"),
             helper.make_node("GatherND", ["sn", "gidx"], ["g"], batch_dims=1),
             helper.make_node("TopK", ["sn", "k"], ["top", "where"]),
             helper.make_node("CumProd", ["top", "axis"], ["cp"]),
             helper.make_node("Reshape", ["sn", "cache_shape"], ["cache"]),
             helper.make_node("TensorScatter", ["cache", "p", "writes"], ["ts"], axis=1),
             helper.make_node("Reshape", ["ts", "flat_shape"], ["flat"]),
             helper.make_node("Reshape", ["g", "g_shape"], ["g2"]),
             helper.make_node("Concat", ["g2", "cp", "flat"], ["y"], axis=1)]
    inits = [numpy_helper.from_array(v, k) for k, v in weights.items()]
    inits += [numpy_helper.from_array(np.asarray(v, np.int64), k) for k, v in ints.items()]
    inits += [numpy_helper.from_array(np.asarray(v, np.int64), k) for k, v in
              {"cache_shape": [4, 3, 2], "flat_shape": [4, 6], "g_shape": [4, 3]}.items()]
    graph = helper.make_graph(nodes, "index_ops", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 6])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 11])], inits)
    m = helper.make_model(graph, ir_version=8, opset_imports=[helper.make_opsetid("", 26)])
    x = rng.normal(size=(4, 6)).astype(np.float32)
    target = rng.normal(size=(4, 11)).astype(np.float32)

    def ort_loss(values):
        for init in m.graph.initializer:
            if init.name in values:
                init.CopyFrom(numpy_helper.from_array(values[init.name].astype(np.float32), init.name))
        session = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
        (y,) = session.run(None, {"x": x})
        return y, np.mean((y.astype(np.float64) - target) ** 2)

    want, _ = ort_loss(weights)
    ours = engine.onnx.load(m.SerializeToString())
    np.testing.assert_allclose(ours.predict(x, verbose=0), want, rtol=1e-5, atol=1e-6)

    numeric, eps = {}, 1e-2
    for name, value in weights.items():
        grad = np.zeros(value.shape)
        for i in np.ndindex(*value.shape):
            up, down = value.astype(np.float64), value.astype(np.float64)
            up[i] += eps
            down[i] -= eps
            grad[i] = (ort_loss({**weights, name: up})[1] - ort_loss({**weights, name: down})[1]) / (2 * eps)
        numeric[name] = grad
    ort_loss(weights)

    lr = 0.5
    before = {v.name.split("/")[-1].split(":")[0]: v.numpy().copy() for v in ours.trainable_weights}
    assert set(before) == set(weights)
    ours.compile(optimizer=engine.optimizers.SGD(learning_rate=lr), loss="mse")
    ours.fit(x, target, batch_size=4, epochs=1, shuffle=False, verbose=0)
    errors = {}
    for v in ours.trainable_weights:
        name = v.name.split("/")[-1].split(":")[0]
        step = (before[name] - v.numpy()) / lr
        assert np.linalg.norm(numeric[name]) > 1e-3, name  # every weight is reached
        errors[name] = np.linalg.norm(step - numeric[name]) / np.linalg.norm(numeric[name])
    assert max(errors.values()) < 1e-3, errors


def test_top_k_of_opset_1_takes_k_as_an_attribute(rng):
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is the oracle")
    node = helper.make_node("TopK", ["x"], ["values", "indices"], k=3, axis=1)
    graph = helper.make_graph([node], "top_k_1", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 9])],
                              [helper.make_empty_tensor_value_info("values"),
                               helper.make_empty_tensor_value_info("indices")])
    m = helper.make_model(graph, ir_version=8, opset_imports=[helper.make_opsetid("", 9)])
    x = rng.permutation(np.linspace(-2, 2, 36)).reshape(4, 9).astype(np.float32)
    want = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})
    for got, ref in zip(run_onnx_in_engine(m, [x]), want):
        np.testing.assert_array_equal(got, ref)


def scatter_model(op, opset, **attrs):
    """op(x, constant indices, updates) over x [N, 5] with updates a weight."""
    from onnx import numpy_helper
    inits = [numpy_helper.from_array(np.array([[4, 0, 2]], np.int64), "indices"),
             numpy_helper.from_array(np.array([[0.5, -1.5, 2.0]], np.float32), "updates")]
    graph = helper.make_graph([helper.make_node(op, ["x", "indices", "updates"], ["y"], axis=1, **attrs)],
                              op, [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 5])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 5])], inits)
    return helper.make_model(graph, ir_version=8, opset_imports=[helper.make_opsetid("", opset)])


def test_scatter_of_opset_10_exports_as_scatter_elements(tmp_path, rng):
    import engine
    ours = engine.onnx.load(scatter_model("Scatter", 10).SerializeToString())
    path = tmp_path / "scatter.onnx"
    engine.onnx.export(ours, path, opset=17)
    written = onnx.load(path)
    onnx.checker.check_model(written, full_check=True)
    assert [n.op_type for n in written.graph.node] == ["ScatterElements"]
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is the oracle")
    x = rng.standard_normal((1, 5)).astype(np.float32)
    (want,) = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"x": x})
    np.testing.assert_array_equal(ours.predict(x, verbose=0), want)


def test_reductions_are_not_written_to_opsets_without_them(tmp_path):
    import engine
    ours = engine.onnx.load(scatter_model("ScatterElements", 18, reduction="max").SerializeToString())
    with pytest.raises(ValueError, match=r"ScatterElements with reduction max exists from opset 18"):
        engine.onnx.export(ours, tmp_path / "max.onnx", opset=17)
    engine.onnx.export(ours, tmp_path / "max.onnx", opset=18)
    onnx.checker.check_model(onnx.load(tmp_path / "max.onnx"), full_check=True)
