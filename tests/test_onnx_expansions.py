"""ONNX ops the importer writes out as the engine ops they are made of (onnx/import.cpp):
Einsum (Transpose, Reshape, MatMul, ReduceSum, Mul), Hardmax (ArgMax, Equal, Cast),
GlobalMaxPool (ReduceMax), IsNaN and IsInf (Equal, Not, Or) and LpNormalization (ReduceL1 or
ReduceL2, Max, Div).
Forward against numpy in float64 and onnxruntime, Einsum's gradients against finite
differences, and the symbolic batch of engine.onnx.load."""
import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="onnx is not installed")
from onnx import TensorProto, helper  # noqa: E402

import engine  # noqa: E402
from engine import _core  # noqa: E402
from helpers import assert_close, numeric_grads  # noqa: E402

RTOL = 1e-5  # relative norm of the difference: sums of a few products in float32

EQUATIONS = [  # (equation, operand shapes): odd sizes, so a wrong axis cannot pass
    ("bhid,bhjd->bhij", [(2, 3, 7, 5), (2, 3, 13, 5)]),  # attention scores
    ("bhij,bhjd->bhid", [(2, 3, 7, 13), (2, 3, 13, 5)]),  # attention output
    ("bqhd,bkhd->bhqk", [(2, 7, 3, 5), (2, 11, 3, 5)]),
    ("ij,jk->ik", [(7, 5), (5, 13)]),
    ("ij,kj->ik", [(7, 5), (13, 5)]),
    ("bij, bjk -> bik", [(5, 2, 3), (5, 3, 4)]),
    ("bij,jk", [(2, 7, 5), (5, 3)]),  # implicit output: b, i, k
    ("ijk,ikl->jl", [(3, 7, 5), (3, 5, 2)]),
    ("ab,ab->a", [(7, 5), (7, 5)]),
    ("i,i", [(5,), (5,)]),
    ("i,j->ij", [(7,), (5,)]),
    ("...ij,...jk->...ik", [(2, 3, 7, 5), (2, 3, 5, 13)]),
    ("...ij,...jk->...ik", [(2, 1, 7, 5), (1, 3, 5, 13)]),  # broadcast batch dims
    # Ellipses of different ranks, as numpy broadcasts them (onnxruntime refuses these).
    ("...ij,...jk->...ik", [(2, 3, 7, 5), (3, 5, 13)]),
    ("...ij,...jk->...ik", [(7, 5), (2, 5, 13)]),
    ("...j,j", [(3, 4, 5), (5,)]),
    ("i,...->...i", [(3,), (2, 4)]),
    ("bn,anm,bm->ba", [(2, 3), (4, 3, 5), (2, 5)]),  # three operands
    ("ij->ji", [(7, 5)]),
    ("ijk->kji", [(2, 3, 4)]),
    ("ij->i", [(3, 4)]),
    ("ij->", [(7, 5)]),
    ("ii->i", [(7, 7)]),
    ("ii", [(7, 7)]),  # the trace
    ("iij->ji", [(4, 4, 3)]),
    ("...ii->...i", [(3, 5, 5)]),
    ("->", [()]),
]


def ranks_differ(equation, shapes):
    terms = equation.replace(" ", "").split("->")[0].split(",")
    extra = {len(s) - len(t.replace("...", "")) for t, s in zip(terms, shapes) if "..." in t}
    return len(extra) > 1


