"""LpPool, imported as the ops it is made of: (K * AveragePool(|x|^p, count_include_pad=1))^(1/p)
with K the kernel's taps. Checked against onnxruntime and a numpy float64 reference from the
ONNX definition (the p-norm of each window, padding counted as zeros), over 1, 2 and 3
spatial axes; it trains through those ops (finite differences in float64)."""
import numpy as np
import pytest

import engine
from op_cases import windows

onnx = pytest.importorskip("onnx", reason="onnx is not installed")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402


def lp_pool_ref(x, kernel_shape, p=2, **window):
    """The p-norm of each window (taps in the padding count as zeros)."""
    if x.ndim == 3:  # [N, C, L] as [N, C, 1, L]
        window = {k: ([0, v[0], 0, v[1]] if k == "pads" else [1, *v]) if isinstance(v, list) else v
                  for k, v in window.items()}
        return lp_pool_ref(x[:, :, None], [1, *kernel_shape], p, **window)[:, :, 0]
    vals, _, _ = windows(np.abs(x.astype(np.float64)) ** p, kernel_shape, **window)
    return vals.sum(axis=tuple(3 + 2 * a for a in range(x.ndim - 2))) ** (1.0 / p)


def lp_pool_model(shape, out_shape, weight=None, **attrs):
    nodes, inits, x = [], [], "x"
    if weight is not None:  # a 1x1 Conv in front, whose weight the training moves
        nodes.append(helper.make_node("Conv", ["x", "w"], ["c"]))
        inits.append(numpy_helper.from_array(weight, "w"))
        x = "c"
    nodes.append(helper.make_node("LpPool", [x], ["y"], **attrs))
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)], inits)
    return helper.make_model(graph, ir_version=8, opset_imports=[helper.make_opsetid("", 18)])


CASES = [
    ((2, 3, 17), dict(kernel_shape=[3], strides=[2], pads=[1, 1])),
    ((2, 3, 9, 8), dict(kernel_shape=[3, 2], p=3, strides=[2, 1], pads=[1, 0, 1, 1])),
    ((2, 3, 9, 8), dict(kernel_shape=[2, 2], p=1, dilations=[2, 1], pads=[1, 0, 0, 1])),
    ((2, 3, 9, 8), dict(kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_UPPER")),
    ((1, 2, 7, 6, 5), dict(kernel_shape=[3, 2, 3], strides=[2, 2, 1], pads=[1, 0, 1, 1, 1, 0])),
    ((1, 2, 7, 6, 5), dict(kernel_shape=[2, 3, 2], p=4, auto_pad="SAME_LOWER")),
]


@pytest.mark.parametrize("shape, attrs", CASES)
def test_lp_pool_matches_numpy_and_onnxruntime(shape, attrs, rng):
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
    x = rng.standard_normal(shape).astype(np.float32)
    want = lp_pool_ref(x, **attrs)
    data = lp_pool_model(shape, want.shape, **attrs).SerializeToString()
    (y,) = engine.onnx.InferenceSession(data).run(None, {"x": x})
    (theirs,) = ort.InferenceSession(data, providers=["CPUExecutionProvider"]).run(None, {"x": x})
    for got in (y, theirs):
        assert got.shape == want.shape
        assert np.linalg.norm(got - want) / np.linalg.norm(want) < 1e-6


def test_lp_pool_trains_as_its_parts(rng):
    # One SGD step on a 1x1 Conv before a 3-D LpPool moves the weight by the gradient of the
    # mean squared error, which central differences in float64 give.
    shape, attrs = (2, 3, 5, 4, 5), dict(kernel_shape=[2, 3, 2], p=3, strides=[1, 2, 2],
                                         pads=[1, 1, 0, 0, 1, 1])
    w = rng.standard_normal((2, 3, 1, 1, 1)).astype(np.float32)
    x = rng.standard_normal(shape).astype(np.float32)

    def forward(w64):
        conv = np.einsum("ncdhw,oc->nodhw", x.astype(np.float64), w64[:, :, 0, 0, 0])
        return lp_pool_ref(conv, **attrs)

    target = rng.standard_normal(forward(w.astype(np.float64)).shape).astype(np.float32)

    def loss(w64):
        return np.mean((forward(w64) - target) ** 2)

    grad = np.zeros(w.shape)
    for i in np.ndindex(*w.shape):
        step = np.zeros(w.shape)
        step[i] = 1e-6
        grad[i] = (loss(w + step) - loss(w - step)) / 2e-6
    model = engine.onnx.load(lp_pool_model(shape, target.shape, weight=w, **attrs).SerializeToString())
    lr = 0.25
    model.compile(optimizer=engine.optimizers.SGD(lr), loss="mse")
    model.fit(x, target, epochs=1, batch_size=2, shuffle=False, verbose=0)
    (moved,) = [v.numpy() for v in model.trainable_weights]
    got = (w.astype(np.float64) - moved) / lr
    assert np.linalg.norm(got - grad) / np.linalg.norm(grad) < 1e-3


def test_lp_pool_refuses_ceil_mode():
    data = lp_pool_model((1, 1, 5, 5), (1, 1, 3, 3), kernel_shape=[2, 2], strides=[2, 2],
                         ceil_mode=1).SerializeToString()
    with pytest.raises(ValueError, match=r"LpPool.*ceil_mode=1 is not supported"):
        engine.onnx.load(data)
