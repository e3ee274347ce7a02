"""GridSample beyond the op-case table (tests/op_cases.py): the opset 16-19 mode names on import
and export, and a spatial transformer (AffineGrid of a trainable theta, then GridSample) trained
one SGD step against the same step in PyTorch, whose grid_sample the ONNX op follows."""
import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="onnx is not installed")
from onnx import TensorProto, helper  # noqa: E402

import engine  # noqa: E402
from helpers import assert_close  # noqa: E402


def vi(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


@pytest.mark.parametrize("mode", ["bilinear", "nearest", "bicubic"])
def test_opset_16_mode_names_import_and_match_onnxruntime(mode, rng):
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
    x = rng.standard_normal((2, 3, 5, 7)).astype(np.float32)
    grid = rng.uniform(-1.2, 1.2, (2, 4, 6, 2)).astype(np.float32)
    node = helper.make_node("GridSample", ["x", "grid"], ["y"], mode=mode, padding_mode="border")
    graph = helper.make_graph([node], "gs", [vi("x", list(x.shape)), vi("grid", list(grid.shape))],
                              [vi("y", None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 16)])
    model = model.SerializeToString()
    feed = {"x": x, "grid": grid}
    (ours,) = engine.onnx.InferenceSession(model).run(None, feed)
    (theirs,) = ort.InferenceSession(model, providers=["CPUExecutionProvider"]).run(None, feed)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)


def test_opset_20_names_are_refused_in_opset_16():
    node = helper.make_node("GridSample", ["x", "grid"], ["y"], mode="linear")
    graph = helper.make_graph([node], "gs", [vi("x", [1, 1, 3, 3]), vi("grid", [1, 2, 2, 2])],
                              [vi("y", None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 16)])
    with pytest.raises(ValueError, match=r"mode 'linear' is opset 20's name"):
        engine.onnx.load(model.SerializeToString())


def test_spatial_transformer_trains_like_pytorch(rng, tmp_path):
    torch = pytest.importorskip("torch", reason="torch is not installed")
    F = torch.nn.functional
    n, c, h, w = 3, 2, 7, 9
    theta = (np.array([[1.0, 0.1, 0.05], [-0.2, 0.9, 0.1]]) +
             rng.normal(0, 0.05, (2, 3))).astype(np.float32)[None].repeat(n, 0)
    nodes = [helper.make_node("AffineGrid", ["theta", "size"], ["grid"], align_corners=0),
             helper.make_node("GridSample", ["x", "grid"], ["y"], mode="linear",
                              padding_mode="reflection")]
    inits = [onnx.numpy_helper.from_array(theta, "theta"),
             onnx.numpy_helper.from_array(np.array([n, c, 5, 6], np.int64), "size")]
    graph = helper.make_graph(nodes, "stn", [vi("x", [n, c, h, w])], [vi("y", [n, c, 5, 6])],
                              initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])
    x = rng.standard_normal((n, c, h, w)).astype(np.float32)
    target = rng.standard_normal((n, c, 5, 6)).astype(np.float32)
    lr = 0.3

    ours = engine.onnx.load(model.SerializeToString())
    ours.compile(optimizer=engine.optimizers.SGD(learning_rate=lr), loss="mse")
    # (theta has one matrix per sample: the batch keeps its order)
    ours.fit(x, target, epochs=1, batch_size=n, shuffle=False, verbose=0)
    (trained,) = [v.numpy() for v in ours.trainable_weights]

    t = torch.tensor(theta, dtype=torch.float64, requires_grad=True)
    grid = F.affine_grid(t, (n, c, 5, 6), align_corners=False)
    y = F.grid_sample(torch.tensor(x, dtype=torch.float64), grid, mode="bilinear",
                      padding_mode="reflection", align_corners=False)
    F.mse_loss(y, torch.tensor(target, dtype=torch.float64)).backward()
    step = (t - lr * t.grad).detach().numpy()
    assert_close(trained - theta, step - theta, 1e-4, what="theta's step")

    # Exported into opset 17, whose GridSample calls the mode bilinear.
    path = tmp_path / "stn.onnx"
    engine.onnx.export(ours, path, opset=17)
    saved = onnx.load(path)
    modes = [a.s for n_ in saved.graph.node if n_.op_type == "GridSample" for a in n_.attribute
             if a.name == "mode"]
    assert modes == [b"bilinear"]


@pytest.mark.parametrize("padding,want", [("zeros", "zeros"), ("border", "edge")])
def test_coordinates_far_outside_read_zeros_or_the_edge(padding, want, rng):
    x = rng.standard_normal((1, 2, 4, 5)).astype(np.float32)
    grid = np.array([[[[1e30, 0.0], [-np.inf, 0.0], [0.0, 3e9], [-3e9, -1e38]]]], np.float32)
    node = helper.make_node("GridSample", ["x", "grid"], ["y"], padding_mode=padding)
    graph = helper.make_graph([node], "gs", [vi("x", list(x.shape)), vi("grid", list(grid.shape))],
                              [vi("y", None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])
    (y,) = engine.onnx.InferenceSession(model.SerializeToString()).run(None, {"x": x,
                                                                             "grid": grid})
    if want == "zeros":
        np.testing.assert_array_equal(y, 0.0)
    else:  # clamped to (W, H) = (4, 1.5), (0, 1.5), (2, 3) and (0, 0)
        edge = np.stack([x[0, :, 1:3, 4].mean(1), x[0, :, 1:3, 0].mean(1), x[0, :, 3, 2],
                         x[0, :, 0, 0]], -1)
        np.testing.assert_allclose(y[0, :, 0], edge, rtol=1e-6, atol=1e-6)
