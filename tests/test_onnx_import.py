"""engine.onnx.load on hand-built graphs: the model-zoo-era forms of older opsets translated
into current ones (compared with onnxruntime, or a numpy reference where onnxruntime cannot
run the opset), shape computations folded at import, and hostile files that must fail with
one clear ValueError before anything is built."""
import numpy as np
import pytest

import engine
import engine.onnx
from engine import _core

onnx = pytest.importorskip("onnx", reason="onnx is not installed")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

RTOL, ATOL = 1e-3, 1e-5


def make_model(nodes, inputs, outputs, inits=(), opset=11, ir_version=None):
    graph = helper.make_graph(nodes, "g", inputs, outputs,
                              [numpy_helper.from_array(v, k) for k, v in dict(inits).items()])
    ir = ir_version or (3 if opset < 7 else 7 if opset < 13 else 8)
    return helper.make_model(graph, ir_version=ir, opset_imports=[helper.make_opsetid("", opset)])


def vi(name, shape, elem=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, elem, shape)


def load(model):
    return engine.onnx.load(model.SerializeToString())


def ort_outputs(model, feeds):
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


def as_list(x):
    return x if isinstance(x, list) else [x]


def check_against_ort(model, feeds):
    got = as_list(load(model).predict(feeds if len(feeds) > 1 else next(iter(feeds.values()))))
    for g, r in zip(got, ort_outputs(model, feeds)):
        np.testing.assert_allclose(g, r, rtol=RTOL, atol=ATOL)
    return got


# ---- older opsets, translated ---------------------------------------------------------------

@pytest.mark.parametrize("op", ["Softmax", "LogSoftmax"])
@pytest.mark.parametrize("axis", [None, 1, 2, -1])
def test_old_softmax_coerces_4d_input_to_2d(op, axis, rng):
    attrs = {} if axis is None else {"axis": axis}
    model = make_model([helper.make_node(op, ["x"], ["y"], **attrs)], [vi("x", ["N", 3, 4, 5])],
                       [vi("y", ["N", 3, 4, 5])], opset=11)
    x = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    (y,) = check_against_ort(model, {"x": x})
    a = 1 if axis is None else axis % 4
    flat = x.reshape(2 * int(np.prod(x.shape[1:a])) if a > 1 else 2, -1).astype(np.float64)
    e = np.exp(flat - flat.max(1, keepdims=True))
    ref = (e / e.sum(1, keepdims=True)) if op == "Softmax" else np.log(e / e.sum(1, keepdims=True))
    np.testing.assert_allclose(y, ref.reshape(x.shape), rtol=RTOL, atol=ATOL)


def test_old_softmax_exports_as_current_onnx(tmp_path, rng):
    model = make_model([helper.make_node("Softmax", ["x"], ["y"])], [vi("x", ["N", 3, 4])],
                       [vi("y", ["N", 3, 4])], opset=9)
    m = load(model)
    x = rng.standard_normal((5, 3, 4)).astype(np.float32)
    path = tmp_path / "coerced.onnx"
    engine.onnx.export(m, path)
    onnx.checker.check_model(onnx.load(path), full_check=True)
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
    (r,) = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"x": x})
    np.testing.assert_allclose(m.predict(x), r, rtol=RTOL, atol=ATOL)
    np.testing.assert_array_equal(engine.onnx.load(path).predict(x), m.predict(x))


def bn_numpy(x, s, b, mean, var, eps):
    shape = (1, -1) + (1,) * (x.ndim - 2)
    return (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps) * s.reshape(shape) + b.reshape(shape)


