"""The core graph IR and executor driven directly: validation, planning, gradients."""
import numpy as np
import pytest

from engine import _core
from helpers import assert_close


def mlp_graph(rng, trainable=True):
    g = _core.Graph()
    g.add_input("x", [-1, 5])
    g.set_initializer("w1", rng.standard_normal((5, 7)).astype(np.float32), trainable)
    g.set_initializer("b1", rng.standard_normal(7).astype(np.float32), trainable)
    g.set_initializer("w2", rng.standard_normal((7, 3)).astype(np.float32), trainable)
    g.add_node("Gemm", ["x", "w1", "b1"], ["h"], name="dense1")
    g.add_node("Tanh", ["h"], ["a"], name="act1")
    g.add_node("MatMul", ["a", "w2"], ["y"], name="dense2")
    g.add_output("y")
    return g


def test_forward_matches_numpy(rng):
    g = mlp_graph(rng)
    ex = _core.Executor(g)
    x = rng.standard_normal((9, 5)).astype(np.float32)
    (y,) = ex.run([x])
    w1, b1, w2 = (g.initializer(n).astype(np.float64) for n in ("w1", "b1", "w2"))
    assert_close(y, np.tanh(x @ w1 + b1) @ w2, 1e-5)


def test_gradients_match_numpy(rng):
    g = mlp_graph(rng)
    ex = _core.Executor(g)
    x = rng.standard_normal((4, 5)).astype(np.float32)
    seed = rng.standard_normal((4, 3)).astype(np.float32)
    grads = ex.gradients([x], "y", seed)
    w1, b1, w2 = (g.initializer(n).astype(np.float64) for n in ("w1", "b1", "w2"))
    h = x @ w1 + b1
    a = np.tanh(h)
    dh = (seed @ w2.T) * (1 - a**2)
    assert_close(grads["w2"], a.T @ seed, 1e-5)
    assert_close(grads["w1"], x.T @ dh, 1e-5)
    assert_close(grads["b1"], dh.sum(0), 1e-5)
    assert_close(grads["x"], dh @ w1.T, 1e-5)


def test_train_step_with_a_loss_node(rng):
    g = mlp_graph(rng)
    g.add_input("labels", [-1], "int64")
    g.add_node("SoftmaxCrossEntropy", ["y", "labels"], ["loss"], name="loss", domain="engine")
    ex = _core.Executor(g)
    x = rng.standard_normal((6, 5)).astype(np.float32)
    labels = rng.integers(0, 3, 6).astype(np.int64)
    loss, (y,) = ex.train_step([x, labels], "loss", fetch=["y"])
    z = y.astype(np.float64)
    logp = z - np.log(np.exp(z - z.max(1, keepdims=True)).sum(1, keepdims=True)) - z.max(1, keepdims=True)
    assert loss == pytest.approx(-logp[np.arange(6), labels].mean(), rel=1e-5)
    grads = ex.gradients([x, labels], "loss", np.ones((), np.float32))
    assert_close(ex.gradient("w2"), grads["w2"], 1e-6)
    assert "labels" not in grads


def test_frozen_parameters_get_no_gradient(rng):
    g = mlp_graph(rng)
    g.set_trainable("w1", False)
    ex = _core.Executor(g)
    grads = ex.gradients([np.ones((2, 5), np.float32)], "y", np.ones((2, 3), np.float32))
    assert set(grads) == {"x", "b1", "w2"}


def test_value_used_twice_sums_its_gradients(rng):
    g = _core.Graph()
    g.add_input("x", [-1, 4])
    g.add_node("Mul", ["x", "x"], ["sq"])
    g.add_node("Add", ["sq", "x"], ["y"])
    g.add_output("y")
    ex = _core.Executor(g)
    x = rng.standard_normal((3, 4)).astype(np.float32)
    seed = rng.standard_normal((3, 4)).astype(np.float32)
    grads = ex.gradients([x], "y", seed)
    assert_close(grads["x"], seed * (2 * x.astype(np.float64) + 1), 1e-6)


def test_invalid_graph_reports_every_problem_at_once():
    g = _core.Graph()
    g.add_input("x", [-1, 4])
    g.add_node("Frobnicate", ["x"], ["a"], name="f1")
    g.add_node("Relu", ["missing"], ["b"], name="r1")
    g.add_node("Relu", ["x"], ["b"], name="r2")  # duplicate output name
    g.add_node("Swizzle", ["b"], ["c"], name="s1")
    g.add_output("nowhere")
    with pytest.raises(ValueError) as info:
        _core.Executor(g)
    msg = str(info.value)
    for part in ("5 problems", "unsupported op Frobnicate (node 'f1')", "unsupported op Swizzle (node 's1')",
                 "Relu 'r1' reads 'missing'", "duplicate value name 'b'", "graph output 'nowhere'"):
        assert part in msg, msg


