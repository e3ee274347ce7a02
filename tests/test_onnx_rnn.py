"""ONNX RNN, LSTM and GRU through engine.onnx.load against onnxruntime: one-node models over
the attributes and optional inputs (directions, linear_before_reset, biases, initial states,
int32 sequence_lens, clip, peepholes), models exported by PyTorch from nn.LSTM / nn.GRU /
nn.RNN, and the gradients that flow in through Y_h and Y_c against finite differences."""
import numpy as np
import pytest

from helpers import assert_close, numeric_grads, run_onnx_in_engine
from op_cases import recurrent_ref

onnx = pytest.importorskip("onnx", reason="onnx builds the models")
ort = pytest.importorskip("onnxruntime", reason="onnxruntime is the reference")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

import engine  # noqa: E402
from engine import _core  # noqa: E402

GATES = {"RNN": 1, "LSTM": 4, "GRU": 3}


def one_node(op, T, B, I, H, rng, direction="forward", bias=True, lens=None, h0=False, c0=False,
             peep=False, outputs=None, **attrs):
    """A model with one `op` node: x is its graph input, the rest initializers."""
    G, D = GATES[op], 2 if direction == "bidirectional" else 1
    inits = {"W": rng.standard_normal((D, G * H, I)) * 0.5, "R": rng.standard_normal((D, G * H, H)) * 0.5}
    if bias:
        inits["B"] = rng.standard_normal((D, 2 * G * H)) * 0.5
    if lens is not None:
        inits["sequence_lens"] = np.asarray(lens, np.int32)  # ONNX's lengths are int32
    if h0:
        inits["initial_h"] = rng.standard_normal((D, B, H))
    if c0:
        inits["initial_c"] = rng.standard_normal((D, B, H))
    if peep:
        inits["P"] = rng.standard_normal((D, 3 * H)) * 0.5
    order = ["X", "W", "R", "B", "sequence_lens", "initial_h"] + (["initial_c", "P"] if op == "LSTM" else [])
    names = [n if n == "X" or n in inits else "" for n in order]
    while not names[-1]:
        names.pop()
    outputs = outputs or (["Y", "Y_h", "Y_c"] if op == "LSTM" else ["Y", "Y_h"])
    node = helper.make_node(op, names, outputs, direction=direction, hidden_size=H, **attrs)
    graph = helper.make_graph(
        [node], f"one_{op}", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [T, B, I])],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, [T, D, B, H] if k == 0 else [D, B, H])
         for k, o in enumerate(outputs) if o],
        [numpy_helper.from_array(v if v.dtype == np.int32 else v.astype(np.float32), k) for k, v in inits.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.checker.check_model(model, full_check=True)
    return model


def compare_with_onnxruntime(model, x, rtol=1e-5, atol=1e-5):
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    want = session.run(None, {session.get_inputs()[0].name: x})
    got = run_onnx_in_engine(model, [x])
    assert len(got) == len(want)
    for k, (g, w) in enumerate(zip(got, want)):
        assert g.shape == w.shape, f"output {k}: {g.shape} != {w.shape}"
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol, err_msg=f"output {k}")


ONE_NODE = [
    ("LSTM", {}),
    ("LSTM", {"direction": "reverse", "h0": True, "c0": True}),
    ("LSTM", {"direction": "bidirectional", "h0": True, "c0": True, "peep": True}),
    ("LSTM", {"direction": "bidirectional", "lens": [5, 1, 3], "h0": True}),
    ("LSTM", {"bias": False, "clip": 0.7}),
    ("LSTM", {"outputs": ["", "Y_h"]}),
    ("LSTM", {"outputs": ["", "", "Y_c"], "direction": "reverse", "lens": [2, 5, 4]}),
    ("GRU", {}),
    ("GRU", {"linear_before_reset": 1, "h0": True}),
    ("GRU", {"direction": "reverse", "linear_before_reset": 1, "lens": [3, 5, 1]}),
    ("GRU", {"direction": "bidirectional", "h0": True, "bias": False}),
    ("GRU", {"direction": "bidirectional", "lens": [4, 2, 5], "linear_before_reset": 1, "clip": 0.9}),
    ("GRU", {"outputs": ["", "Y_h"], "activations": ["Sigmoid", "Relu"]}),
    ("RNN", {}),
    ("RNN", {"direction": "reverse", "h0": True, "activations": ["Relu"]}),
    ("RNN", {"direction": "bidirectional", "lens": [1, 5, 3], "activations": ["Sigmoid", "Tanh"]}),
    ("RNN", {"bias": False, "clip": 0.5}),
]


def case_id(op, kw):
    def part(key, value):
        if value is True:
            return key
        if isinstance(value, list):
            return key + "_".join(map(str, value)) if key != "outputs" else "outputs_" + "_".join(v or "skip" for v in value)
        return f"{key}{value}"
    return "-".join([op] + [part(k, v) for k, v in kw.items()])


@pytest.mark.parametrize("op,kw", ONE_NODE, ids=[case_id(op, kw) for op, kw in ONE_NODE])
def test_one_node_matches_onnxruntime(op, kw, rng):
    T, B, I, H = 5, 3, 4, 6
    model = one_node(op, T, B, I, H, rng, **kw)
    compare_with_onnxruntime(model, rng.standard_normal((T, B, I)).astype(np.float32))