@pytest.mark.parametrize("opset", [6, 7, 9])
def test_old_batch_norm_attributes_and_extra_outputs(opset, rng):
    c = 3
    inits = {"s": rng.random(c, dtype=np.float32) + 0.5, "b": rng.standard_normal(c).astype(np.float32),
             "m": rng.standard_normal(c).astype(np.float32), "v": rng.random(c, dtype=np.float32) + 0.5}
    attrs = {"epsilon": 1e-3}
    if opset < 7:
        attrs.update(is_test=1, consumed_inputs=[0, 0, 0, 1, 1], spatial=1)
    elif opset < 9:
        attrs.update(spatial=1)
    outs = ["y", "mean_out", "var_out"] if opset >= 7 else ["y"]
    node = helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], outs, **attrs)
    model = make_model([node], [vi("x", ["N", c, 4, 5])], [vi("y", ["N", c, 4, 5])], inits, opset=opset)
    x = rng.standard_normal((2, c, 4, 5)).astype(np.float32)
    m = load(model)
    ref = bn_numpy(x.astype(np.float64), *[inits[k].astype(np.float64) for k in "sbmv"], 1e-3)
    np.testing.assert_allclose(m.predict(x), ref, rtol=RTOL, atol=ATOL)
    names = {w.name: w.trainable for w in m.weights}
    assert names == {"s": True, "b": True, "m": False, "v": False}


def test_batch_norm_spatial_0_is_rejected():
    node = helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], spatial=0)
    inits = {k: np.ones(3, np.float32) for k in "sbmv"}
    model = make_model([node], [vi("x", ["N", 3])], [vi("y", ["N", 3])], inits, opset=7)
    with pytest.raises(ValueError, match="spatial=0"):
        load(model)


@pytest.mark.parametrize("opset", [1, 4])
def test_reshape_with_shape_attribute(opset, rng):
    node = helper.make_node("Reshape", ["x"], ["y"], shape=[0, -1])
    model = make_model([node], [vi("x", ["N", 3, 4])], [vi("y", ["N", 12])], opset=opset, ir_version=3)
    x = rng.standard_normal((5, 3, 4)).astype(np.float32)
    np.testing.assert_array_equal(load(model).predict(x), x.reshape(5, 12))


def test_unsqueeze_squeeze_axes_attribute(rng):
    nodes = [helper.make_node("Unsqueeze", ["x"], ["u"], axes=[1, 3]),
             helper.make_node("Relu", ["u"], ["r"]),
             helper.make_node("Squeeze", ["r"], ["y"], axes=[3])]
    model = make_model(nodes, [vi("x", ["N", 3, 4])], [vi("y", ["N", 1, 3, 4])], opset=11)
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    (y,) = check_against_ort(model, {"x": x})
    assert y.shape == (2, 1, 3, 4)


def test_sum_lrn_constant_of_shape_dropout_ratio(rng):
    fill = helper.make_tensor("fill", TensorProto.FLOAT, [1], [0.25])
    nodes = [helper.make_node("LRN", ["x"], ["l"], size=3, alpha=0.01, beta=0.75, bias=2.0),
             helper.make_node("Constant", [], ["shape"], value=helper.make_tensor("s", TensorProto.INT64, [3], [4, 5, 6])),
             helper.make_node("ConstantOfShape", ["shape"], ["c"], value=fill),
             helper.make_node("Dropout", ["l"], ["d", "mask"], ratio=0.3),
             helper.make_node("Sum", ["d", "x", "c"], ["y"])]
    model = make_model(nodes, [vi("x", ["N", 4, 5, 6])], [vi("y", ["N", 4, 5, 6])], opset=10)
    x = rng.standard_normal((2, 4, 5, 6)).astype(np.float32)
    check_against_ort(model, {"x": x})


def test_gemm_broadcast_and_legacy_add_axis(rng):
    w = rng.standard_normal((6, 4)).astype(np.float32)
    c = rng.standard_normal(6).astype(np.float32)
    bias = rng.standard_normal(3).astype(np.float32)
    nodes = [helper.make_node("Gemm", ["x", "w", "c"], ["g"], transB=1, broadcast=1),
             helper.make_node("Reshape", ["g"], ["r"], shape=[0, 3, 2]),
             helper.make_node("Add", ["r", "bias"], ["y"], broadcast=1, axis=1)]
    model = make_model(nodes, [vi("x", ["N", 4])], [vi("y", ["N", 3, 2])],
                       {"w": w, "c": c, "bias": bias}, opset=4, ir_version=3)
    x = rng.standard_normal((5, 4)).astype(np.float32)
    ref = (x.astype(np.float64) @ w.T + c).reshape(5, 3, 2) + bias.reshape(3, 1)
    np.testing.assert_allclose(load(model).predict(x), ref, rtol=RTOL, atol=ATOL)


