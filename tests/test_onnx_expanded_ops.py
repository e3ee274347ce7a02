"""ONNX ops the importer writes out as the engine ops they are made of (onnx/import.cpp):
Mean (Sum, Div), PRelu (Relu, Neg, Mul, Sub, as the Keras PReLU layer),
EyeLike (folded), DepthToSpace and SpaceToDepth (Reshape, Transpose, Reshape),
MeanVarianceNormalization (ReduceMean, Sub, Mul, Sqrt, Add, Div), InstanceNormalization and
GroupNormalization (LayerNormalization of unit scale, Reshape, Mul, Add) and CenterCropPad
(Slice, Pad), and Dropout's bool mask (a Cast of the engine's float one); and Swish, an op
of its own that files before opset 24 get as Mul and Sigmoid. Forward against
numpy in float64 and onnxruntime on odd shapes; gradients against finite differences; the
normalizations trained a step against PyTorch."""
import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="onnx is not installed")
from onnx import TensorProto, helper  # noqa: E402

import engine  # noqa: E402
from engine import _core  # noqa: E402
from helpers import assert_close, numeric_grads  # noqa: E402

RTOL = 1e-5


def model_of(op, shapes, opset, out_types=(TensorProto.FLOAT,), dtypes=None, init=None, **attrs):
    """One `op` node over inputs x0, x1, ... of `shapes` (None: a constant from `init`), with
    outputs y0, y1, ... of `out_types`."""
    dtypes = dtypes or [TensorProto.FLOAT] * len(shapes)
    init = init or {}
    names = [f"x{k}" for k in range(len(shapes))]
    inputs = [helper.make_tensor_value_info(n, t, list(s))
              for n, s, t in zip(names, shapes, dtypes) if n not in init]
    initializers = [onnx.numpy_helper.from_array(v, n) for n, v in init.items()]
    outputs = [f"y{k}" for k in range(len(out_types))]
    node = helper.make_node(op, names, outputs, **attrs)
    graph = helper.make_graph([node], op, inputs,
                              [helper.make_tensor_value_info(o, t, None)
                               for o, t in zip(outputs, out_types)], initializers)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def onnxruntime_run(model, feed):
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, feed)


def run_both(model, feed):
    ours = engine.onnx.InferenceSession(model.SerializeToString()).run(None, feed)
    return ours, onnxruntime_run(model, feed)


def gradients(model, xs, dy):
    graph, _ = _core.onnx_import(model.SerializeToString(), None,
                                 {f"x{k}": x.shape for k, x in enumerate(xs)})
    grads = _core.Executor(graph).gradients(xs, "y0", dy)
    return [grads[f"x{k}"] for k in range(len(xs))]


def check_gradients(model, ref, xs, rng, rtol=1e-4):
    dy = rng.standard_normal(np.shape(ref(*xs))).astype(np.float32)
    for k, (got, want) in enumerate(zip(gradients(model, xs, dy), numeric_grads(ref, xs, dy))):
        assert_close(got, want, rtol, f"d x{k}")


def draw(rng, *shapes):
    return [rng.standard_normal(s).astype(np.float32) for s in shapes]


# ---- Mean, Swish, PRelu ------------------------------------------------------------------------

@pytest.mark.parametrize("shapes", [[(3, 7)], [(3, 7), (3, 7)], [(2, 5, 7), (5, 1), (7,)],
                                    [(1, 7), (3, 1), (), (3, 7)]], ids=str)
def test_mean_matches_numpy_onnxruntime_and_finite_differences(shapes, rng):
    xs = draw(rng, *shapes)
    model = model_of("Mean", shapes, 13)

    def ref(*v):
        return sum(np.broadcast_arrays(*v)) / len(v)
    (ours,), (theirs,) = run_both(model, {f"x{k}": x for k, x in enumerate(xs)})
    assert_close(ours, ref(*[x.astype(np.float64) for x in xs]), RTOL)
    assert_close(ours, theirs, RTOL)
    check_gradients(model, ref, xs, rng)


