"""ONNX Attention (opsets 23-25), RotaryEmbedding (opset 23), AffineGrid (opset 20) and
LinearAttention (opset 27), which the importer writes out as the engine ops they are made of
(onnx/attention.cpp, onnx/affine_grid.cpp, onnx/linear_attention.cpp): one-node models of odd
sizes against float64 numpy references written from the ONNX definitions and against
onnxruntime, the symbolic batch, gradients against finite differences, and one SGD step of a
model whose Q, K and V come from trainable MatMul weights against the same step in PyTorch."""
import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="onnx is not installed")
from onnx import TensorProto, helper  # noqa: E402

import engine  # noqa: E402
from engine import _core  # noqa: E402
from helpers import assert_close, numeric_grads  # noqa: E402

RTOL = 1e-5  # relative norm of the difference: float32 sums of a few dozen products


# ---- float64 references from the ONNX definitions -------------------------------------------

def attention_ref(q, k, v, mask=None, past_key=None, past_value=None, nonpad=None, *,
                  is_causal=0, scale=None, softcap=0.0, q_num_heads=None, kv_num_heads=None,
                  qk_matmul_output_mode=0, left_window_size=-1, right_window_size=-1, **_):
    """(Y, present_key, present_value, qk_matmul_output) in float64."""
    q, k, v = (np.asarray(x, np.float64) for x in (q, k, v))
    rank = q.ndim
    if rank == 3:
        def heads(x, h):
            b, s, hidden = x.shape
            return x.reshape(b, s, h, hidden // h).transpose(0, 2, 1, 3)
        q, k, v = heads(q, q_num_heads), heads(k, kv_num_heads), heads(v, kv_num_heads)
    past = 0
    if past_key is not None:
        past = past_key.shape[2]
        k = np.concatenate([past_key.astype(np.float64), k], axis=2)
        v = np.concatenate([past_value.astype(np.float64), v], axis=2)
    present_k, present_v = k, v
    b, hq, sq, d = q.shape
    total = k.shape[2]
    scale = 1 / np.sqrt(d) if scale is None else scale
    group = hq // k.shape[1]
    k, v = np.repeat(k, group, axis=1), np.repeat(v, group, axis=1)
    scores = q @ k.transpose(0, 1, 3, 2) * scale
    capped = softcap * np.tanh(scores / softcap) if softcap > 0 else scores
    # The bias: the mask (bool as 0 / -inf), padded with -inf to the total length, then -inf
    # where the causal frontier or the window around i + offset excludes a key.
    bias = np.zeros((1, 1, sq, total))
    if mask is not None:
        m = np.where(mask, 0.0, -np.inf) if mask.dtype == bool else mask.astype(np.float64)
        m = np.concatenate([m, np.full(m.shape[:-1] + (total - m.shape[-1],), -np.inf)], -1)
        bias = bias + m
    offset = (np.asarray(nonpad) - sq).reshape(-1, 1, 1, 1) if nonpad is not None else past
    i = np.arange(sq).reshape(sq, 1)
    j = np.arange(total).reshape(1, total)
    allowed = np.ones((1, 1, sq, total), bool)
    if is_causal:
        allowed = allowed & (j <= i + offset)
    if left_window_size >= 0:
        allowed = allowed & (i + offset - j <= left_window_size)
    if right_window_size >= 0:
        allowed = allowed & (j - i - offset <= right_window_size)
    if nonpad is not None:
        allowed = allowed & (j < np.asarray(nonpad).reshape(-1, 1, 1, 1))
    bias = np.where(allowed, bias, -np.inf)
    logits = capped + bias
    empty = np.isneginf(bias.max(-1, keepdims=True))
    safe = np.where(empty, 0.0, logits)
    e = np.exp(safe - safe.max(-1, keepdims=True))
    probs = np.where(empty, 0.0, e / e.sum(-1, keepdims=True))
    y = probs @ v
    if rank == 3:
        y = y.transpose(0, 2, 1, 3).reshape(b, sq, -1)
    qk = [scores, capped, logits, probs][qk_matmul_output_mode]
    return y, present_k, present_v, np.broadcast_to(qk, (b, hq, sq, total))


def rotary_ref(x, cos, sin, positions=None, *, interleaved=0, rotary_embedding_dim=0,
               num_heads=0):
    x = np.asarray(x, np.float64)
    shape = x.shape
    if x.ndim == 3:  # [B, S, H * D] -> [B, H, S, D]
        x = x.reshape(shape[0], shape[1], num_heads, -1).transpose(0, 2, 1, 3)
    rot = rotary_embedding_dim or x.shape[-1]
    if positions is not None:
        cos, sin = cos[positions], sin[positions]
    cos, sin = cos[:, None].astype(np.float64), sin[:, None].astype(np.float64)  # [B, 1, S, h]
    part = x[..., :rot]
    x1, x2 = (part[..., 0::2], part[..., 1::2]) if interleaved else np.split(part, 2, -1)
    real, imag = cos * x1 - sin * x2, sin * x1 + cos * x2
    if interleaved:
        rotated = np.stack([real, imag], -1).reshape(part.shape)
    else:
        rotated = np.concatenate([real, imag], -1)
    y = np.concatenate([rotated, x[..., rot:]], -1)
    if len(shape) == 3:
        y = y.transpose(0, 2, 1, 3).reshape(shape)
    return y


# ---- models ---------------------------------------------------------------------------------

def vi(name, dtype, shape):
    return helper.make_tensor_value_info(name, dtype, shape)


def one_node_model(op, inputs, attrs, outputs, opset, batch=None):
    """A model of one node over `inputs` ({name: array}, None for an omitted input), the
    first dim of each input named `batch` when given."""
    def dims(x):
        return [batch, *x.shape[1:]] if batch and x.ndim else list(x.shape)
    types = {np.dtype(bool): TensorProto.BOOL, np.dtype(np.int64): TensorProto.INT64}
    graph_inputs = [vi(n, types.get(x.dtype, TensorProto.FLOAT), dims(x))
                    for n, x in inputs.items() if x is not None]
    node = helper.make_node(op, [n if x is not None else "" for n, x in inputs.items()],
                            outputs, **attrs)
    graph = helper.make_graph([node], op.lower(), graph_inputs,
                              [vi(o, TensorProto.FLOAT, None) for o in outputs if o])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def run_both(model, feed, ort_too=True):
    data = model.SerializeToString()
    ours = engine.onnx.InferenceSession(data).run(None, feed)
    if not ort_too:
        return ours, None
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
    theirs = ort.InferenceSession(data, providers=["CPUExecutionProvider"]).run(None, feed)
    return ours, theirs


def randn(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


def bool_mask(rng, shape, empty_row=False):
    m = rng.random(shape) < 0.7
    if empty_row:
        m[..., 1, :] = False  # a query row that attends nothing
    return m


# (id, Q, K, V shapes, attributes, mask, past length, nonpad lengths, opset, outputs,
#  onnxruntime comparable). Masks: None, or (dtype, shape, a fully masked row).
CASES = [
    ("4d", (2, 3, 5, 7), (2, 3, 9, 7), (2, 3, 9, 11), {}, None, 0, None, 23, 1, True),
    ("4d_scale_softcap", (2, 3, 5, 7), (2, 3, 9, 7), (2, 3, 9, 7),
     {"scale": 0.3, "softcap": 1.5}, None, 0, None, 23, 1, True),
    ("3d", (3, 5, 21), (3, 9, 21), (3, 9, 15), {"q_num_heads": 3, "kv_num_heads": 3}, None, 0,
     None, 23, 1, True),
    ("3d_gqa_causal", (2, 9, 42), (2, 9, 14), (2, 9, 10),
     {"q_num_heads": 6, "kv_num_heads": 2, "is_causal": 1}, None, 0, None, 23, 1, True),
    ("4d_gqa_float_mask_causal", (2, 6, 5, 7), (2, 2, 9, 7), (2, 2, 9, 5), {"is_causal": 1},
     ("float", (5, 9), False), 0, None, 23, 1, True),
    ("4d_bool_mask_broadcast", (2, 3, 5, 7), (2, 3, 9, 7), (2, 3, 9, 7), {},
     ("bool", (2, 1, 5, 9), True), 0, None, 23, 1, True),
    ("4d_bool_mask_3d_causal", (2, 3, 5, 7), (2, 3, 9, 7), (2, 3, 9, 7), {"is_causal": 1},
     ("bool", (3, 5, 9), False), 0, None, 23, 1, True),
    ("4d_float_mask_empty_row", (2, 3, 5, 7), (2, 3, 9, 7), (2, 3, 9, 7), {},
     ("float", (2, 3, 5, 9), True), 0, None, 23, 1, True),
    ("3d_past_causal_mask_qk0", (2, 3, 28), (2, 3, 14), (2, 3, 6),
     {"q_num_heads": 4, "kv_num_heads": 2, "is_causal": 1, "qk_matmul_output_mode": 0},
     ("float", (3, 10), False), 7, None, 23, 4, True),
    ("4d_past_softcap_qk1", (2, 4, 3, 7), (2, 2, 5, 7), (2, 2, 5, 9),
     {"softcap": 2.0, "qk_matmul_output_mode": 1}, ("float", (2, 1, 3, 11), False), 6, None, 23,
     4, True),
    ("4d_past_qk2", (2, 3, 3, 7), (2, 3, 5, 7), (2, 3, 5, 7), {"qk_matmul_output_mode": 2},
     ("float", (3, 11), False), 6, None, 23, 4, True),
    ("4d_bool_empty_row_qk3", (2, 3, 5, 7), (2, 3, 9, 7), (2, 3, 9, 7),
     {"qk_matmul_output_mode": 3}, ("bool", (5, 9), True), 0, None, 23, 4, True),
    ("4d_gqa_nonpad_causal", (2, 4, 3, 7), (2, 2, 9, 7), (2, 2, 9, 5), {"is_causal": 1}, None, 0,
     [4, 9], 24, 1, True),
    ("4d_nonpad_mask", (2, 3, 5, 7), (2, 3, 9, 7), (2, 3, 9, 7), {},
     ("float", (2, 3, 5, 9), False), 0, [6, 9], 24, 1, True),
    ("4d_nonpad_short_causal", (1, 2, 5, 7), (1, 2, 9, 7), (1, 2, 9, 7), {"is_causal": 1}, None,
     0, [3], 24, 1, True),  # nonpad < Sq: the leading rows attend nothing
    ("4d_window_causal_past", (2, 3, 5, 7), (2, 3, 4, 7), (2, 3, 4, 7),
     {"is_causal": 1, "left_window_size": 2}, None, 6, None, 25, 1, True),
    ("4d_window_both", (2, 3, 7, 5), (2, 3, 7, 5), (2, 3, 7, 5),
     {"left_window_size": 1, "right_window_size": 2}, None, 0, None, 25, 1, True),
    # A mask shorter than the keys, which the definition pads with -inf (onnxruntime refuses
    # it: it needs the whole length).
    ("4d_short_bool_mask", (2, 3, 5, 7), (2, 3, 9, 7), (2, 3, 9, 7), {},
     ("bool", (5, 6), False), 0, None, 23, 1, False),
    ("3d_short_float_mask_past", (2, 5, 21), (2, 4, 21), (2, 4, 21),
     {"q_num_heads": 3, "kv_num_heads": 3, "is_causal": 1}, ("float", (5, 8), False), 6, None,
     23, 4, False),
]


def case_inputs(rng, case):
    _, qs, ks, vs, attrs, mask, past, nonpad, _, _, _ = case
    inputs = {"Q": randn(rng, *qs), "K": randn(rng, *ks), "V": randn(rng, *vs), "attn_mask": None,
              "past_key": None, "past_value": None}
    if mask is not None:
        kind, shape, empty = mask
        if kind == "bool":
            inputs["attn_mask"] = bool_mask(rng, shape, empty)
        else:
            m = randn(rng, *shape)
            if empty:
                m[..., 1, :] = -np.inf
            inputs["attn_mask"] = m
    if past:
        b = qs[0]
        kv_heads = ks[1] if len(ks) == 4 else attrs["kv_num_heads"]
        dk = ks[-1] if len(ks) == 4 else ks[-1] // kv_heads
        dv = vs[-1] if len(vs) == 4 else vs[-1] // kv_heads
        inputs["past_key"] = randn(rng, b, kv_heads, past, dk)
        inputs["past_value"] = randn(rng, b, kv_heads, past, dv)
    if nonpad is not None:
        inputs["nonpad_kv_seqlen"] = np.array(nonpad, np.int64)
    while list(inputs)[-1] != "V" and inputs[list(inputs)[-1]] is None:
        inputs.pop(list(inputs)[-1])
    return inputs


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_attention_matches_the_definition_and_onnxruntime(case, rng):
    _, _, _, _, attrs, _, _, _, opset, n_out, ort_too = case
    inputs = case_inputs(rng, case)
    outputs = ["Y", "present_key", "present_value", "qk"][:n_out]
    model = one_node_model("Attention", inputs, attrs, outputs, opset)
    feed = {n: x for n, x in inputs.items() if x is not None}
    ours, theirs = run_both(model, feed, ort_too)
    want = attention_ref(*inputs.values(), **attrs)
    for k, (got, ref) in enumerate(zip(ours, want)):
        ref = np.where(np.isneginf(ref), 0.0, ref)  # (mode 2: -inf where masked, checked below)
        assert_close(np.where(np.isneginf(got), 0.0, got), ref, RTOL, what=outputs[k])
        if theirs is not None:
            np.testing.assert_allclose(got, theirs[k], rtol=1e-4, atol=1e-5, err_msg=outputs[k])
    if n_out == 4 and attrs.get("qk_matmul_output_mode") == 2:
        np.testing.assert_array_equal(np.isneginf(ours[3]), np.isneginf(want[3]))


def test_a_fully_masked_row_gives_zeros_as_onnxruntime_does(rng):
    q, k, v = randn(rng, 1, 2, 3, 5), randn(rng, 1, 2, 4, 5), randn(rng, 1, 2, 4, 5)
    mask = np.array([[True, False, True, False], [False] * 4, [True] * 4])
    inputs = {"Q": q, "K": k, "V": v, "attn_mask": mask}
    model = one_node_model("Attention", inputs, {"qk_matmul_output_mode": 3}, ["Y", "", "", "qk"],
                           23)
    ours, theirs = run_both(model, inputs)
    assert np.all(ours[0][:, :, 1] == 0) and np.all(ours[1][:, :, 1] == 0)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_attention_follows_the_symbolic_batch(rng):
    # GQA, causal, a bool mask and padding lengths, with the batch open: one model, two
    # batch sizes.
    inputs = {"Q": randn(rng, 2, 7, 24), "K": randn(rng, 2, 7, 12), "V": randn(rng, 2, 7, 6),
              "attn_mask": bool_mask(rng, (2, 1, 7, 7)), "past_key": None, "past_value": None,
              "nonpad_kv_seqlen": np.array([5, 7], np.int64)}
    attrs = {"q_num_heads": 4, "kv_num_heads": 2, "is_causal": 1}
    model = one_node_model("Attention", inputs, attrs, ["Y"], 24, batch="N")
    imported = engine.onnx.load(model.SerializeToString())
    for n in (2, 5):
        xs = {"Q": randn(rng, n, 7, 24), "K": randn(rng, n, 7, 12), "V": randn(rng, n, 7, 6),
              "attn_mask": bool_mask(rng, (n, 1, 7, 7)),
              "nonpad_kv_seqlen": rng.integers(1, 8, n).astype(np.int64)}
        xs["attn_mask"][..., 0] = True  # every row attends a key
        y = imported.predict(list(xs.values()), verbose=0)
        want = attention_ref(xs["Q"], xs["K"], xs["V"], xs["attn_mask"],
                             nonpad=xs["nonpad_kv_seqlen"], **attrs)[0]
        assert_close(y, want, RTOL)


GRAD_CASES = [  # (id, Q, K, V shapes, attributes, bool mask shape)
    ("4d_gqa_causal_softcap", (1, 4, 3, 5), (1, 2, 4, 5), (1, 2, 4, 3),
     {"is_causal": 1, "softcap": 1.5}, None),
    ("3d_mask_empty_row", (2, 3, 6), (2, 4, 6), (2, 4, 4), {"q_num_heads": 2, "kv_num_heads": 2},
     (3, 4)),
]


@pytest.mark.parametrize("case", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_attention_gradients_match_finite_differences(case, rng):
    _, qs, ks, vs, attrs, mask_shape = case
    xs = [randn(rng, *qs), randn(rng, *ks), randn(rng, *vs)]
    inputs = dict(zip("QKV", xs))
    mask = None
    nodes_inputs = ["Q", "K", "V"]
    initializers = []
    if mask_shape:
        mask = bool_mask(rng, mask_shape, empty_row=True)  # (its row gets no gradient)
        initializers = [onnx.numpy_helper.from_array(mask, "mask")]
        nodes_inputs.append("mask")
    node = helper.make_node("Attention", nodes_inputs, ["y"], **attrs)
    graph = helper.make_graph([node], "attention",
                              [vi(n, TensorProto.FLOAT, list(x.shape)) for n, x in inputs.items()],
                              [vi("y", TensorProto.FLOAT, None)], initializer=initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 23)])
    graph, _ = _core.onnx_import(model.SerializeToString(), None,
                                 {n: x.shape for n, x in inputs.items()})

    def f(q, k, v):
        return attention_ref(q, k, v, mask, **attrs)[0]

    dy = randn(rng, *f(*xs).shape)
    grads = _core.Executor(graph).gradients(xs, "y", dy)
    for name, want in zip("QKV", numeric_grads(f, xs, dy)):
        assert_close(grads[name], want, RTOL, what=f"d{name}")


def test_training_step_matches_pytorch(rng):
    torch = pytest.importorskip("torch", reason="torch is not installed")
    F = torch.nn.functional
    n, s, e, q_heads, kv_heads, d, dv, out = 3, 7, 10, 4, 2, 5, 3, 6
    weights = {"wq": randn(rng, e, q_heads * d) * 0.5, "wk": randn(rng, e, kv_heads * d) * 0.5,
               "wv": randn(rng, e, kv_heads * dv) * 0.5, "wo": randn(rng, q_heads * dv, out) * 0.5}
    mask = bool_mask(rng, (s, s))
    np.fill_diagonal(mask, True)  # every row attends a key (PyTorch gives NaN rows otherwise)
    nodes = [helper.make_node("MatMul", ["x", "wq"], ["q"]),
             helper.make_node("MatMul", ["x", "wk"], ["k"]),
             helper.make_node("MatMul", ["x", "wv"], ["v"]),
             helper.make_node("Attention", ["q", "k", "v", "mask"], ["a"], is_causal=1,
                              q_num_heads=q_heads, kv_num_heads=kv_heads),
             helper.make_node("MatMul", ["a", "wo"], ["y"])]
    initializers = [onnx.numpy_helper.from_array(w, name) for name, w in weights.items()]
    initializers.append(onnx.numpy_helper.from_array(mask, "mask"))
    graph = helper.make_graph(nodes, "attention_block", [vi("x", TensorProto.FLOAT, ["N", s, e])],
                              [vi("y", TensorProto.FLOAT, ["N", s, out])], initializer=initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 23)])
    x, target = randn(rng, n, s, e), randn(rng, n, s, out)
    lr = 0.5

    ours = engine.onnx.load(model.SerializeToString())
    ours.compile(optimizer=engine.optimizers.SGD(learning_rate=lr), loss="mse")
    ours.fit(x, target, epochs=1, batch_size=n, verbose=0)
    trained = {v.name.split("/")[-1].split(":")[0]: v.numpy() for v in ours.trainable_weights}
    assert set(trained) == set(weights)

    w = {name: torch.tensor(v, dtype=torch.float64, requires_grad=True)
         for name, v in weights.items()}
    xt = torch.tensor(x, dtype=torch.float64)

    def heads(t, h):
        return t.reshape(n, s, h, -1).transpose(1, 2)

    allowed = torch.tensor(mask) & torch.ones(s, s, dtype=torch.bool).tril()
    a = F.scaled_dot_product_attention(heads(xt @ w["wq"], q_heads), heads(xt @ w["wk"], kv_heads),
                                       heads(xt @ w["wv"], kv_heads), attn_mask=allowed,
                                       enable_gqa=True)
    y = a.transpose(1, 2).reshape(n, s, -1) @ w["wo"]
    F.mse_loss(y, torch.tensor(target, dtype=torch.float64)).backward()
    for name, t in w.items():
        step = (t - lr * t.grad).detach().numpy()
        assert_close(trained[name], step, RTOL, what=name)
        assert not np.allclose(trained[name], weights[name])