def test_pytorch_flatten_pattern_is_folded_and_keeps_batch_symbolic(rng):
    # x.view(x.size(0), -1) as the classic exporter writes it.
    nodes = [helper.make_node("Shape", ["x"], ["s"]),
             helper.make_node("Constant", [], ["i0"], value=helper.make_tensor("i", TensorProto.INT64, [], [0])),
             helper.make_node("Gather", ["s", "i0"], ["n"], axis=0),
             helper.make_node("Unsqueeze", ["n"], ["n1"], axes=[0]),
             helper.make_node("Constant", [], ["m1"], value=helper.make_tensor("m", TensorProto.INT64, [1], [-1])),
             helper.make_node("Concat", ["n1", "m1"], ["shape"], axis=0),
             helper.make_node("Cast", ["shape"], ["shape64"], to=TensorProto.INT64),
             helper.make_node("Identity", ["x"], ["xi"]),
             helper.make_node("Reshape", ["xi", "shape64"], ["y"])]
    model = make_model(nodes, [vi("x", ["N", 3, 4, 5])], [vi("y", ["N", 60])], opset=11)
    m = load(model)
    builder, _, _ = m._build_graph()
    assert [n["op_type"] for n in builder.nodes] == ["Reshape"]
    for n in (1, 7):
        x = rng.standard_normal((n, 3, 4, 5)).astype(np.float32)
        np.testing.assert_array_equal(m.predict(x), x.reshape(n, 60))
        np.testing.assert_array_equal(m.predict(x), ort_outputs(model, {"x": x})[0])


def test_names_are_kept_and_weights_owned(tmp_path, rng):
    w = rng.standard_normal((4, 3)).astype(np.float32)
    nodes = [helper.make_node("MatMul", ["in.1", "fc.w"], ["h"], name="mm"),
             helper.make_node("Relu", ["h"], ["out:0"], name="act"),
             helper.make_node("Sigmoid", ["h"], ["aux"], name="sig")]
    model = make_model(nodes, [vi("in.1", ["N", 4])], [vi("out:0", ["N", 3]), vi("aux", ["N", 3])], {"fc.w": w})
    m = load(model)
    assert [t.layer_name for t in m.inputs] == ["in.1"]
    assert [t.layer_name for t in m.outputs] == ["out:0", "aux"]
    assert [t.shape for t in m.outputs] == [(None, 3), (None, 3)]
    assert [(v.name, v.trainable) for v in m.weights] == [("fc.w", True)]
    path = tmp_path / "named.onnx"
    engine.onnx.export(m, path)
    exported = onnx.load(path)
    assert [i.name for i in exported.graph.input] == ["in.1"]
    assert [o.name for o in exported.graph.output] == ["out:0", "aux"]


def test_fixed_batch_graph_keeps_its_batch(rng):
    nodes = [helper.make_node("Reshape", ["x", "shape"], ["y"])]
    model = make_model(nodes, [vi("x", [1, 3, 4])], [vi("y", [1, 12])], {"shape": np.array([1, 12], np.int64)})
    m = load(model)
    assert m.inputs[0].shape == (1, 3, 4)
    x = rng.standard_normal((1, 3, 4)).astype(np.float32)
    np.testing.assert_array_equal(m.predict(x), x.reshape(1, 12))


# ---- hostile files ----------------------------------------------------------------------------

