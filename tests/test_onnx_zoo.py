"""The image model families people download, as PyTorch's classic exporter writes them
(opset 17): imported, compared with onnxruntime, fine-tuned and exported again.

tests/data/zoo holds small members of each family (random weights) with onnxruntime's
outputs, so these checks run without torch; tests/data/zoo/make_zoo.py writes them. With
torch installed the families are also exported afresh at another seed and batch size.
"""
import os
import sys

import numpy as np
import pytest

import engine

ZOO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "zoo")
sys.path.insert(0, ZOO)
import make_zoo  # noqa: E402  (the generator: family names and builders)

RTOL = 1e-4  # relative norm of the difference, as for other conv/GEMM reductions

# Families the importer still refuses, with the reason; strict, so that a family that starts
# to import fails here until it is moved to the passing ones.
NOT_YET = {}


def family_params():
    return [pytest.param(name, marks=pytest.mark.xfail(reason=NOT_YET[name], strict=True))
            if name in NOT_YET else name for name in make_zoo.FAMILIES]


def rel_err(a, b):
    return np.linalg.norm(np.asarray(a, np.float64) - b) / np.linalg.norm(b)


@pytest.mark.parametrize("name", family_params())
def test_recorded_family_matches_onnxruntime(name):
    x = np.load(os.path.join(ZOO, name + "_input.npy"))
    expected = np.load(os.path.join(ZOO, name + "_output.npy"))
    model = engine.onnx.load(os.path.join(ZOO, name + ".onnx"))
    y = model.predict(x, verbose=0)
    assert y.shape == expected.shape
    assert rel_err(y, expected) < RTOL
    # One image at a time gives the same answers: the batch stays symbolic.
    np.testing.assert_allclose(model.predict(x[:1], verbose=0), y[:1], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", family_params())
def test_family_exported_by_torch_fine_tunes_and_exports(name, tmp_path):
    pytest.importorskip("torch", reason="torch is not installed (CI runs the recorded files)")
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
    path = str(tmp_path / (name + ".onnx"))
    x, expected = make_zoo.export(name, path, batch=3, seed=7)
    model = engine.onnx.load(path)
    assert rel_err(model.predict(x, verbose=0), expected) < RTOL

    rng = np.random.default_rng(7)
    xs = rng.standard_normal((16, 3, 32, 32)).astype(np.float32)
    ys = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 16)]
    model.compile(optimizer=engine.optimizers.Adam(1e-3),
                  loss=engine.losses.CategoricalCrossentropy(from_logits=True))
    model.fit(xs, ys, epochs=2, batch_size=8, verbose=0)
    tuned = model.predict(x, verbose=0)
    assert np.all(np.isfinite(tuned))
    assert rel_err(tuned, expected) > 1e-3  # the weights moved
    out = str(tmp_path / (name + "-tuned.onnx"))
    engine.onnx.export(model, out)
    sess = ort.InferenceSession(out, providers=["CPUExecutionProvider"])
    (again,) = sess.run(None, {sess.get_inputs()[0].name: x})
    assert rel_err(again, tuned) < RTOL


# ---- the graph patterns of these exports, one at a time ------------------------------------

onnx = pytest.importorskip("onnx", reason="onnx is not installed")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402


def make_model(nodes, inputs, outputs, inits=()):
    graph = helper.make_graph(nodes, "g", inputs, outputs,
                              [numpy_helper.from_array(v, k) for k, v in dict(inits).items()])
    return helper.make_model(graph, ir_version=8, opset_imports=[helper.make_opsetid("", 17)])


def vi(name, shape, elem=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, elem, shape)


def const(name, values, dtype=np.int64):
    return helper.make_node("Constant", [], [name],
                            value=numpy_helper.from_array(np.asarray(values, dtype), name))


def check_against_ort(model, *batches):
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
    data = model.SerializeToString()
    ours = engine.onnx.load(data)
    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    for x in batches:
        (ref,) = sess.run(None, {"x": x})
        y = ours.predict(x, verbose=0)
        assert y.shape == ref.shape
        np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-6)
    return ours


def shape_gather(prefix, value, index):
    """Nodes giving dim `index` of `value` as a 1-element int64 vector."""
    return [helper.make_node("Shape", [value], [prefix + "_shape"]),
            const(prefix + "_i", index),
            helper.make_node("Gather", [prefix + "_shape", prefix + "_i"], [prefix + "_dim"],
                             axis=0),
            const(prefix + "_axes", [0]),
            helper.make_node("Unsqueeze", [prefix + "_dim", prefix + "_axes"], [prefix])]


