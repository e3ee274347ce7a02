"""Softmax / LogSoftmax: forward vs scipy float64, backward vs finite differences and numpy."""
import numpy as np
import pytest
from scipy.special import log_softmax as np_log_softmax
from scipy.special import softmax as np_softmax

from engine import _core, ops
from helpers import ELEMENTWISE_RTOL, REDUCTION_RTOL, assert_close, numeric_grads, randn

# name -> (forward, backward, float64 reference forward, float64 reference backward from y)
CASES = {
    "softmax": (ops.softmax, ops.softmax_backward, np_softmax,
                lambda dy, y, axis: y * (dy - np.sum(dy * y, axis=axis, keepdims=True))),
    "log_softmax": (ops.log_softmax, ops.log_softmax_backward, np_log_softmax,
                    lambda dy, y, axis: dy - np.exp(y) * np.sum(dy, axis=axis, keepdims=True)),
}

SHAPE_AXES = [((7,), -1), ((13, 33), -1), ((13, 33), 0), ((257, 129), 1), ((5, 1, 9), 1),
              ((3, 13, 301), 1), ((2, 5, 600), -2)]
SHAPE_AXES += [((3, 5, 7, 2), axis) for axis in range(-4, 4)]


def _id(case):
    shape, axis = case
    return "x".join(map(str, shape)) + f"-axis{axis}"


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("shape_axis", SHAPE_AXES, ids=_id)
def test_forward_matches_numpy(name, shape_axis, rng, kernel_impl):
    fwd, _, ref, _ = CASES[name]
    shape, axis = shape_axis
    x = randn(rng, *shape, scale=3.0)
    assert_close(fwd(x, axis=axis), ref(x.astype(np.float64), axis=axis), ELEMENTWISE_RTOL)


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("threads", [1, 3])
def test_forward_splits_lanes_across_threads(name, threads, rng, kernel_impl):
    # 5 * 4001 lanes: thread ranges start in the middle of an outer index and of a block.
    fwd, _, ref, _ = CASES[name]
    x = randn(rng, 5, 3, 4001, scale=2.0)
    old = _core.get_num_threads()
    _core.set_num_threads(threads)
    try:
        out = fwd(x, axis=1)
    finally:
        _core.set_num_threads(old)
    assert_close(out, ref(x.astype(np.float64), axis=1), ELEMENTWISE_RTOL)


@pytest.mark.parametrize("axis", [0, 1])
def test_huge_logits_stay_finite_and_exact(axis, kernel_impl):
    x = np.array([[1e4, -1e4, 1e4 - 1, 0.0, -3.0],
                  [-1e4, -1e4 + 2, -1e4 + 0.5, -1e4, -9999.0],
                  [3e4, 3e4, -3e4, 1.0, 3e4 - 30]], dtype=np.float32)
    x = np.ascontiguousarray(x if axis == 1 else x.T)
    x64 = x.astype(np.float64)
    for fwd, ref in ((ops.softmax, np_softmax), (ops.log_softmax, np_log_softmax)):
        y = fwd(x, axis=axis)
        assert np.all(np.isfinite(y)), fwd.__name__
        # Elementwise, not only in norm: the small probabilities must be right too.
        np.testing.assert_allclose(y, ref(x64, axis=axis), rtol=2e-6, atol=1e-30)
    np.testing.assert_allclose(np.sum(ops.softmax(x, axis=axis), axis=axis), 1.0, rtol=1e-6)


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("shape_axis", [((3, 4), -1), ((2, 3, 4), 1), ((4, 3), 0)], ids=_id)
def test_backward_matches_finite_differences(name, shape_axis, rng, kernel_impl):
    fwd, bwd, ref, _ = CASES[name]
    shape, axis = shape_axis
    x = randn(rng, *shape, scale=2.0)
    dy = randn(rng, *shape)
    (numeric,) = numeric_grads(lambda v: ref(v, axis=axis), [x], dy)
    assert_close(bwd(dy, fwd(x, axis=axis), axis=axis), numeric, REDUCTION_RTOL, "dx")


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("shape_axis", [((13, 257), -1), ((7, 33, 5), 1), ((33, 7, 13), 0),
                                        ((3, 5, 7, 2), 2), ((2, 9, 700), 1)], ids=_id)
def test_backward_matches_numpy(name, shape_axis, rng, kernel_impl):
    fwd, bwd, _, dref = CASES[name]
    shape, axis = shape_axis
    y = fwd(randn(rng, *shape, scale=2.0), axis=axis)
    dy = randn(rng, *shape)
    expected = dref(dy.astype(np.float64), y.astype(np.float64), axis)
    assert_close(bwd(dy, y, axis=axis), expected, REDUCTION_RTOL)