@pytest.mark.parametrize("alpha", [None, 0.7, -1.3])
def test_swish_matches_numpy_and_finite_differences(alpha, rng):
    (x,) = draw(rng, (3, 7, 5))
    attrs = {} if alpha is None else {"alpha": alpha}
    model = model_of("Swish", [x.shape], 24, **attrs)
    a = 1.0 if alpha is None else alpha

    def ref(v):
        return v / (1 + np.exp(-a * v))
    (ours,) = engine.onnx.InferenceSession(model.SerializeToString()).run(None, {"x0": x})
    assert_close(ours, ref(x.astype(np.float64)), RTOL)
    check_gradients(model, ref, [x], rng)


@pytest.mark.parametrize("alpha", [None, 0.7])
def test_swish_exports_as_mul_and_sigmoid_before_opset_24(alpha, rng, tmp_path):
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is a test extra")
    (x,) = draw(rng, (4, 7, 5))
    attrs = {} if alpha is None else {"alpha": alpha}
    model = engine.onnx.load(model_of("Swish", [("N", 7, 5)], 24, **attrs).SerializeToString())
    expected = model.predict(x)
    for opset, ops in ((17, {"Sigmoid", "Mul"}), (24, {"Swish"})):
        path = str(tmp_path / f"swish{opset}.onnx")
        engine.onnx.export(model, path, opset=opset)
        written = onnx.load(path)
        onnx.checker.check_model(written, full_check=True)
        assert ops <= {n.op_type for n in written.graph.node}
        session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        assert_close(session.run(None, {session.get_inputs()[0].name: x})[0], expected, RTOL)


@pytest.mark.parametrize("x_shape,slope_shape", [((3, 7), (7,)), ((2, 3, 5, 7), (3, 1, 1)),
                                                 ((2, 3, 5), (1,)), ((5, 7), (5, 7))], ids=str)
def test_prelu_matches_onnxruntime_and_finite_differences(x_shape, slope_shape, rng):
    x, slope = draw(rng, x_shape, slope_shape)
    x[np.abs(x) < 0.05] = 0.3  # off the kink, for the finite differences
    model = model_of("PRelu", [x_shape, slope_shape], 16)

    def ref(v, s):
        return np.where(v < 0, s * v, v)
    (ours,), (theirs,) = run_both(model, {"x0": x, "x1": slope})
    assert_close(ours, ref(x.astype(np.float64), slope.astype(np.float64)), RTOL)
    assert_close(ours, theirs, RTOL)
    check_gradients(model, ref, [x, slope], rng)


def test_opset_1_forms_read_their_consumed_inputs_hint(rng):
    x, slope, scale, bias = draw(rng, (2, 3, 5), (5,), (3,), (3,))
    prelu = model_of("PRelu", [x.shape, slope.shape], 1, consumed_inputs=[0, 0])
    (y,) = engine.onnx.InferenceSession(prelu.SerializeToString()).run(None, {"x0": x, "x1": slope})
    assert_close(y, np.where(x < 0, slope * x, x).astype(np.float64), RTOL)
    norm = model_of("InstanceNormalization", [x.shape, (3,), (3,)], 1, consumed_inputs=[0, 0, 0])
    (y,) = engine.onnx.InferenceSession(norm.SerializeToString()).run(
        None, {"x0": x, "x1": scale, "x2": bias})
    assert_close(y, group_norm_ref(3, 1e-5)(*[v.astype(np.float64) for v in (x, scale, bias)]), RTOL)


def test_prelu_slope_initializer_is_a_trained_weight(rng):
    x, slope = draw(rng, (4, 3, 5), (3, 1))
    model = engine.onnx.load(model_of("PRelu", [("N", 3, 5), None], 16,
                                      init={"x1": slope}).SerializeToString())
    assert [w.name for w in model.trainable_weights] == ["x1"]
    assert_close(model.predict(x, verbose=0),
                 np.where(x < 0, slope * x, x).astype(np.float64), RTOL)


# ---- EyeLike ---------------------------------------------------------------------------------

@pytest.mark.parametrize("shape,k,dtype", [((3, 7), 0, None), ((7, 3), 2, None), ((5, 5), -2, None),
                                           ((4, 6), 9, None), ((3, 7), 1, TensorProto.FLOAT),
                                           ((3, 7), -1, TensorProto.BOOL),
                                           ((3, 7), 0, TensorProto.INT32)], ids=str)