def test_batch_times_heads_in_a_target_shape_is_the_inferred_dim(rng):
    # Multi-head attention: [N, S, H*D] -> [N*H, S, D] with N*H computed from Shape, and back.
    nodes = shape_gather("n", "x", 0) + shape_gather("s", "x", 1) + [
        const("heads", [2]), const("d", [3]),
        helper.make_node("Mul", ["n", "heads"], ["nh"]),
        helper.make_node("Concat", ["s", "n", "heads", "d"], ["t1"], axis=0),
        helper.make_node("Transpose", ["x"], ["xt"], perm=[1, 0, 2]),
        helper.make_node("Reshape", ["xt", "t1"], ["r1"]),
        helper.make_node("Transpose", ["r1"], ["r1t"], perm=[1, 2, 0, 3]),
        helper.make_node("Concat", ["nh", "s", "d"], ["t2"], axis=0),
        helper.make_node("Reshape", ["r1t", "t2"], ["r2"]),
        # The shape of a value whose dim 0 is N*H, read again.
        helper.make_node("Shape", ["r2"], ["r2_shape"]),
        const("one", [1]), const("three", [3]),
        helper.make_node("Slice", ["r2_shape", "one", "three"], ["tail"]),
        const("minus1", [-1]),
        helper.make_node("Concat", ["minus1", "tail"], ["t3"], axis=0),
        helper.make_node("Reshape", ["r2", "t3"], ["y"])]
    model = make_model(nodes, [vi("x", ["N", 5, 6])], [vi("y", ["M", 5, 3])])
    x = rng.standard_normal((4, 5, 6)).astype(np.float32)
    check_against_ort(model, x, x[:1])


def test_a_weight_edited_by_scatter_nd_keeps_training():
    """Swin V2 zeroes the key third of each qkv bias with a ScatterND at run time: the bias
    stays a weight, its query and value thirds train and its key third gets no gradient."""
    model = engine.onnx.load(os.path.join(ZOO, "swin_v2.onnx"))
    bias = {w.name: w for w in model.trainable_weights}["b1.attn.qkv.bias"]
    before = bias.numpy().copy()
    x = np.load(os.path.join(ZOO, "swin_v2_input.npy"))
    model.compile(optimizer=engine.optimizers.SGD(0.1),
                  loss=engine.losses.CategoricalCrossentropy(from_logits=True))
    model.fit(x, np.eye(10, dtype=np.float32)[[3, 7]], epochs=1, batch_size=2, verbose=0)
    q, k, v = np.split(bias.numpy() - before, 3)
    assert np.all(q != 0) and np.all(v != 0)
    assert np.all(k == 0)


def test_normalize_over_batch_times_heads_expands_to_its_own_shape(rng):
    # F.normalize(q) as the exporter writes it: q / Expand(Clip(ReduceL2(q)), Shape(q)), where
    # q's dim 0 is the batch times the heads. The Expand only broadcasts the last dim.
    nodes = shape_gather("n", "x", 0) + [
        const("heads", [2]), const("d", [3]),
        helper.make_node("Mul", ["n", "heads"], ["nh"]),
        helper.make_node("Concat", ["nh", "d"], ["t"], axis=0),
        helper.make_node("Reshape", ["x", "t"], ["q"]),
        helper.make_node("ReduceL2", ["q"], ["norm"], axes=[-1], keepdims=1),
        helper.make_node("Clip", ["norm", "eps", ""], ["clipped"]),
        helper.make_node("Shape", ["q"], ["q_shape"]),
        helper.make_node("Expand", ["clipped", "q_shape"], ["denominator"]),
        helper.make_node("Div", ["q", "denominator"], ["y"])]
    model = make_model(nodes, [vi("x", ["N", 6])], [vi("y", ["M", 3])],
                       {"eps": np.array(1e-12, np.float32)})
    x = rng.standard_normal((4, 6)).astype(np.float32)
    check_against_ort(model, x, x[:1])


def test_class_token_expanded_to_the_batch(rng):
    # The class token of a ViT: Expand(token, where(shape == -1, 1, [N, -1, -1])).
    token = rng.standard_normal((1, 1, 4)).astype(np.float32)
    nodes = shape_gather("n", "x", 0) + [
        const("rest", [-1, -1]),
        helper.make_node("Concat", ["n", "rest"], ["spec"], axis=0),
        const("minus1", [-1, -1, -1]),
        helper.make_node("Equal", ["spec", "minus1"], ["is_any"]),
        const("ones", [1, 1, 1]),
        helper.make_node("Where", ["is_any", "ones", "spec"], ["target"]),
        helper.make_node("Expand", ["token", "target"], ["tokens"]),
        helper.make_node("Concat", ["tokens", "x"], ["y"], axis=1)]
    model = make_model(nodes, [vi("x", ["N", 3, 4])], [vi("y", ["N", 4, 4])], {"token": token})
    x = rng.standard_normal((5, 3, 4)).astype(np.float32)
    ours = check_against_ort(model, x, x[:2])
    # The token stays a weight, and its gradient is the sum over the batch.
    assert "token" in [w.name for w in ours.weights]