def test_unsupported_ops_are_all_reported_at_once():
    nodes = [helper.make_node("Relu", ["x"], ["a"], name="ok"),
             helper.make_node("Det", ["a"], ["b"], name="first_bad"),
             helper.make_node("NonMaxSuppression", ["b"], ["c"], name="second_bad"),
             helper.make_node("Conv", ["c", "w"], ["d"], name="odd_conv", kernel_shape=[1, 1], frobnicate=1),
             helper.make_node("Custom", ["d"], ["y"], name="custom", domain="com.example")]
    model = make_model(nodes, [vi("x", ["N", 1, 2, 2])], [vi("y", ["N", 1, 2, 2])],
                       {"w": np.ones((1, 1, 1, 1), np.float32)}, opset=12)
    with pytest.raises(ValueError) as err:
        load(model)
    msg = str(err.value)
    for part in ("opset 12", "unsupported operators: Det (node 'first_bad'), "
                 "NonMaxSuppression (node 'second_bad'), Custom in domain 'com.example' "
                 "(node 'custom')", "'odd_conv' (Conv): frobnicate"):
        assert part in msg
    assert "'ok'" not in msg


def test_unsupported_ops_are_counted_by_type():
    """An exported model repeats an op in every block: each type is named once, with its
    count and its first node."""
    nodes = [helper.make_node("Det", ["x"], ["a0"], name="/blocks.0/attn/Det")]
    nodes += [helper.make_node("Det", [f"a{k}"], [f"a{k + 1}"], name=f"/blocks.{k + 1}/Det")
              for k in range(3)]
    nodes += [helper.make_node("Unique", ["a3"], ["y"])]
    model = make_model(nodes, [vi("x", ["N", 2])], [vi("y", ["N", 2])])
    with pytest.raises(ValueError, match=r"unsupported operators: Det \(4 nodes, the first "
                                         r"'/blocks.0/attn/Det'\), Unique \(node '#4'\)$"):
        load(model)


def test_cycle_is_rejected():
    nodes = [helper.make_node("Add", ["x", "b"], ["a"], name="n1"),
             helper.make_node("Relu", ["a"], ["b"], name="n2"),
             helper.make_node("Relu", ["a"], ["y"], name="n3")]
    model = make_model(nodes, [vi("x", ["N", 2])], [vi("y", ["N", 2])])
    with pytest.raises(ValueError, match=r"cycle through nodes 'n1' \(Add\), 'n2' \(Relu\)"):
        load(model)


def test_dangling_input_is_rejected():
    nodes = [helper.make_node("Add", ["x", "ghost"], ["y"], name="adder")]
    model = make_model(nodes, [vi("x", ["N", 2])], [vi("y", ["N", 2])])
    with pytest.raises(ValueError, match=r"nothing produces: 'ghost' \(read by node 'adder' \(Add\)\)"):
        load(model)


def test_missing_graph_output_is_rejected():
    model = make_model([helper.make_node("Relu", ["x"], ["y"])], [vi("x", ["N", 2])], [vi("z", ["N", 2])])
    with pytest.raises(ValueError, match="'z' \\(a graph output\\)"):
        load(model)


def test_duplicate_names_are_rejected():
    nodes = [helper.make_node("Relu", ["x"], ["y"], name="r1"), helper.make_node("Tanh", ["x"], ["y"], name="r2")]
    model = make_model(nodes, [vi("x", ["N", 2])], [vi("y", ["N", 2])])
    with pytest.raises(ValueError, match="'y' is produced twice: by node 'r1' \\(Relu\\) and by node 'r2'"):
        load(model)
    nodes = [helper.make_node("Relu", ["x"], ["x"], name="shadow")]
    model = make_model(nodes, [vi("x", ["N", 2])], [vi("x", ["N", 2])])
    with pytest.raises(ValueError, match="'x' is produced twice: by graph input"):
        load(model)
    model = make_model([helper.make_node("Relu", ["x"], ["y"])], [vi("x", ["N", 2]), vi("x", ["N", 2])],
                       [vi("y", ["N", 2])])
    with pytest.raises(ValueError, match="graph input 'x' is declared twice"):
        load(model)