# ---- RotaryEmbedding --------------------------------------------------------------------------

ROTARY_CASES = [  # (id, input shape, attributes, position ids?)
    ("4d", (3, 5, 7, 12), {}, True),
    ("4d_interleaved", (3, 5, 7, 12), {"interleaved": 1}, True),
    ("4d_partial", (3, 5, 7, 12), {"rotary_embedding_dim": 8}, True),
    ("4d_partial_interleaved_no_positions", (3, 5, 7, 12),
     {"rotary_embedding_dim": 6, "interleaved": 1}, False),
    ("3d", (3, 7, 60), {"num_heads": 5}, True),
    ("3d_partial_interleaved", (3, 7, 60), {"num_heads": 5, "rotary_embedding_dim": 4,
                                           "interleaved": 1}, True),
    ("3d_no_positions", (3, 7, 60), {"num_heads": 5}, False),
]


@pytest.mark.parametrize("shape,attrs,positions", [c[1:] for c in ROTARY_CASES],
                         ids=[c[0] for c in ROTARY_CASES])
def test_rotary_embedding_matches_the_definition_and_onnxruntime(shape, attrs, positions, rng):
    b, s = shape[0], shape[2] if len(shape) == 4 else shape[1]
    head = shape[3] if len(shape) == 4 else shape[2] // attrs["num_heads"]
    half = (attrs.get("rotary_embedding_dim") or head) // 2
    cache_shape = (23, half) if positions else (b, s, half)
    angles = rng.uniform(-3, 3, cache_shape)
    inputs = {"input": randn(rng, *shape), "cos_cache": np.cos(angles).astype(np.float32),
              "sin_cache": np.sin(angles).astype(np.float32)}
    if positions:
        inputs["position_ids"] = rng.integers(0, 23, (b, s)).astype(np.int64)
    model = one_node_model("RotaryEmbedding", inputs, attrs, ["y"], 23)
    ours, theirs = run_both(model, inputs)
    assert_close(ours[0], rotary_ref(*inputs.values(), **attrs), RTOL)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-5, atol=1e-6)