def test_cycle_is_reported_with_its_nodes():
    g = _core.Graph()
    g.add_input("x", [2])
    g.add_node("Add", ["x", "c"], ["a"], name="n1")
    g.add_node("Relu", ["a"], ["c"], name="n2")
    g.add_output("a")
    with pytest.raises(ValueError, match="cycle through Add 'n1', Relu 'n2'"):
        _core.Executor(g)


def test_bad_attributes_name_the_node():
    g = _core.Graph()
    g.add_input("x", [1, 1, 5, 5])
    g.add_node("MaxPool", ["x"], ["y"], {"kernel_shape": [2, 2], "auto_pad": "SIDEWAYS"}, name="pool")
    g.add_output("y")
    with pytest.raises(ValueError, match="unknown auto_pad 'SIDEWAYS'"):
        _core.Executor(g)
    g = _core.Graph()
    g.add_input("x", [1, 3])
    g.add_node("Concat", ["x", "x"], ["y"], name="cat")
    g.add_output("y")
    with pytest.raises(ValueError, match="Concat 'cat': the axis attribute is required"):
        _core.Executor(g)


def test_shape_errors_name_the_node_and_shapes(rng):
    g = _core.Graph()
    g.add_input("x", [-1, 5])
    g.set_initializer("w", np.ones((6, 2), np.float32))
    g.add_node("Gemm", ["x", "w"], ["y"], name="dense")
    g.add_output("y")
    ex = _core.Executor(g)
    with pytest.raises(ValueError, match="Gemm 'dense': inner dimensions differ"):
        ex.run([np.ones((3, 5), np.float32)])


def test_input_checks():
    g = _core.Graph()
    g.add_input("x", [-1, 3])
    g.add_node("Relu", ["x"], ["y"])
    g.add_output("y")
    ex = _core.Executor(g)
    with pytest.raises(ValueError, match=r"input 'x' expects shape \[-1, 3\]"):
        ex.run([np.ones((2, 4), np.float32)])
    with pytest.raises(ValueError, match="takes 1 input"):
        ex.run([])
    with pytest.raises(TypeError, match="input 0 must be a float32 or int64 array, got dtype float64"):
        ex.run([np.ones((2, 3))])
    # Non-contiguous inputs are accepted (copied once).
    x = np.arange(12, dtype=np.float32).reshape(3, 4)[:, :3]
    np.testing.assert_array_equal(ex.run([x])[0], np.maximum(x, 0))


def test_unsupported_op_list_is_exposed():
    ops = _core.supported_ops()
    for op in ("Conv", "Gemm", "MatMul", "BatchNormalization", "Dropout", "Softmax", "engine.SoftmaxCrossEntropy"):
        assert op in ops


def conv_relu_graph(rng, extra_reader):
    g = _core.Graph()
    g.add_input("x", [-1, 3, 9, 9])
    g.set_initializer("w", rng.standard_normal((4, 3, 3, 3)).astype(np.float32), True)
    g.set_initializer("b", rng.standard_normal(4).astype(np.float32), True)
    g.add_node("Conv", ["x", "w", "b"], ["c"], {"pads": [1, 1, 1, 1]}, name="conv")
    g.add_node("Relu", ["c"], ["r"], name="relu")
    g.add_node("Flatten", ["r"], ["y"], {"axis": 1}, name="flat")
    g.add_output("y")
    if extra_reader:  # a second reader of the Conv output prevents the fusion
        g.add_node("Identity", ["c"], ["c2"])
        g.add_output("c2")
    return g


def test_relu_fused_into_conv_gives_the_same_values_and_gradients(rng):
    fused_graph = conv_relu_graph(np.random.default_rng(5), False)
    plain_graph = conv_relu_graph(np.random.default_rng(5), True)
    fused, plain = _core.Executor(fused_graph), _core.Executor(plain_graph)
    assert fused.stats()["fused_activations"] == 1
    assert plain.stats()["fused_activations"] == 0
    x = rng.standard_normal((2, 3, 9, 9)).astype(np.float32)
    np.testing.assert_allclose(fused.run([x])[0], plain.run([x])[0], rtol=1e-6, atol=1e-6)
    seed = rng.standard_normal((2, 4 * 81)).astype(np.float32)
    gf = fused.gradients([x], "y", seed)
    gp = plain.gradients([x], "y", seed)
    for name in ("x", "w", "b"):
        assert_close(gf[name], gp[name], 1e-6, name)