def test_comparing_the_batch_size_with_a_possible_size_is_refused():
    nodes = shape_gather("n", "x", 0) + [
        const("two", [2]), helper.make_node("Equal", ["n", "two"], ["eq"]),
        helper.make_node("Where", ["eq", "x", "x"], ["y"])]
    model = make_model(nodes, [vi("x", ["N", 3])], [vi("y", ["N", 3])])
    with pytest.raises(ValueError, match=r"Equal.*compares the batch size, which is only known "
                                         r"at run time, with 2"):
        engine.onnx.load(model.SerializeToString())


@pytest.mark.parametrize("fmod,a,b", [(0, [7, -7, 7, -7, 6], [3, 3, -3, -3, 3]),
                                      (1, [7, -7, 7, -7, 6], [3, 3, -3, -3, 3])])
def test_mod_of_known_values_folds(fmod, a, b, rng):
    # Mod on constants (attention's shape arithmetic), then used as a Reshape target.
    nodes = [const("a", a), const("b", b), helper.make_node("Mod", ["a", "b"], ["m"], fmod=fmod),
             const("k", [3]), helper.make_node("Add", ["m", "k"], ["shift"]),
             helper.make_node("Cast", ["shift"], ["f"], to=TensorProto.FLOAT),
             helper.make_node("Mul", ["x", "f"], ["y"])]
    model = make_model(nodes, [vi("x", ["N", 5])], [vi("y", ["N", 5])])
    check_against_ort(model, rng.standard_normal((3, 5)).astype(np.float32))


def test_mod_of_run_time_values_runs(rng):
    model = make_model([const("b", [1.5, -2.0, 0.7, 3.0, -1.1], np.float32),
                        helper.make_node("Mod", ["x", "b"], ["y"], fmod=1)],
                       [vi("x", ["N", 5])], [vi("y", ["N", 5])])
    check_against_ort(model, 4 * rng.standard_normal((3, 5)).astype(np.float32))


def test_any_op_on_known_values_folds(rng):
    # sqrt(float(dim)) as a scaled dot-product attention computes its scale: folded, so no
    # node of the engine's graph reads a constant-only input.
    nodes = shape_gather("d", "x", 1) + [
        helper.make_node("Cast", ["d"], ["df"], to=TensorProto.FLOAT),
        helper.make_node("Sqrt", ["df"], ["sq"]),
        helper.make_node("Reciprocal", ["sq"], ["scale"]),
        helper.make_node("Mul", ["x", "scale"], ["y"])]
    model = make_model(nodes, [vi("x", ["N", 9])], [vi("y", ["N", 9])])
    ours = check_against_ort(model, rng.standard_normal((2, 9)).astype(np.float32))
    graph = next(layer for layer in ours.layers if isinstance(layer, engine.onnx.OnnxGraph))
    assert [n["op_type"] if isinstance(n, dict) else n.op_type for n in graph._nodes] == ["Mul"]


def test_window_padding_mask_and_reversal_fold(rng):
    """Swin's shapes: pads computed from the input's dims (0 here), an attention mask built
    with Range and ScatterND on known values, and a reversed Slice whose open end exporters
    write as -INT64_MAX."""
    big = np.iinfo(np.int64)
    nodes = [
        # pads = [0, 0, 0, (4 - W % 4) % 4] with W = 8: a Pad by zeros.
        *shape_gather("w", "x", 1),
        const("four", [4]),
        helper.make_node("Mod", ["w", "four"], ["w_mod"], fmod=0),
        helper.make_node("Sub", ["four", "w_mod"], ["w_rest"]),
        helper.make_node("Mod", ["w_rest", "four"], ["pad_r"], fmod=0),
        const("zeros3", [0, 0, 0]),
        helper.make_node("Concat", ["zeros3", "pad_r"], ["pads"], axis=0),
        helper.make_node("Pad", ["x", "pads"], ["padded"], mode="constant"),
        # mask = ScatterND(zeros(8), Range(2, 8, 3)[:, None], [5, 6]) -> [0 0 5 0 0 6 0 0]
        const("start", 2), const("limit", 8), const("delta", 3),
        helper.make_node("Range", ["start", "limit", "delta"], ["idx"]),
        const("col", [1]),
        helper.make_node("Unsqueeze", ["idx", "col"], ["idx2"]),
        helper.make_node("ConstantOfShape", ["w"], ["mask0"],
                         value=numpy_helper.from_array(np.zeros(1, np.float32))),
        const("upd", [5.0, 6.0], np.float32),
        helper.make_node("ScatterND", ["mask0", "idx2", "upd"], ["mask"]),
        helper.make_node("Add", ["padded", "mask"], ["masked"]),
        # x[:, ::-1]
        const("s_start", [-1]), const("s_end", [big.min + 1]), const("s_axes", [1]),
        const("s_steps", [-1]),
        helper.make_node("Slice", ["masked", "s_start", "s_end", "s_axes", "s_steps"], ["y"])]
    model = make_model(nodes, [vi("x", ["N", 8])], [vi("y", ["N", 8])])
    x = rng.standard_normal((3, 8)).astype(np.float32)
    check_against_ort(model, x, x[:1])