def test_rotary_embedding_gradient_matches_finite_differences(rng):
    x = randn(rng, 2, 3, 5, 8)
    angles = rng.uniform(-3, 3, (11, 3))
    cos, sin = np.cos(angles).astype(np.float32), np.sin(angles).astype(np.float32)
    positions = rng.integers(0, 11, (2, 5)).astype(np.int64)
    attrs = {"interleaved": 1, "rotary_embedding_dim": 6}
    node = helper.make_node("RotaryEmbedding", ["x", "cos", "sin", "pos"], ["y"], **attrs)
    consts = [onnx.numpy_helper.from_array(a, n) for n, a in
              [("cos", cos), ("sin", sin), ("pos", positions)]]
    graph = helper.make_graph([node], "rotary", [vi("x", TensorProto.FLOAT, list(x.shape))],
                              [vi("y", TensorProto.FLOAT, None)], initializer=consts)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 23)])
    graph, info = _core.onnx_import(model.SerializeToString(), None, {"x": x.shape})
    assert not any(info["weights"].values())  # the caches are constants, never trained

    def f(x):
        return rotary_ref(x, cos, sin, positions, **attrs)

    dy = randn(rng, *x.shape)
    grads = _core.Executor(graph).gradients([x], "y", dy)
    assert_close(grads["x"], numeric_grads(f, [x], dy)[0], RTOL)