def test_run_time_shapes_are_rejected_clearly():
    # A Reshape target computed from data: no static value exists.
    nodes = [helper.make_node("Cast", ["x"], ["s"], to=TensorProto.INT64),
             helper.make_node("Reshape", ["x", "s"], ["y"], name="dyn")]
    model = make_model(nodes, [vi("x", ["N", 2])], [vi("y", ["N", 2])])
    with pytest.raises(ValueError, match="computed at run time"):
        load(model)


def test_bad_model_files_raise_value_error(tmp_path):
    path = tmp_path / "junk.onnx"
    path.write_bytes(b"\x08\x07\x12\xff\xff\xff")
    with pytest.raises(ValueError):
        engine.onnx.load(path)


HUGE = 2**61


@pytest.mark.parametrize("op, attrs, match", [
    ("Conv", {"pads": [HUGE, 0, HUGE, 0]},
     rf"Conv 'n': the im2col matrix \[1, {2 * HUGE + 1} x 1\] for kernel \[1, 1\], strides "
     rf"\[1, 1\], pads \[{HUGE}, 0, {HUGE}, 0\], dilations \[1, 1\] is more than memory can hold"),
    ("Conv", {"pads": [2 * HUGE, 0, 2 * HUGE, 0]},
     rf"the padded height \(1 \+ pads {2 * HUGE} \+ {2 * HUGE}\) overflows 64 bits"),
    ("Conv", {"dilations": [2 * HUGE, 1], "kernel_shape": [3, 1]},
     rf"the height window \(kernel 3, dilation {2 * HUGE}\) overflows 64 bits"),
    ("MaxPool", {"pads": [HUGE, 0, HUGE, 0], "kernel_shape": [1, 1]},
     r"MaxPool 'n': pads \[.*\] must each be smaller than the kernel \[1, 1\]"),
    ("AveragePool", {"kernel_shape": [2 * HUGE, 1], "pads": [2 * HUGE, 0, 2 * HUGE, 0]},
     r"the padded height .* overflows 64 bits"),
])
def test_hostile_window_attributes_raise_value_error_naming_them(op, attrs, match):
    # Sizes that overflow 64 bits or no memory can hold: a clear error before anything is
    # allocated, never a wrapped size (a crash) or a huge allocation.
    inputs = ["x", "w"] if op == "Conv" else ["x"]
    kernel = attrs.pop("kernel_shape", [1, 1])
    if op != "Conv":
        attrs["kernel_shape"] = kernel
    inits = {"w": np.ones((1, 1, *kernel), np.float32)} if op == "Conv" else {}
    model = make_model([helper.make_node(op, inputs, ["y"], name="n", **attrs)],
                       [vi("x", ["N", 1, 1, 1])], [vi("y", None)], inits, opset=17)
    with pytest.raises(ValueError, match=match):
        load(model)


def test_huge_stride_gives_one_window(rng):
    model = make_model([helper.make_node("Conv", ["x", "w"], ["y"], strides=[2**62, 2**62])],
                       [vi("x", ["N", 2, 5, 4])], [vi("y", None)],
                       {"w": rng.standard_normal((3, 2, 3, 3)).astype(np.float32)}, opset=17)
    check_against_ort(model, {"x": rng.standard_normal((2, 2, 5, 4)).astype(np.float32)})


def test_huge_declared_input_shape_is_rejected():
    model = make_model([helper.make_node("Relu", ["x"], ["y"])], [vi("x", ["N", 2**40, 2**40])],
                       [vi("y", None)])
    with pytest.raises(ValueError, match=r"graph input 'x' declares shape \[-1, 1099511627776, "
                                         r"1099511627776\], more than memory can hold"):
        load(model)