def test_one_dimensional_windows_run_as_two_dimensional_and_train(rng):
    # Conv, MaxPool, AveragePool and ConvTranspose over [N, C, L] (a 1-D CNN as PyTorch's
    # exporter writes it), every window attribute given.
    w = rng.normal(size=(4, 2, 3)).astype(np.float32)
    wt = rng.normal(size=(4, 3, 2)).astype(np.float32)
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], kernel_shape=[3], strides=[1], pads=[1, 1],
                              dilations=[1]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("MaxPool", ["r"], ["m"], kernel_shape=[2], strides=[2]),
             helper.make_node("AveragePool", ["m"], ["a"], kernel_shape=[3], strides=[1], pads=[1, 1],
                              count_include_pad=0),
             helper.make_node("ConvTranspose", ["a", "wt"], ["y"], kernel_shape=[2], strides=[2],
                              output_padding=[1])]
    model = make_model(nodes, [vi("x", ["N", 2, 16])], [vi("y", ["N", 3, 17])],
                       {"w": w, "b": rng.normal(size=4).astype(np.float32), "wt": wt})
    x = rng.normal(size=(5, 2, 16)).astype(np.float32)
    ours = check_against_ort(model, x, x[:2])
    before = [v.numpy().copy() for v in ours.trainable_weights]
    ours.compile(optimizer="sgd", loss="mse")
    ours.fit(x, rng.normal(size=(5, 3, 17)).astype(np.float32), epochs=1, verbose=0)
    assert all(not np.array_equal(a, v.numpy()) for a, v in zip(before, ours.trainable_weights))


def test_other_element_types_compute_in_float32_or_int64_and_come_back_declared(rng):
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
    # float64 and int32 inputs, a float16 weight, an int32 Max (no int kernel: computed in
    # float32 between casts), outputs declared float64 and int32.
    nodes = [helper.make_node("Cast", ["x"], ["x32"], to=TensorProto.FLOAT),
             helper.make_node("Cast", ["w"], ["w32"], to=TensorProto.FLOAT),
             helper.make_node("Mul", ["x32", "w32"], ["scaled"]),
             helper.make_node("Cast", ["scaled"], ["y"], to=TensorProto.DOUBLE),
             helper.make_node("Max", ["k", "floor"], ["m"]),
             helper.make_node("Cast", ["m"], ["m64"], to=TensorProto.INT64),
             helper.make_node("Cast", ["m64"], ["z"], to=TensorProto.INT32)]
    model = make_model(nodes, [vi("x", ["N", 3], TensorProto.DOUBLE), vi("k", ["N", 3], TensorProto.INT32)],
                       [vi("y", ["N", 3], TensorProto.DOUBLE), vi("z", ["N", 3], TensorProto.INT32)],
                       {"w": np.array([0.5, -2.0, 1.25], np.float16), "floor": np.array([0, -5, 3], np.int32)})
    data = model.SerializeToString()
    ours = engine.onnx.load(data)
    x, k = rng.normal(size=(4, 3)), rng.integers(-9, 9, size=(4, 3)).astype(np.int32)
    y, z = ours.predict([x, k], verbose=0)
    want_y, want_z = ort.InferenceSession(data, providers=["CPUExecutionProvider"]).run(None, {"x": x, "k": k})
    assert (y.dtype, z.dtype) == (np.float64, np.int32)
    np.testing.assert_allclose(y, want_y, rtol=1e-6)
    np.testing.assert_array_equal(z, want_z)