# ---- errors -----------------------------------------------------------------------------------

@pytest.mark.parametrize("op,shapes,attrs,match", [
    ("Attention", [(2, 4, 12), (2, 4, 12), (2, 4, 12)], {"q_num_heads": 5, "kv_num_heads": 3},
     r"q_num_heads and kv_num_heads dividing"),
    ("Attention", [(2, 3, 4, 6), (2, 2, 4, 6), (2, 2, 4, 6)], {},
     r"Q heads \(3\) must be a multiple of the K/V heads \(2\)"),
    ("Attention", [(2, 3, 4, 6), (2, 3, 4, 5), (2, 3, 4, 6)], {}, r"differ in head size"),
    ("Attention", [(2, 3, 4, 6), (2, 3, 4, 6), (2, 3, 4, 6)], {"qk_matmul_output_mode": 4},
     r"qk_matmul_output_mode must be 0 to 3"),
    ("Attention", [(2, 3, 4, 6), (2, 3, 4, 6), (2, 3, 4, 6), (4, 5)], {},
     r"attn_mask covers 5 keys, more than the 4"),
    ("RotaryEmbedding", [(2, 3, 4, 6), (9, 2), (9, 2), "pos"], {},
     r"the caches must be \[positions, 3\]"),
    ("RotaryEmbedding", [(2, 3, 4, 6), (9, 2), (9, 2), "pos"], {"rotary_embedding_dim": 5},
     r"rotary_embedding_dim must be even"),
    ("RotaryEmbedding", [(2, 4, 12), (9, 3), (9, 3), "pos"], {}, r"3-D input needs num_heads"),
])
def test_bad_nodes_are_value_errors_naming_the_problem(op, shapes, attrs, match):
    names = ["a", "b", "c", "d"]
    inputs = []
    for name, s in zip(names, shapes):
        if s == "pos":
            inputs.append(vi(name, TensorProto.INT64, [2, 4]))
        else:
            inputs.append(vi(name, TensorProto.FLOAT, list(s)))
    node = helper.make_node(op, names[:len(shapes)], ["y"], **attrs)
    graph = helper.make_graph([node], "bad", inputs, [vi("y", TensorProto.FLOAT, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 23)])
    with pytest.raises(ValueError, match=match):
        engine.onnx.load(model.SerializeToString())