def erf_gelu_graph(grouping, half=0.5, expose=None):
    """x -> [Linear] -> GELU written with Erf as exporters without a Gelu op write it."""
    g = _core.Graph()
    g.add_input("x", [-1, 7])
    g.set_initializer("w", np.random.default_rng(3).standard_normal((7, 5)).astype(np.float32), True)
    for name, value in (("sqrt2", np.sqrt(2.0)), ("inv_sqrt2", np.sqrt(0.5)), ("one", 1.0), ("half", half)):
        g.set_initializer(name, np.array(value, np.float32), False)
    g.add_node("MatMul", ["x", "w"], ["h"])
    if grouping == "div":  # ((h * erf(h / sqrt2) + 1)) * 0.5
        g.add_node("Div", ["h", "sqrt2"], ["u"])
        g.add_node("Erf", ["u"], ["e"])
        g.add_node("Add", ["e", "one"], ["a"])
        g.add_node("Mul", ["h", "a"], ["m"])
        g.add_node("Mul", ["m", "half"], ["y"])
    elif grouping == "half-first":  # (h * 0.5) * (1 + erf(h * 1/sqrt2))
        g.add_node("Mul", ["h", "inv_sqrt2"], ["u"])
        g.add_node("Erf", ["u"], ["e"])
        g.add_node("Add", ["one", "e"], ["a"])
        g.add_node("Mul", ["h", "half"], ["m"])
        g.add_node("Mul", ["m", "a"], ["y"])
    else:  # h * ((1 + erf(1/sqrt2 * h)) * 0.5)
        g.add_node("Mul", ["inv_sqrt2", "h"], ["u"])
        g.add_node("Erf", ["u"], ["e"])
        g.add_node("Add", ["e", "one"], ["a"])
        g.add_node("Mul", ["a", "half"], ["m"])
        g.add_node("Mul", ["h", "m"], ["y"])
    g.add_output("y")
    if expose:
        g.add_output(expose)
    return g


@pytest.mark.parametrize("grouping", ["div", "half-first", "half-last"])
def test_erf_gelu_patterns_run_as_one_gelu(grouping, rng):
    from scipy.special import erf
    fused = _core.Executor(erf_gelu_graph(grouping))
    plain = _core.Executor(erf_gelu_graph(grouping, expose="a"))  # a graph output blocks it
    assert fused.stats()["fused_gelus"] == 1
    assert plain.stats()["fused_gelus"] == 0
    x = rng.standard_normal((9, 7)).astype(np.float32) * 2
    h = x.astype(np.float64) @ np.random.default_rng(3).standard_normal((7, 5)).astype(np.float32)
    want = 0.5 * h * (1 + erf(h / np.sqrt(2)))
    assert_close(fused.run([x])[0], want, 1e-5, "y")
    assert_close(plain.run([x])[0], want, 1e-5, "y")
    seed = rng.standard_normal((9, 5)).astype(np.float32)
    gf, gp = fused.gradients([x], "y", seed), plain.gradients([x], "y", seed)
    for name in ("x", "w"):
        assert_close(gf[name], gp[name], 1e-5, name)


def test_erf_gelu_pattern_needs_its_constants(rng):
    from scipy.special import erf
    ex = _core.Executor(erf_gelu_graph("div", half=0.6))
    assert ex.stats()["fused_gelus"] == 0
    x = rng.standard_normal((4, 7)).astype(np.float32)
    h = x.astype(np.float64) @ np.random.default_rng(3).standard_normal((7, 5)).astype(np.float32)
    assert_close(ex.run([x])[0], 0.6 * h * (1 + erf(h / np.sqrt(2))), 1e-5, "y")


def gated_graph(gate, attrs=None, swap=False, expose=None):
    """x -> [Linear] -> h * gate(h), as exporters write SiLU (Sigmoid) and HardSwish (HardSigmoid
    with alpha 1/6) without the one op."""
    g = _core.Graph()
    g.add_input("x", [-1, 7])
    g.set_initializer("w", np.random.default_rng(3).standard_normal((7, 5)).astype(np.float32), True)
    g.add_node("MatMul", ["x", "w"], ["h"])
    g.add_node(gate, ["h"], ["s"], attrs or {})
    g.add_node("Mul", ["s", "h"] if swap else ["h", "s"], ["y"])
    g.add_output("y")
    if expose:
        g.add_output(expose)
    return g