def test_eye_like_matches_numpy(shape, k, dtype):
    attrs = {"k": k} if dtype is None else {"k": k, "dtype": dtype}
    model = model_of("EyeLike", [shape], 22, dtypes=[TensorProto.INT64],
                     out_types=[TensorProto.INT64 if dtype is None else dtype], **attrs)
    x = np.zeros(shape, np.int64)
    (ours,) = engine.onnx.InferenceSession(model.SerializeToString()).run(None, {"x0": x})
    want = np.eye(*shape, k=k)
    want_dtype = np.int64 if dtype is None else helper.tensor_dtype_to_np_dtype(dtype)
    assert ours.dtype == want_dtype
    np.testing.assert_array_equal(ours, want.astype(want_dtype))
    if dtype != TensorProto.BOOL:  # (onnxruntime has no bool EyeLike)
        np.testing.assert_array_equal(ours, onnxruntime_run(model, {"x0": x})[0])


def test_eye_like_rejects_other_ranks():
    with pytest.raises(ValueError, match=r"EyeLike.*rank 2, got rank 3"):
        engine.onnx.load(model_of("EyeLike", [(2, 3, 4)], 22).SerializeToString())


# ---- DepthToSpace, SpaceToDepth --------------------------------------------------------------

def depth_to_space_ref(x, b, mode):
    n, c, h, w = x.shape
    if mode == "DCR":
        y = x.reshape(n, b, b, c // b // b, h, w).transpose(0, 3, 4, 1, 5, 2)
    else:
        y = x.reshape(n, c // b // b, b, b, h, w).transpose(0, 1, 4, 2, 5, 3)
    return y.reshape(n, c // b // b, h * b, w * b)


def space_to_depth_ref(x, b, mode):
    n, c, h, w = x.shape
    y = x.reshape(n, c, h // b, b, w // b, b)
    y = y.transpose(0, 3, 5, 1, 2, 4) if mode == "DCR" else y.transpose(0, 1, 3, 5, 2, 4)
    return y.reshape(n, c * b * b, h // b, w // b)


@pytest.mark.parametrize("op,shape,b,mode", [
    ("DepthToSpace", (2, 12, 3, 5), 2, "DCR"), ("DepthToSpace", (2, 12, 3, 5), 2, "CRD"),
    ("DepthToSpace", (1, 27, 5, 3), 3, "DCR"), ("DepthToSpace", (3, 9, 5, 7), 3, "CRD"),
    ("SpaceToDepth", (2, 3, 6, 10), 2, "DCR"), ("SpaceToDepth", (1, 5, 9, 3), 3, "DCR"),
    ("SpaceToDepth", (2, 3, 6, 10), 2, "CRD"),
], ids=str)
def test_depth_and_space_match_numpy_and_onnxruntime(op, shape, b, mode, rng):
    (x,) = draw(rng, shape)
    ref = depth_to_space_ref if op == "DepthToSpace" else space_to_depth_ref
    model = model_of(op, [shape], 28, blocksize=b, mode=mode)
    (ours,) = engine.onnx.InferenceSession(model.SerializeToString()).run(None, {"x0": x})
    np.testing.assert_array_equal(ours, ref(x, b, mode))
    if mode == "DCR" or op == "DepthToSpace":  # onnxruntime's opset-13 forms
        (theirs,) = onnxruntime_run(model_of(op, [shape], 13, blocksize=b,
                                             **({"mode": mode} if op == "DepthToSpace" else {})),
                                    {"x0": x})
        np.testing.assert_array_equal(ours, theirs)
    check_gradients(model, lambda v: ref(v, b, mode), [x], rng)


def test_depth_to_space_follows_the_symbolic_batch(rng):
    model = engine.onnx.load(model_of("DepthToSpace", [("N", 8, 3, 5)], 13, blocksize=2,
                                      mode="CRD").SerializeToString())
    for n in (1, 4):
        (x,) = draw(rng, (n, 8, 3, 5))
        np.testing.assert_array_equal(model.predict(x, verbose=0), depth_to_space_ref(x, 2, "CRD"))


def test_depth_to_space_rejects_channels_that_do_not_split():
    with pytest.raises(ValueError, match=r"DepthToSpace.*C 6 is not a multiple of blocksize\^2 4"):
        engine.onnx.load(model_of("DepthToSpace", [(1, 6, 2, 2)], 13, blocksize=2).SerializeToString())


# ---- MeanVarianceNormalization -----------------------------------------------------------------

@pytest.mark.parametrize("shape,axes", [((3, 5, 7, 2), None), ((3, 5, 7), [1]), ((2, 3, 7, 5), [2, 3]),
                                        ((4, 7), [0, -1])], ids=str)
def test_mean_variance_normalization_matches_onnxruntime_and_finite_differences(shape, axes, rng):
    (x,) = draw(rng, shape)
    attrs = {} if axes is None else {"axes": axes}
    model = model_of("MeanVarianceNormalization", [shape], 13, **attrs)
    over = tuple(axes if axes is not None else [0, 2, 3])

    def ref(v):
        centered = v - v.mean(axis=over, keepdims=True)
        return centered / (np.sqrt((centered ** 2).mean(axis=over, keepdims=True)) + 1e-9)
    (ours,), (theirs,) = run_both(model, {"x0": x})
    assert_close(ours, ref(x.astype(np.float64)), RTOL)
    assert_close(ours, theirs, 1e-4)  # onnxruntime's variance is E[x^2] - E[x]^2
    check_gradients(model, ref, [x], rng)


# ---- InstanceNormalization, GroupNormalization ---------------------------------------------------

def group_norm_ref(groups, epsilon, per_group=False):
    def ref(x, scale, bias):
        n, c = x.shape[:2]
        g = x.reshape(n, groups, -1)
        g = (g - g.mean(axis=-1, keepdims=True)) / np.sqrt(g.var(axis=-1, keepdims=True) + epsilon)
        if per_group:
            return (g * scale[:, None] + bias[:, None]).reshape(x.shape)
        unit = (1,) * (x.ndim - 2)
        return g.reshape(x.shape) * scale.reshape(-1, *unit) + bias.reshape(-1, *unit)
    return ref


@pytest.mark.parametrize("shape,epsilon", [((2, 3, 7, 5), 1e-5), ((3, 5, 13), 1e-2),
                                           ((2, 3, 5, 3, 4), 1e-5)], ids=str)
def test_instance_normalization_matches_onnxruntime_and_finite_differences(shape, epsilon, rng):
    c = shape[1]
    x, scale, bias = draw(rng, shape, (c,), (c,))
    model = model_of("InstanceNormalization", [shape, (c,), (c,)], 22, epsilon=epsilon)
    ref = group_norm_ref(c, epsilon)
    (ours,), (theirs,) = run_both(model, {"x0": x, "x1": scale, "x2": bias})
    assert_close(ours, ref(*[v.astype(np.float64) for v in (x, scale, bias)]), RTOL)
    assert_close(ours, theirs, 1e-4)
    check_gradients(model, ref, [x, scale, bias], rng)


@pytest.mark.parametrize("shape,groups,opset", [((2, 6, 7, 5), 3, 21), ((3, 6, 13), 2, 21),
                                                ((2, 6, 7, 5), 3, 18), ((2, 4, 3, 5), 4, 18),
                                                ((3, 5, 7), 1, 21)], ids=str)
def test_group_normalization_matches_numpy_and_finite_differences(shape, groups, opset, rng):
    """Opset 18's scale and bias are per group, opset 21's per channel."""
    c = shape[1]
    k = groups if opset < 21 else c
    x, scale, bias = draw(rng, shape, (k,), (k,))
    model = model_of("GroupNormalization", [shape, (k,), (k,)], opset, num_groups=groups,
                     epsilon=1e-3)
    ref = group_norm_ref(groups, 1e-3, per_group=opset < 21)
    feed = {"x0": x, "x1": scale, "x2": bias}
    (ours,) = engine.onnx.InferenceSession(model.SerializeToString()).run(None, feed)
    assert_close(ours, ref(*[v.astype(np.float64) for v in (x, scale, bias)]), RTOL)
    if opset == 21:
        (theirs,) = onnxruntime_run(model, feed)
        assert_close(ours, theirs, 1e-4)
    check_gradients(model, ref, [x, scale, bias], rng)


def test_group_normalization_rejects_groups_that_do_not_divide_the_channels():
    with pytest.raises(ValueError, match=r"GroupNormalization.*num_groups 4 does not divide the 6"):
        engine.onnx.load(model_of("GroupNormalization", [(2, 6, 3), (6,), (6,)], 21,
                                  num_groups=4).SerializeToString())


@pytest.mark.parametrize("op", ["GroupNormalization", "InstanceNormalization"])
def test_normalization_trains_a_step_as_pytorch(op, rng):
    """Imported with scale and bias as weights, one SGD step on the mean squared error: the
    weights move as PyTorch's group_norm moves them."""
    torch = pytest.importorskip("torch", reason="PyTorch is needed for this comparison")
    shape, groups, lr, eps = (4, 6, 7, 5), (3 if op == "GroupNormalization" else 6), 0.5, 1e-4
    x, target = draw(rng, shape, shape)
    scale0, bias0 = draw(rng, (6,), (6,))
    attrs = {"num_groups": groups} if op == "GroupNormalization" else {}
    onnx_model = model_of(op, [("N", 6, 7, 5), None, None], 21 if op == "GroupNormalization" else 22,
                          init={"x1": scale0, "x2": bias0}, epsilon=eps, **attrs)
    ours = engine.onnx.load(onnx_model.SerializeToString())
    ours.compile(optimizer=engine.optimizers.SGD(learning_rate=lr), loss="mse")
    ours.fit(x, target, batch_size=4, epochs=1, shuffle=False, verbose=0)
    weights = {w.name: w.numpy() for w in ours.trainable_weights}

    w = torch.tensor(scale0, dtype=torch.float64, requires_grad=True)
    b = torch.tensor(bias0, dtype=torch.float64, requires_grad=True)
    y = torch.nn.functional.group_norm(torch.tensor(x, dtype=torch.float64), groups, w, b, eps)
    torch.nn.functional.mse_loss(y, torch.tensor(target, dtype=torch.float64)).backward()
    assert_close(weights["x1"], (w - lr * w.grad).detach().numpy(), 1e-5, "scale")
    assert_close(weights["x2"], (b - lr * b.grad).detach().numpy(), 1e-5, "bias")


# ---- CenterCropPad ---------------------------------------------------------------------------

def center_crop_pad_ref(x, shape, axes):
    out = x
    for a, size in zip(axes, shape):
        dim = out.shape[a]
        if size < dim:
            start = (dim - size) // 2
            out = np.take(out, np.arange(start, start + size), axis=a)
        elif size > dim:
            before = (size - dim) // 2
            pads = [(0, 0)] * out.ndim
            pads[a] = (before, size - dim - before)
            out = np.pad(out, pads)
    return out


@pytest.mark.parametrize("x_shape,shape,axes", [((7, 9, 3), (5, 4, 3), None), ((3, 5, 4), (6, 8, 4), None),
                                                ((7, 4, 3), (4, 9), [0, 1]), ((3, 7, 5), (5, 2), [-1, 1]),
                                                ((5, 6), (5, 6), None)], ids=str)
def test_center_crop_pad_matches_numpy_and_onnxruntime(x_shape, shape, axes, rng):
    (x,) = draw(rng, x_shape)
    attrs = {} if axes is None else {"axes": axes}
    target = np.array(shape, np.int64)
    model = model_of("CenterCropPad", [x_shape, None], 18, init={"x1": target}, **attrs)
    (ours,), (theirs,) = run_both(model, {"x0": x})
    resolved = [a % x.ndim for a in axes] if axes is not None else list(range(x.ndim))
    np.testing.assert_array_equal(ours, center_crop_pad_ref(x, shape, resolved))
    np.testing.assert_array_equal(ours, theirs)
    check_gradients(model, lambda v: center_crop_pad_ref(v, shape, resolved), [x], rng)


# ---- Dropout's mask ----------------------------------------------------------------------------

@pytest.mark.parametrize("opset", [9, 13])
def test_dropout_mask_at_inference_keeps_everything(opset, rng):
    (x,) = draw(rng, (3, 7))
    model = model_of("Dropout", [x.shape], opset,
                     out_types=[TensorProto.FLOAT, TensorProto.FLOAT if opset < 10 else TensorProto.BOOL])
    y, mask = engine.onnx.InferenceSession(model.SerializeToString()).run(None, {"x0": x})
    np.testing.assert_array_equal(y, x)
    assert mask.dtype == (np.float32 if opset < 10 else np.bool_)
    np.testing.assert_array_equal(mask, np.ones(x.shape))