def test_one_node_matches_the_numpy_reference(rng):
    """The same kind of model against the float64 formulas (onnxruntime aside)."""
    T, B, I, H = 4, 3, 2, 5
    model = one_node("GRU", T, B, I, H, rng, direction="bidirectional", h0=True, lens=[4, 1, 3],
                     linear_before_reset=1)
    x = rng.standard_normal((T, B, I)).astype(np.float32)
    inits = {t.name: numpy_helper.to_array(t).astype(np.float64) for t in model.graph.initializer}
    y, y_h = recurrent_ref("GRU", x.astype(np.float64), inits["W"], inits["R"], inits["B"],
                           inits["sequence_lens"].astype(np.int64), inits["initial_h"],
                           direction="bidirectional", linear_before_reset=1)
    got = run_onnx_in_engine(model, [x])
    assert_close(np.asarray(got[0]), y, 1e-5, "Y")
    assert_close(np.asarray(got[1]), y_h, 1e-5, "Y_h")


def test_unsupported_activation_is_reported_at_import(rng):
    model = one_node("LSTM", 3, 2, 3, 4, rng, activations=["HardSigmoid", "Tanh", "Tanh"])
    with pytest.raises(ValueError, match=r"activation 'HardSigmoid' is not supported"):
        engine.onnx.load(model.SerializeToString())


# ---- gradients through the state outputs ---------------------------------------------------

@pytest.mark.parametrize("op,attrs", [("LSTM", {}), ("GRU", {"linear_before_reset": 1}),
                                      ("GRU", {"direction": "bidirectional"}), ("RNN", {"direction": "reverse"})])
def test_gradients_through_state_outputs_match_finite_differences(op, attrs, rng):
    """The op-case table sends a gradient into Y only; here Y, Y_h (and Y_c) all carry one."""
    T, B, I, H = 3, 2, 3, 2
    G, D = GATES[op], 2 if attrs.get("direction") == "bidirectional" else 1
    x = rng.standard_normal((T, B, I))
    w, r = rng.standard_normal((D, G * H, I)) * 0.5, rng.standard_normal((D, G * H, H)) * 0.5
    b, h0 = rng.standard_normal((D, 2 * G * H)) * 0.5, rng.standard_normal((D, B, H))
    inputs = [x, w, r, b, None, h0] + ([rng.standard_normal((D, B, H))] if op == "LSTM" else [])
    attrs = {"hidden_size": H, **attrs}
    refs = recurrent_ref(op, *inputs, **attrs)
    douts = [rng.standard_normal(o.shape) for o in refs]
    diff = [i for i, v in enumerate(inputs) if v is not None]

    def loss(*values):
        args = list(inputs)
        for i, v in zip(diff, values):
            args[i] = v
        return sum(np.sum(o * d) for o, d in zip(recurrent_ref(op, *args, **attrs), douts))

    numeric = numeric_grads(lambda *v: np.asarray(loss(*v)), [inputs[i] for i in diff], np.asarray(1.0))
    f32 = [None if v is None else v.astype(np.float32) for v in inputs]
    grads = _core.run_op_backward(op, f32, [d.astype(np.float32) for d in douts], attrs,
                                  num_outputs=len(refs))
    for i, want in zip(diff, numeric):
        assert_close(grads[i], want, 1e-4, f"gradient of input {i}")


# ---- PyTorch ----------------------------------------------------------------------------------

def torch_model(kind, batch_first, bidirectional, num_layers, seed):
    torch = pytest.importorskip("torch", reason="PyTorch exports the reference models")
    torch.manual_seed(seed)
    cell = {"LSTM": torch.nn.LSTM, "GRU": torch.nn.GRU, "RNN": torch.nn.RNN}[kind]
    return torch, cell(5, 7, num_layers=num_layers, batch_first=batch_first,
                       bidirectional=bidirectional).eval()


def export(torch, module, x, tmp_path):
    path = tmp_path / "model.onnx"
    torch.onnx.export(module, (torch.from_numpy(x),), str(path), dynamo=False, opset_version=17,
                      input_names=["x"])
    model = onnx.load(str(path))
    model.ir_version = min(model.ir_version, 8)  # what the installed onnxruntime reads
    return model


TORCH_CASES = [(kind, batch_first, bidirectional, layers)
               for kind in ("LSTM", "GRU", "RNN")
               for batch_first, bidirectional, layers in
               ((False, False, 1), (True, False, 1), (False, True, 1), (True, True, 2), (False, False, 2))]


@pytest.mark.parametrize("kind,batch_first,bidirectional,layers", TORCH_CASES, ids=[
    f"{k}-{'batch_first' if f else 'seq_first'}-{'bi' if b else 'uni'}-{n}layers" for k, f, b, n in TORCH_CASES])
def test_pytorch_export_matches_onnxruntime_and_torch(kind, batch_first, bidirectional, layers, rng,
                                                      tmp_path):
    torch, module = torch_model(kind, batch_first, bidirectional, layers, seed=layers)
    x = rng.standard_normal((3, 6, 5) if batch_first else (6, 3, 5)).astype(np.float32)
    model = export(torch, module, x, tmp_path)
    assert any(n.op_type == kind for n in model.graph.node)
    compare_with_onnxruntime(model, x, rtol=1e-4, atol=1e-5)
    with torch.no_grad():
        want = [t.numpy() for t in torch.utils._pytree.tree_leaves(module(torch.from_numpy(x)))]
    got = run_onnx_in_engine(model, [x])
    for g, w in zip(got, want):
        np.testing.assert_allclose(np.asarray(g), w, rtol=1e-4, atol=1e-5)