@pytest.mark.parametrize("given", ["scales", "sizes"])
def test_resize_of_opset_11_with_empty_roi_and_scales(given, rng):
    """Opset 11 requires roi and scales: files give them empty when unused."""
    inits = {"roi": np.zeros(0, np.float32), "scales": np.zeros(0, np.float32)}
    if given == "scales":
        inits["scales"] = np.array([1, 1, 2, 1.5], np.float32)
        inputs = ["x", "roi", "scales"]
    else:
        inits["sizes"] = np.array([2, 3, 8, 6], np.int64)
        inputs = ["x", "roi", "scales", "sizes"]
    node = helper.make_node("Resize", inputs, ["y"], mode="linear",
                            coordinate_transformation_mode="align_corners")
    model = make_model([node], [vi("x", [2, 3, 4, 4])], [vi("y", [2, 3, 8, 6])], inits, opset=11)
    x = rng.standard_normal((2, 3, 4, 4)).astype(np.float32)
    check_against_ort(model, {"x": x})


def test_resize_from_opset_10_is_refused():
    node = helper.make_node("Resize", ["x", "scales"], ["y"], mode="nearest")
    model = make_model([node], [vi("x", [1, 1, 2, 2])], [vi("y", [1, 1, 4, 4])],
                       {"scales": np.array([1, 1, 2, 2], np.float32)}, opset=10)
    with pytest.raises(ValueError, match=r"\(Resize\) from opset 11"):
        load(model)


# ---- chains exporters write for ops of later opsets --------------------------------------------

@pytest.mark.parametrize("opset", [13, 18])
def test_written_out_layer_norm_and_gelu_run_fused_and_match_onnxruntime(opset, rng):
    """A transformer MLP block as exporters before opset 17 write it: LayerNormalization as
    ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div, Mul, Add (axes an attribute before
    opset 18, an input from 18) and the exact GELU as Div, Erf, Add, Mul, Mul."""
    def mean(src, dst):
        if opset < 18:
            return [helper.make_node("ReduceMean", [src], [dst], axes=[-1], keepdims=1)]
        return [helper.make_node("ReduceMean", [src, "axes"], [dst], keepdims=1)]
    nodes = (mean("x", "m") + [helper.make_node("Sub", ["x", "m"], ["d"]),
                                helper.make_node("Pow", ["d", "two"], ["p"])] + mean("p", "v") +
             [helper.make_node("Add", ["v", "eps"], ["ve"]), helper.make_node("Sqrt", ["ve"], ["s"]),
              helper.make_node("Div", ["d", "s"], ["n"]), helper.make_node("Mul", ["n", "gamma"], ["t"]),
              helper.make_node("Add", ["t", "beta"], ["ln"]), helper.make_node("MatMul", ["ln", "w"], ["h"]),
              helper.make_node("Div", ["h", "sqrt2"], ["u"]), helper.make_node("Erf", ["u"], ["e"]),
              helper.make_node("Add", ["e", "one"], ["a"]), helper.make_node("Mul", ["h", "a"], ["g"]),
              helper.make_node("Mul", ["g", "half"], ["y"])])
    f32 = lambda v: np.array(v, np.float32)  # noqa: E731
    inits = {"two": f32(2.0), "eps": f32(1e-5), "gamma": f32(rng.standard_normal(16)),
             "beta": f32(rng.standard_normal(16)), "w": f32(rng.standard_normal((16, 24))),
             "sqrt2": f32(np.sqrt(2)), "one": f32(1.0), "half": f32(0.5)}
    if opset >= 18:
        inits["axes"] = np.array([-1], np.int64)
    model = make_model(nodes, [vi("x", ["n", 7, 16])], [vi("y", ["n", 7, 24])], inits.items(), opset=opset)
    imported = load(model)
    x = f32(rng.standard_normal((3, 7, 16)) * 2 + 0.5)
    np.testing.assert_allclose(imported.predict(x), ort_outputs(model, {"x": x})[0], rtol=RTOL, atol=ATOL)
    stats = imported._get_executor(inference_only=True).stats()
    assert (stats["fused_layer_norms"], stats["fused_gelus"]) == (1, 1)