GATES = {  # gate, its attributes, the fused op's stats key, the fused function of h
    "silu": ("Sigmoid", None, "fused_swishes", lambda h: h / (1 + np.exp(-h))),
    "hard_swish": ("HardSigmoid", {"alpha": 1 / 6, "beta": 0.5}, "fused_hard_swishes",
                   lambda h: h * np.clip(h / 6 + 0.5, 0, 1)),
}


@pytest.mark.parametrize("swap", [False, True])
@pytest.mark.parametrize("name", sorted(GATES))
def test_gated_activations_run_as_one_op(name, swap, rng):
    gate, attrs, key, ref = GATES[name]
    fused = _core.Executor(gated_graph(gate, attrs, swap))
    plain = _core.Executor(gated_graph(gate, attrs, swap, expose="s"))  # a graph output blocks it
    assert fused.stats()[key] == 1
    assert plain.stats()[key] == 0
    x = rng.standard_normal((9, 7)).astype(np.float32)
    h = x.astype(np.float64) @ np.random.default_rng(3).standard_normal((7, 5)).astype(np.float32)
    assert_close(fused.run([x])[0], ref(h), 1e-5, "y")
    assert_close(plain.run([x])[0], ref(h), 1e-5, "y")
    seed = rng.standard_normal((9, 5)).astype(np.float32)
    gf, gp = fused.gradients([x], "y", seed), plain.gradients([x], "y", seed)
    for value in ("x", "w"):
        assert_close(gf[value], gp[value], 1e-5, value)


def test_gated_patterns_need_their_gate(rng):
    """HardSigmoid with other constants, or a Mul by something other than the gate's input,
    stays as written."""
    assert _core.Executor(gated_graph("HardSigmoid", {"alpha": 0.2, "beta": 0.5})).stats()["fused_hard_swishes"] == 0
    g = _core.Graph()
    g.add_input("x", [-1, 7])
    g.add_input("z", [-1, 7])
    g.add_node("Sigmoid", ["x"], ["s"])
    g.add_node("Mul", ["z", "s"], ["y"])
    g.add_output("y")
    ex = _core.Executor(g)
    assert ex.stats()["fused_swishes"] == 0
    x, z = rng.standard_normal((3, 7)).astype(np.float32), rng.standard_normal((3, 7)).astype(np.float32)
    assert_close(ex.run([x, z])[0], z / (1 + np.exp(-x.astype(np.float64))), 1e-6, "y")


def layer_norm_chain_graph(axes=(-1,), square="Pow", bias=True, scale_shape=None, expose=None):
    """x [-1, 3, 6] -> LayerNormalization written out as exporters before opset 17 write it."""
    rng = np.random.default_rng(4)
    norm_shape = (3, 6)[len((3, 6)) - len(axes):]
    g = _core.Graph()
    g.add_input("x", [-1, 3, 6])
    g.set_initializer("gamma", rng.standard_normal(scale_shape or norm_shape).astype(np.float32), True)
    g.set_initializer("beta", rng.standard_normal(norm_shape).astype(np.float32), True)
    g.set_initializer("eps", np.array(1e-3, np.float32), False)
    g.set_initializer("two", np.array(2.0, np.float32), False)
    def mean(src, dst):
        g.set_initializer(dst + "_axes", np.array(axes, np.int64), False)
        g.add_node("ReduceMean", [src, dst + "_axes"], [dst], {"keepdims": 1})
    mean("x", "m")
    g.add_node("Sub", ["x", "m"], ["d"])
    g.add_node(square, ["d", "two" if square == "Pow" else "d"], ["p"])
    mean("p", "v")
    g.add_node("Add", ["v", "eps"], ["ve"])
    g.add_node("Sqrt", ["ve"], ["s"])
    g.add_node("Div", ["d", "s"], ["n"])
    g.add_node("Mul", ["n", "gamma"], ["t"] if bias else ["y"])
    if bias:
        g.add_node("Add", ["t", "beta"], ["y"])
    g.add_output("y")
    if expose:
        g.add_output(expose)
    return g


def layer_norm_numpy(x, axes, gamma, beta):
    x = x.astype(np.float64)
    m = x.mean(axis=axes, keepdims=True)
    v = ((x - m) ** 2).mean(axis=axes, keepdims=True)
    y = (x - m) / np.sqrt(v + 1e-3) * gamma
    return y if beta is None else y + beta