# ---- AffineGrid (written out as a constant base grid times theta) ----------------------------

def affine_grid_ref(theta, size, align_corners):
    """grid[n, ..., :] = theta[n] @ (x, y[, z], 1), the coordinates normalized to [-1, 1] (a
    size of 1 with align_corners at 0, as PyTorch's affine_grid has it)."""
    spatial = size[2:]
    axes = []
    for s in spatial:
        j = np.arange(s, dtype=np.float64)
        axes.append(-1 + 2 * j / (s - 1) if align_corners and s > 1 else
                    np.zeros(s) if align_corners else -1 + (2 * j + 1) / s)
    mesh = np.meshgrid(*axes, indexing="ij")  # (D,) H, W
    base = np.stack([*reversed(mesh), np.ones(tuple(spatial))], -1)  # (x, y[, z], 1)
    return np.einsum("...k,nck->n...c", base, theta.astype(np.float64))


@pytest.mark.filterwarnings("ignore:Since version 1.3.0, affine_grid")  # (PyTorch, size 1)
@pytest.mark.parametrize("size", [(3, 2, 5, 7), (2, 1, 1, 6), (2, 3, 3, 5, 4)])
@pytest.mark.parametrize("align_corners", [0, 1])
def test_affine_grid_matches_the_definition_and_onnxruntime(size, align_corners, rng):
    dims = len(size) - 2
    theta = randn(rng, size[0], dims, dims + 1)
    node = helper.make_node("AffineGrid", ["theta", "size"], ["grid"], align_corners=align_corners)
    size_value = onnx.numpy_helper.from_array(np.array(size, np.int64), "size")
    graph = helper.make_graph([node], "affine_grid",
                              [vi("theta", TensorProto.FLOAT, ["N", dims, dims + 1])],
                              [vi("grid", TensorProto.FLOAT, None)], initializer=[size_value])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])
    ours, theirs = run_both(model, {"theta": theta})
    assert_close(ours[0], affine_grid_ref(theta, size, align_corners), RTOL)
    if not (align_corners and 1 in size[2:]):  # (onnxruntime puts a size of 1 at +1)
        np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-5, atol=1e-6)
    torch = pytest.importorskip("torch", reason="torch is not installed")
    want = torch.nn.functional.affine_grid(torch.tensor(theta, dtype=torch.float64), size,
                                           align_corners=bool(align_corners))
    assert_close(ours[0], want.numpy(), RTOL)
    # Trainable through theta.
    graph, _ = _core.onnx_import(model.SerializeToString(), None, {"theta": theta.shape})
    dy = randn(rng, *ours[0].shape)
    grads = _core.Executor(graph).gradients([theta], "grid", dy)
    want = numeric_grads(lambda t: affine_grid_ref(t, size, align_corners), [theta], dy)[0]
    assert_close(grads["theta"], want, RTOL)