def einsum_model(equation, shapes, first_dim=None):
    def dims(shape):
        return [first_dim, *shape[1:]] if first_dim and shape else list(shape)
    inputs = [helper.make_tensor_value_info(f"x{k}", TensorProto.FLOAT, dims(s))
              for k, s in enumerate(shapes)]
    node = helper.make_node("Einsum", [f"x{k}" for k in range(len(shapes))], ["y"],
                            equation=equation)
    graph = helper.make_graph([node], "einsum", inputs,
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def reference(equation):
    return lambda *xs: np.einsum(equation.replace(" ", ""), *xs)


def draw(rng, shapes):
    return [rng.standard_normal(s).astype(np.float32) for s in shapes]


@pytest.mark.parametrize("equation,shapes", EQUATIONS, ids=[e for e, _ in EQUATIONS])
def test_einsum_matches_numpy_and_onnxruntime(equation, shapes, rng):
    xs = draw(rng, shapes)
    model = einsum_model(equation, shapes).SerializeToString()
    feed = {f"x{k}": x for k, x in enumerate(xs)}
    (y,) = engine.onnx.InferenceSession(model).run(None, feed)
    want = reference(equation)(*[x.astype(np.float64) for x in xs])
    assert y.shape == want.shape
    assert_close(y, want, RTOL)
    if ranks_differ(equation, shapes):
        return
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
    (theirs,) = ort.InferenceSession(model, providers=["CPUExecutionProvider"]).run(None, feed)
    assert_close(y, theirs.astype(np.float64), RTOL)


@pytest.mark.parametrize("equation,shapes", [e for e in EQUATIONS if e[0] != "->"],
                         ids=[e for e, _ in EQUATIONS if e != "->"])
def test_einsum_gradients_match_finite_differences(equation, shapes, rng):
    xs = draw(rng, shapes)
    model = einsum_model(equation, shapes).SerializeToString()
    graph, _ = _core.onnx_import(model, None, {f"x{k}": s for k, s in enumerate(shapes)})
    executor = _core.Executor(graph)
    f = reference(equation)
    dy = rng.standard_normal(np.shape(f(*xs))).astype(np.float32)
    grads = executor.gradients(xs, "y", dy)
    for k, want in enumerate(numeric_grads(f, xs, dy)):
        assert_close(grads[f"x{k}"], want, RTOL)


def test_einsum_follows_the_symbolic_batch(rng):
    # Attention scores with the batch open: the one model runs at two batch sizes.
    shapes = [(2, 3, 7, 5), (2, 3, 13, 5)]
    model = engine.onnx.load(einsum_model("bhid,bhjd->bhij", shapes, "N").SerializeToString())
    for n in (2, 5):
        xs = draw(rng, [(n, *s[1:]) for s in shapes])
        y = model.predict(xs, verbose=0)
        assert_close(y, np.einsum("bhid,bhjd->bhij", *[x.astype(np.float64) for x in xs]), RTOL)


@pytest.mark.parametrize("equation,shapes,match", [
    ("ij,jk->ik", [(7, 5)], r"names 2 operands, the node has 1"),
    ("ijk->i", [(7, 5)], r"operand 0 has rank 2"),
    ("ij->ik", [(7, 5)], r"output label 'k' that no operand has"),
    ("i1->i", [(7, 5)], r"has '1' where a letter"),
    ("ij->ii", [(7, 5)], r"repeats an output label"),
])
def test_einsum_rejects_bad_equations(equation, shapes, match):
    with pytest.raises(ValueError, match=match):
        engine.onnx.load(einsum_model(equation, shapes).SerializeToString())


# ---- Hardmax -----------------------------------------------------------------------------------

def hardmax_ref(x, axis, opset):
    """The one-hot of the first maximum along `axis`; before opset 13 over x as 2-D [the dims
    before axis, the dims from it on]."""
    shape = x.shape
    if opset < 13:
        x = x.reshape(int(np.prod(shape[:axis])), -1)
        axis = 1
    hot = np.moveaxis(np.eye(x.shape[axis])[np.argmax(x, axis=axis)], -1, axis)
    return hot.reshape(shape)


def hardmax_model(shape, opset, **attrs):
    node = helper.make_node("Hardmax", ["x"], ["y"], **attrs)
    graph = helper.make_graph([node], "hardmax",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


@pytest.mark.parametrize("opset,axis", [(13, None), (13, 0), (13, 1), (13, -2), (11, None),
                                        (11, 2), (11, 0)])
def test_hardmax_matches_numpy_and_onnxruntime(opset, axis, rng):
    attrs = {} if axis is None else {"axis": axis}
    # Rounded draws, so that some rows hold their maximum twice (the first one wins).
    x = np.round(rng.standard_normal((3, 7, 5)), 1).astype(np.float32)
    model = hardmax_model(list(x.shape), opset, **attrs).SerializeToString()
    (y,) = engine.onnx.InferenceSession(model).run(None, {"x": x})
    default = -1 if opset >= 13 else 1
    want = hardmax_ref(x, (default if axis is None else axis) % 3, opset)
    np.testing.assert_array_equal(y, want)
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
    (theirs,) = ort.InferenceSession(model, providers=["CPUExecutionProvider"]).run(None, {"x": x})
    np.testing.assert_array_equal(y, theirs)


@pytest.mark.parametrize("opset", [11, 13])
def test_hardmax_follows_the_symbolic_batch(opset, rng):
    model = engine.onnx.load(hardmax_model(["N", 7, 5], opset, axis=1).SerializeToString())
    for n in (2, 5):
        x = rng.standard_normal((n, 7, 5)).astype(np.float32)
        np.testing.assert_array_equal(model.predict(x, verbose=0), hardmax_ref(x, 1, opset))


def test_hardmax_rejects_an_axis_out_of_range():
    with pytest.raises(ValueError, match=r"Hardmax.*axis 3 is out of range for rank 3"):
        engine.onnx.load(hardmax_model(["N", 7, 5], 13, axis=3).SerializeToString())


# ---- GlobalMaxPool -----------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(2, 3, 7), (2, 3, 7, 5), (2, 3, 4, 7, 5)], ids=str)
def test_global_max_pool_matches_numpy_and_its_gradient_goes_to_the_maximum(shape, rng):
    node = helper.make_node("GlobalMaxPool", ["x0"], ["y"])
    graph = helper.make_graph([node], "gmp",
                              [helper.make_tensor_value_info("x0", TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    x = rng.standard_normal(shape).astype(np.float32)
    axes = tuple(range(2, len(shape)))
    (y,) = engine.onnx.InferenceSession(model.SerializeToString()).run(None, {"x0": x})
    np.testing.assert_array_equal(y, x.max(axis=axes, keepdims=True))
    graph, _ = _core.onnx_import(model.SerializeToString(), None, {"x0": shape})
    dy = rng.standard_normal(y.shape).astype(np.float32)
    grads = _core.Executor(graph).gradients([x], "y", dy)
    want = numeric_grads(lambda v: v.max(axis=axes, keepdims=True), [x], dy)[0]
    assert_close(grads["x0"], want, RTOL)


# ---- IsNaN, IsInf, LpNormalization -------------------------------------------------------------

def one_node(op, shape, opset, **attrs):
    node = helper.make_node(op, ["x0"], ["y"], **attrs)
    graph = helper.make_graph([node], op,
                              [helper.make_tensor_value_info("x0", TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


SPECIALS = np.array([[1.5, np.nan, np.inf, -np.inf, 0.0, -2.0, -0.0],
                     [np.inf, 3.0, np.nan, -1.0, -np.inf, 7.0, np.inf]], np.float32)


@pytest.mark.parametrize("op,attrs,ref", [
    ("IsNaN", {}, np.isnan),
    ("IsInf", {}, np.isinf),
    ("IsInf", {"detect_negative": 0}, np.isposinf),
    ("IsInf", {"detect_positive": 0}, np.isneginf),
    ("IsInf", {"detect_negative": 0, "detect_positive": 0}, lambda x: np.zeros(x.shape, bool)),
], ids=["isnan", "isinf", "isinf-positive", "isinf-negative", "isinf-neither"])
def test_float_classes_match_numpy(op, attrs, ref):
    model = one_node(op, list(SPECIALS.shape), 20, **attrs).SerializeToString()
    (y,) = engine.onnx.InferenceSession(model).run(None, {"x0": SPECIALS})
    assert y.dtype == np.bool_
    np.testing.assert_array_equal(y, ref(SPECIALS))


@pytest.mark.parametrize("p,axis", [(2, -1), (1, 0), (2, 1), (1, -1)])
def test_lp_normalization_matches_numpy_and_finite_differences(p, axis, rng):
    x = rng.standard_normal((3, 7, 5)).astype(np.float32)
    x[1, :, 2] = 0.0  # a row of zeros along axis 1 stays 0 (its norm is 0)
    model = one_node("LpNormalization", list(x.shape), 17, p=p, axis=axis).SerializeToString()

    def ref(v):
        norm = np.linalg.norm(v, ord=p, axis=axis, keepdims=True)
        return np.where(norm == 0, 0.0, v / np.where(norm == 0, 1.0, norm))
    (y,) = engine.onnx.InferenceSession(model).run(None, {"x0": x})
    assert_close(y, ref(x.astype(np.float64)), RTOL)
    if axis != 1:  # finite differences away from the zero row's kink
        graph, _ = _core.onnx_import(model, None, {"x0": x.shape})
        dy = rng.standard_normal(y.shape).astype(np.float32)
        grads = _core.Executor(graph).gradients([x], "y", dy)
        assert_close(grads["x0"], numeric_grads(ref, [x], dy)[0], 1e-4)


# ---- antialiased Resize of several dims: one Resize per dim --------------------------------

@pytest.mark.parametrize("mode,amount", [("linear", {"scales": [1, 1, 0.17, 0.3]}),
                                         ("cubic", {"scales": [1, 1, 0.21, 0.4]}),
                                         ("cubic", {"sizes": [2, 3, 5, 11]}),
                                         ("linear", {"sizes": [9, 4], "axes": [3, 2]})])
def test_strong_antialiased_downscaling_matches_onnxruntime_and_the_reference(mode, amount, rng):
    """Downscaling 2 dims by 3-6x reads about 100-600 elements per output in one pass, more
    than the op's taps; the importer resizes one dim after the other (ONNX's definition)."""
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is a test extra")
    from onnx.reference import ReferenceEvaluator

    x = rng.standard_normal((2, 3, 23, 29)).astype(np.float32)
    given = "scales" if "scales" in amount else "sizes"
    values = np.array(amount[given], np.float32 if given == "scales" else np.int64)
    attrs = {"axes": amount["axes"]} if "axes" in amount else {}
    node = helper.make_node("Resize", ["x", "", "scales" if given == "scales" else "", "sizes" if given == "sizes"
                                       else ""], ["y"], mode=mode, antialias=1, **attrs)
    graph = helper.make_graph([node], "resize", [helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                              [onnx.numpy_helper.from_array(values, given)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=8)
    (y,) = engine.onnx.InferenceSession(model.SerializeToString()).run(None, {"x": x})
    (want,) = ReferenceEvaluator(model).run(None, {"x": x})
    (theirs,) = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(
        None, {"x": x})
    assert y.shape == want.shape
    assert_close(y, want, RTOL, what="against onnx.reference")
    assert_close(y, theirs, RTOL, what="against onnxruntime")