def test_legacy_coerce_2d_normalises_trailing_dims(rng, kernel_impl):
    # Opsets < 13: [2, 3, 4, 5] at axis 1 is a [2, 60] matrix normalised per row.
    x = randn(rng, 2, 3, 4, 5, scale=2.0)
    x64 = x.astype(np.float64).reshape(2, 60)
    coerce = {"axis": 1, "engine_coerce_2d": 1}
    (y,), _ = _core.run_op("Softmax", [x], coerce)
    assert_close(y, np_softmax(x64, axis=1).reshape(x.shape), ELEMENTWISE_RTOL)
    (ly,), _ = _core.run_op("LogSoftmax", [x], coerce)
    assert_close(ly, np_log_softmax(x64, axis=1).reshape(x.shape), ELEMENTWISE_RTOL)
    dy = randn(rng, *x.shape)
    y64 = y.astype(np.float64).reshape(2, 60)
    dy64 = dy.astype(np.float64).reshape(2, 60)
    expected = y64 * (dy64 - np.sum(dy64 * y64, axis=1, keepdims=True))
    (dx,) = _core.run_op_backward("Softmax", [x], [dy], coerce, outputs=[y], state=[])
    assert_close(dx, expected.reshape(x.shape))


def test_bad_inputs_raise_clear_errors():
    x = np.ones((3, 4), dtype=np.float32)
    with pytest.raises(TypeError, match="Softmax: x must be a float32"):
        ops.softmax(x.astype(np.float64))
    with pytest.raises(TypeError, match="LogSoftmax: x must be float32, got int64"):
        ops.log_softmax(x.astype(np.int64))
    with pytest.raises(ValueError, match="C-contiguous"):
        ops.softmax(x.T)
    with pytest.raises(ValueError, match="Softmax: axis 2 out of range for rank 2"):
        ops.softmax(x, axis=2)
    with pytest.raises(ValueError, match="LogSoftmax: axis -3 out of range for rank 2"):
        ops.log_softmax(x, axis=-3)
    with pytest.raises(ValueError, match="out of range for rank 0"):
        ops.softmax(np.float32(1.0))
    with pytest.raises(TypeError, match="axis must be an integer"):
        ops.softmax(x, axis=1.5)
    with pytest.raises(ValueError, match=r"Softmax_backward: dy float32\[2, 4\] does not match y"):
        ops.softmax_backward(x[:2], x)
    with pytest.raises(ValueError, match="LogSoftmax_backward: axis 5 out of range"):
        ops.log_softmax_backward(x, x, axis=5)


def _onnx_single_node(op, shape, **attrs):
    onnx = pytest.importorskip("onnx", reason="onnx is not installed")
    from onnx import TensorProto, helper
    node = helper.make_node(op, ["x"], ["y"], **attrs)
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, list(shape))])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 10
    onnx.checker.check_model(model)
    return model.SerializeToString()


@pytest.mark.parametrize("op,fwd", [("Softmax", ops.softmax), ("LogSoftmax", ops.log_softmax)])
@pytest.mark.parametrize("axis", [-1, 0, 1, 2])
def test_matches_onnxruntime(op, fwd, axis, rng):
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
    x = randn(rng, 3, 7, 13, scale=4.0)
    sess = ort.InferenceSession(_onnx_single_node(op, x.shape, axis=axis),
                                providers=["CPUExecutionProvider"])
    (expected,) = sess.run(None, {"x": x})
    np.testing.assert_allclose(fwd(x, axis=axis), expected, rtol=1e-3, atol=1e-5)


@pytest.mark.parametrize("portable", [False, True], ids=["cpu-isa", "portable"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_rows_match_numpy_on_every_isa(name, portable, rng):
    """Rows along the last axis run as an AVX2/FMA copy where the CPU has it and as the
    portable one elsewhere; both against float64, with rows long enough to cross the
    1024-element chunks of the sum and short enough to be all tail."""
    fwd, _, ref, _ = CASES[name]
    for length in (3, 16, 17, 2049):
        x = (randn(rng, 5, length) * 4).astype(np.float32)
        _core.set_portable_kernels(portable)
        try:
            y = fwd(x, axis=-1)
        finally:
            _core.set_portable_kernels(False)
        assert_close(y, ref(x.astype(np.float64), axis=-1), ELEMENTWISE_RTOL)