# ---- LinearAttention (the recurrence unrolled over the known sequence) -----------------------

def linear_attention_ref(q, k, v, past=None, decay=None, beta=None, *, q_num_heads, kv_num_heads,
                         scale=0.0, update_rule="gated_delta", **_):
    """(output, present_state) in float64, one step at a time as the ONNX definition reads."""
    def heads(x, h):
        b, t, hd = x.shape
        return np.asarray(x, np.float64).reshape(b, t, h, hd // h).transpose(0, 2, 1, 3)
    q4, k4, v4 = heads(q, q_num_heads), heads(k, kv_num_heads), heads(v, kv_num_heads)
    b, _, t, dk = k4.shape
    dv = v4.shape[-1]
    state = np.zeros((b, kv_num_heads, dk, dv)) if past is None else past.astype(np.float64)
    g4 = None if decay is None else heads(decay, kv_num_heads)  # [B, H, T, 1 or dk]
    b4 = None if beta is None else heads(beta, beta.shape[-1])  # [B, H or 1, T, 1]
    scale = scale or 1 / np.sqrt(dk)
    group = q_num_heads // kv_num_heads
    out = np.zeros((b, q_num_heads, t, dv))
    for i in range(t):
        if g4 is not None:
            state = state * np.exp(g4[:, :, i])[..., None]
        vt = v4[:, :, i]
        if b4 is not None:
            vt = b4[:, :, i] * (vt - np.einsum("bhdm,bhd->bhm", state, k4[:, :, i]))
        state = state + k4[:, :, i, :, None] * vt[:, :, None, :]
        out[:, :, i] = scale * np.einsum("bhd,bhdm->bhm", q4[:, :, i],
                                         np.repeat(state, group, axis=1))
    return out.transpose(0, 2, 1, 3).reshape(b, t, -1), state


LINEAR_CASES = [  # (id, B, T, Hq, Hkv, dk, dv, rule, decay per dim, beta per head, past, scale)
    ("linear", 2, 5, 3, 3, 4, 6, "linear", None, None, False, 0.0),
    ("gated_per_dim_past", 2, 5, 3, 3, 4, 6, "gated", True, None, True, 0.0),
    ("delta_scalar_beta", 3, 4, 2, 2, 5, 3, "delta", None, False, False, 0.3),
    ("gated_delta_gqa", 2, 5, 6, 2, 4, 5, "gated_delta", False, True, False, 0.0),
    ("gated_delta_mqa_past_decode", 2, 1, 4, 1, 6, 3, "gated_delta", True, False, True, 0.0),
]


def linear_inputs(rng, case):
    _, b, t, hq, hkv, dk, dv, rule, per_dim, per_head, past, _ = case
    inputs = {"query": randn(rng, b, t, hq * dk), "key": randn(rng, b, t, hkv * dk) * 0.5,
              "value": randn(rng, b, t, hkv * dv),
              "past_state": randn(rng, b, hkv, dk, dv) if past else None,
              "decay": None, "beta": None}
    if per_dim is not None:
        inputs["decay"] = -rng.uniform(0.05, 1.0, (b, t, hkv * dk if per_dim else hkv)) \
            .astype(np.float32)
    if per_head is not None:
        inputs["beta"] = rng.uniform(0.1, 0.9, (b, t, hkv if per_head else 1)).astype(np.float32)
    while inputs[list(inputs)[-1]] is None:
        inputs.pop(list(inputs)[-1])
    return inputs


@pytest.mark.parametrize("case", LINEAR_CASES, ids=[c[0] for c in LINEAR_CASES])
def test_linear_attention_matches_the_definition_and_onnxruntime(case, rng):
    attrs = {"q_num_heads": case[3], "kv_num_heads": case[4], "update_rule": case[7]}
    if case[11]:
        attrs["scale"] = case[11]
    inputs = linear_inputs(rng, case)
    model = one_node_model("LinearAttention", inputs, attrs, ["output", "present_state"], 27)
    feed = {n: x for n, x in inputs.items() if x is not None}
    ours, theirs = run_both(model, feed)
    want = linear_attention_ref(*inputs.values(), **attrs)
    for got, ref, other, what in zip(ours, want, theirs, ["output", "present_state"]):
        assert_close(got, ref, RTOL, what=what)
        np.testing.assert_allclose(got, other, rtol=1e-4, atol=1e-5, err_msg=what)


def test_linear_attention_gradients_match_finite_differences(rng):
    case = ("g", 1, 3, 4, 2, 3, 2, "gated_delta", True, True, True, 0.0)
    attrs = {"q_num_heads": 4, "kv_num_heads": 2, "update_rule": "gated_delta"}
    inputs = linear_inputs(rng, case)
    names = list(inputs)
    model = one_node_model("LinearAttention", inputs, attrs, ["y", "state"], 27)
    graph, _ = _core.onnx_import(model.SerializeToString(), None,
                                 {n: x.shape for n, x in inputs.items()})
    xs = list(inputs.values())

    def f(*args):
        return linear_attention_ref(*args, **attrs)[0]

    dy = randn(rng, *f(*xs).shape)
    grads = _core.Executor(graph).gradients(xs, "y", dy)
    for name, want in zip(names, numeric_grads(f, xs, dy)):
        assert_close(grads[name], want, 1e-4, what=f"d{name}")


def test_rotary_embedding_and_linear_attention_follow_the_symbolic_batch(rng):
    angles = rng.uniform(-3, 3, (17, 3))
    caches = {"cos": np.cos(angles).astype(np.float32), "sin": np.sin(angles).astype(np.float32)}
    rotary = {"interleaved": 1, "num_heads": 2}
    linear = {"q_num_heads": 4, "kv_num_heads": 2, "update_rule": "gated_delta"}
    nodes = [helper.make_node("RotaryEmbedding", ["x", "cos", "sin", "pos"], ["r"], **rotary),
             helper.make_node("LinearAttention", ["q", "r", "x", "", "decay", "beta"], ["y"],
                              **linear)]
    graph = helper.make_graph(
        nodes, "both", [vi("x", TensorProto.FLOAT, ["N", 5, 12]),
                        vi("pos", TensorProto.INT64, ["N", 5]),
                        vi("q", TensorProto.FLOAT, ["N", 5, 24]),
                        vi("decay", TensorProto.FLOAT, ["N", 5, 2]),
                        vi("beta", TensorProto.FLOAT, ["N", 5, 2])],
        [vi("y", TensorProto.FLOAT, ["N", 5, 24])],
        initializer=[onnx.numpy_helper.from_array(a, n) for n, a in caches.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 27)])
    imported = engine.onnx.load(model.SerializeToString())
    for n in (2, 5):
        x, q = randn(rng, n, 5, 12), randn(rng, n, 5, 24)
        pos = rng.integers(0, 17, (n, 5)).astype(np.int64)
        decay = -rng.uniform(0.1, 1, (n, 5, 2)).astype(np.float32)
        beta = rng.uniform(0.1, 0.9, (n, 5, 2)).astype(np.float32)
        y = imported.predict([x, pos, q, decay, beta], verbose=0)
        r = rotary_ref(x, caches["cos"], caches["sin"], pos, **rotary)
        want = linear_attention_ref(q, r, x, None, decay, beta, **linear)[0]
        assert_close(y, want, RTOL)
