"""The index-addressed ops with indices computed at run time (so checked on every call, not
at import): right answers against numpy, and a bad index is a ValueError naming the op and
the index, after which the same session still answers right."""
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