@pytest.mark.parametrize("axes, square, bias", [((-1,), "Pow", True), ((-1,), "Mul", False), ((-1, -2), "Pow", True)])
def test_layer_norm_chains_run_as_one_layer_normalization(axes, square, bias, rng):
    fused = _core.Executor(layer_norm_chain_graph(axes, square, bias))
    plain = _core.Executor(layer_norm_chain_graph(axes, square, bias, expose="d"))
    assert fused.stats()["fused_layer_norms"] == 1
    assert plain.stats()["fused_layer_norms"] == 0
    x = rng.standard_normal((5, 3, 6)).astype(np.float32) * 3 + 1
    init = np.random.default_rng(4)
    norm_shape = (3, 6)[2 - len(axes):]
    gamma = init.standard_normal(norm_shape).astype(np.float32)
    beta = init.standard_normal(norm_shape).astype(np.float32) if bias else None
    want = layer_norm_numpy(x, tuple(sorted(axes)), gamma, beta)
    assert_close(fused.run([x])[0], want, 1e-5, "y")
    assert_close(plain.run([x])[0], want, 1e-5, "y")
    seed = rng.standard_normal(x.shape).astype(np.float32)
    gf, gp = fused.gradients([x], "y", seed), plain.gradients([x], "y", seed)
    for name in ("x", "gamma") + (("beta",) if bias else ()):
        assert_close(gf[name], gp[name], 1e-4, name)


@pytest.mark.parametrize("what", ["leading-axis", "broadcast-scale"])
def test_layer_norm_chains_that_differ_are_left_alone(what, rng):
    graph = (layer_norm_chain_graph(axes=(1,)) if what == "leading-axis"
             else layer_norm_chain_graph(scale_shape=(1,)))
    ex = _core.Executor(graph)
    assert ex.stats()["fused_layer_norms"] == 0
    x = rng.standard_normal((2, 3, 6)).astype(np.float32)
    init = np.random.default_rng(4)
    gamma = init.standard_normal((1,) if what == "broadcast-scale" else (6,)).astype(np.float32)
    beta = init.standard_normal(6).astype(np.float32)
    want = layer_norm_numpy(x, (1,) if what == "leading-axis" else (2,), gamma, beta)
    assert_close(ex.run([x])[0], want, 1e-5, "y")


def test_inference_plans_reuse_buffers_whose_values_are_dead(rng):
    """A chain of 6 layers needs two activation buffers, not six, at inference."""
    g = _core.Graph()
    g.add_input("x", [-1, 64])
    prev = "x"
    for i in range(6):
        g.set_initializer(f"w{i}", (rng.standard_normal((64, 64)) * 0.1).astype(np.float32), True)
        g.add_node("MatMul", [prev, f"w{i}"], [f"h{i}"])
        prev = f"h{i}"
    g.add_output(prev)
    ex = _core.Executor(g)
    x = rng.standard_normal((32, 64)).astype(np.float32)
    (y,) = ex.run([x])
    expected = x.astype(np.float64)
    for i in range(6):
        expected = expected @ g.initializer(f"w{i}").astype(np.float64)
    assert_close(y, expected, 1e-5)
    stats = ex.stats()
    assert stats["planned_bytes"] == 2 * 32 * 64 * 4  # two buffers in turn, the last holds the output
    # Training keeps every activation for the backward pass.
    ex.gradients([x], prev, np.ones((32, 64), np.float32))
    assert ex.stats()["planned_bytes"] > 6 * 32 * 64 * 4


def test_infer_shapes_plans_without_running(rng):
    g = conv_relu_graph(rng, extra_reader=False)
    ex = _core.Executor(g)
    shapes = {batch: ex.infer_shapes([(batch, 3, 9, 9)]) for batch in (1, 6)}
    assert ex.stats()["buffer_allocations"] == 0 and ex.stats()["plans"] == 0
    for batch, inferred in shapes.items():
        x = rng.standard_normal((batch, 3, 9, 9)).astype(np.float32)
        (y,) = ex.run([x])
        assert inferred["y"] == y.shape == (batch, 4 * 9 * 9) and inferred["x"] == x.shape
    with pytest.raises(ValueError, match=r"input 'x' expects shape \[-1, 3, 9, 9\]"):
        ex.infer_shapes([(2, 4, 9, 9)])
    free = _core.Graph()  # the channels left open: the Conv names the mismatch
    free.add_input("x", [-1, -1, 9, 9])
    free.set_initializer("w", rng.standard_normal((4, 3, 3, 3)).astype(np.float32), True)
    free.add_node("Conv", ["x", "w"], ["y"], name="conv")
    free.add_output("y")
    with pytest.raises(ValueError, match="Conv 'conv'.*input channels"):
        _core.Executor(free).infer_shapes([(2, 5, 9, 9)])
