"""Every op through _core.run_op, driven entirely by the case table of op_cases.py: forward vs
float64 numpy, kernel variants against each other (forward and backward), gradients vs
central finite differences, bad arguments, shape inference, one-node onnxruntime models, and
the table's coverage of the engine's ops and attributes."""
import contextlib
import math
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
import pytest

from engine import _core
from helpers import assert_close, numeric_grads
from op_cases import CASES, FD_MAX_VALUES, NOT_EXERCISED, TOLERANCES

# ---- kernel variants -----------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    name: str
    select: Callable[[], None]  # makes every op run on this variant's kernels
    missing: Callable[[], Optional[str]] = lambda: None  # why it cannot run here, or None


# The device the op runs on under the current variant (None: the host).
DEVICE = {"name": None}


def _select(kernels, device=None, isa="best"):
    def select():
        _core.set_kernel_variant(kernels)
        _core.set_cpu_isa(isa)
        DEVICE["name"] = device
    return select


def _isa_missing(isa):
    return lambda: None if _core.cpu_isa_supported(isa) else f"this CPU has no {isa}"


def _no_gpu():
    return None if _core.cuda_is_available() else _core.cuda_unavailable_reason()


VARIANTS = {
    "cpu": Variant("cpu", _select("cpu")),
    # The optimized kernels at each instruction-set level below the best one this CPU has:
    # what other CPUs run.
    **{f"cpu-{isa}": Variant(f"cpu-{isa}", _select("cpu", isa=isa), _isa_missing(isa))
       for isa in ("avx512", "avx2", "portable")},
    "ref": Variant("ref", _select("ref")),
    # The CUDA kernels' bodies looped over their grid on the host: every machine checks
    # their index arithmetic and math.
    "cuda-emulated": Variant("cuda-emulated", _select("cuda-emulated")),
    "cuda": Variant("cuda", _select("cpu", "cuda"), _no_gpu),
}
DEFAULT_VARIANT = "cpu"
# (variant under test, its oracle).
VARIANT_PAIRS = [("cpu", "ref"), ("cpu-avx512", "ref"), ("cpu-avx2", "ref"), ("cpu-portable", "ref"),
                 ("cuda-emulated", "cpu"), ("cuda", "cpu")]
# The variants checked against numpy as well (the ISA levels are checked against ref).
NUMPY_VARIANTS = ["cpu", "ref", "cuda-emulated", "cuda"]


@contextlib.contextmanager
def using(name):
    variant = VARIANTS[name]
    reason = variant.missing()
    if reason:
        pytest.skip(f"variant {name}: {reason}")
    variant.select()
    try:
        yield
    finally:
        VARIANTS[DEFAULT_VARIANT].select()


# ---- running a case ----------------------------------------------------------------------

def forward(case, inputs, attrs=None):
    return _core.run_op(case.op_type, inputs, case.attrs if attrs is None else attrs,
                        domain=case.domain, device=DEVICE["name"], **case.call)


def backward(case, inputs, douts, attrs=None, **kw):
    return _core.run_op_backward(case.op_type, inputs, douts,
                                 case.attrs if attrs is None else attrs, domain=case.domain,
                                 device=DEVICE["name"], **case.call, **kw)


def copies(inputs):
    """Fresh arrays for a call: training mode writes some inputs in place."""
    return [None if x is None else x.copy() for x in inputs]


def float64(inputs):
    return [x.astype(np.float64) if x is not None and x.dtype == np.float32 else x
            for x in inputs]


def as_list(outputs):
    return [np.asarray(o) for o in (outputs if isinstance(outputs, (tuple, list)) else [outputs])]


def output_grads(rng, outputs):
    """A random gradient for the first output (the one every op differentiates), none for
    the others (masks)."""
    dy = rng.standard_normal(np.shape(outputs[0])).astype(np.float32)
    return [dy] + [None] * (len(outputs) - 1)


def check_against_numpy(case, out, ref, what):
    ref = np.asarray(ref)
    if case.tol == "exact" or ref.dtype.kind in "iub":  # data movement copies bits; indices
        assert out.shape == ref.shape, f"{what}: shape {out.shape} != {ref.shape}"
        assert out.dtype == (np.float32 if ref.dtype.kind == "f" else ref.dtype), what
        assert np.array_equal(out, ref), f"{what}: values differ"
    else:
        assert out.dtype == np.float32, f"{what}: dtype {out.dtype}"
        assert_close(out, ref, TOLERANCES[case.tol], what)


def check_variants(case, got, want, what):
    """Kernel vs kernel (STYLE.md): |got - want| <= 1e-5 sqrt(K) + 1e-4 |want|."""
    assert got.shape == want.shape and got.dtype == want.dtype, (what, got.shape, want.shape)
    if case.tol == "exact" or got.dtype != np.float32:
        assert np.array_equal(got, want), f"{what}: values differ"
        return
    assert np.all(np.isfinite(got)) and np.all(np.isfinite(want)), f"{what}: non-finite values"
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5 * math.sqrt(case.k),
                               err_msg=what)


def xfail_marks(reason):
    return [pytest.mark.xfail(strict=True, reason=reason)] if reason else []


def params(cases, check):
    return [pytest.param(c, id=c.id, marks=xfail_marks(c.xfail.get(check))) for c in cases]


FD_CASES = [c for c in CASES if c.differentiable and c.fd and c.fd_values <= FD_MAX_VALUES]
ONNX_CASES = [c for c in CASES if c.onnx and not c.domain and not c.call.get("training")]
BAD_CASES = [pytest.param(c, b, id=f"{c.id}-{b.name}", marks=xfail_marks(b.xfail))
             for c in CASES for b in c.bad]


# ---- forward -------------------------------------------------------------------------------

@pytest.mark.parametrize("variant", NUMPY_VARIANTS)
@pytest.mark.parametrize("case", params(CASES, "forward"))
def test_forward_matches_numpy(case, variant, rng):
    inputs = case.draw(rng)
    args = copies(inputs)
    with using(variant):
        outputs, _ = forward(case, args)
    refs = as_list(case.ref(*float64(inputs)))
    assert len(outputs) == len(refs), f"{len(outputs)} outputs, the reference has {len(refs)}"
    for k, (out, ref) in enumerate(zip(outputs, refs)):
        check_against_numpy(case, out, ref, f"output {k}")
    # Inputs change only where the op documents a side effect (training statistics).
    updates = case.updates_ref(*float64(inputs)) if case.updates_ref else {}
    for i, (arg, x) in enumerate(zip(args, inputs)):
        if i in updates:
            assert_close(arg, updates[i], TOLERANCES[case.tol], f"input {i} after the call")
        elif x is not None:
            assert np.array_equal(arg, x), f"input {i} was modified"


@pytest.mark.parametrize("variant", NUMPY_VARIANTS)
@pytest.mark.parametrize("case", params([c for c in CASES if c.state_ref], "state"))
def test_state_matches_numpy(case, variant, rng):
    """The buffers kept for backward (saved statistics, masks)."""
    inputs = case.draw(rng)
    with using(variant):
        _, state = forward(case, copies(inputs))
    refs = as_list(case.state_ref(*float64(inputs)))
    assert len(state) == len(refs), f"{len(state)} state tensors, expected {len(refs)}"
    for k, (got, ref) in enumerate(zip(state, refs)):
        assert_close(got, ref, TOLERANCES[case.tol], f"state {k}")


@pytest.mark.parametrize("case", params(CASES, "infer"))
def test_infer_op_matches_run_op(case, rng):
    inputs = case.draw(rng)
    described = [x if x is None or spec.const else (x.shape, str(x.dtype))
                 for spec, x in zip(case.inputs, inputs)]
    inferred = _core.infer_op(case.op_type, described, case.attrs, domain=case.domain,
                              training=case.call.get("training", False),
                              num_outputs=case.call.get("num_outputs", -1))
    outputs, _ = forward(case, copies(inputs))
    # infer_op gives the op's required outputs (it cannot ask for optional ones).
    assert inferred and len(inferred) <= len(outputs)
    assert inferred == [(o.shape, str(o.dtype)) for o in outputs[:len(inferred)]]


def strided(x):
    """The same values in memory that is not C-contiguous (every other float)."""
    wide = np.zeros(x.shape + (2,), x.dtype)
    wide[..., 0] = x
    return wide[..., 0]


@pytest.mark.parametrize("case", params([c for c in CASES if c.inputs[0].shape and
                                         math.prod(c.inputs[0].shape) > 1], "strided"))
def test_strided_input_is_rejected_or_read_right(case, rng):
    """A view with gaps between its values is refused with a message, or read like a
    contiguous copy; it is never read as if it were dense."""
    inputs = case.draw(rng)
    want, _ = forward(case, copies(inputs))
    try:
        got, _ = forward(case, [strided(inputs[0])] + copies(inputs[1:]))
    except ValueError as e:
        assert "C-contiguous" in str(e)
        return
    for g, w in zip(got, want):
        assert np.array_equal(g, w)


# ---- kernel variants -----------------------------------------------------------------------

def run_variants(case, pair, rng, with_backward):
    """{variant: (outputs, input gradients from the saved outputs and state)} on the same
    inputs and output gradients."""
    inputs = case.draw(rng)
    douts = None
    results = {}
    for name in pair:
        with using(name):
            outputs, state = forward(case, copies(inputs))
            douts = douts or output_grads(rng, outputs)
            grads = backward(case, copies(inputs), douts, outputs=outputs,
                             state=state) if with_backward else []
        results[name] = (outputs, grads)
    return results.values()


def check_all_variants(case, what, got, want):
    assert len(got) == len(want), what
    for k, (g, w) in enumerate(zip(got, want)):
        assert (g is None) == (w is None), f"{what} {k}"
        if g is not None:
            check_variants(case, g, w, f"{what} {k}")


PAIR_IDS = ["-vs-".join(p) for p in VARIANT_PAIRS]


@pytest.mark.parametrize("pair", VARIANT_PAIRS, ids=PAIR_IDS)
@pytest.mark.parametrize("case", params(CASES, "variants"))
def test_variant_forward_matches_its_oracle(case, pair, rng):
    (outputs, _), (want, _) = run_variants(case, pair, rng, with_backward=False)
    check_all_variants(case, "output", outputs, want)


@pytest.mark.parametrize("pair", VARIANT_PAIRS, ids=PAIR_IDS)
@pytest.mark.parametrize("case", params([c for c in CASES if c.differentiable],
                                        "variants-backward"))
def test_variant_backward_matches_its_oracle(case, pair, rng):
    (_, grads), (_, want) = run_variants(case, pair, rng, with_backward=True)
    check_all_variants(case, "gradient of input", grads, want)


# ---- gradients -----------------------------------------------------------------------------

def numeric_input_grads(case, inputs, douts):
    """Central differences of the float64 reference for the differentiable inputs."""
    diff = case.differentiable
    fixed = float64(inputs)

    def f(*values):
        args = list(fixed)
        for i, v in zip(diff, values):
            args[i] = v
        return as_list(case.ref(*args))[0]
    return dict(zip(diff, numeric_grads(f, [inputs[i] for i in diff], douts[0])))


def grad_tol(case):
    return TOLERANCES["elementwise" if case.tol == "exact" else case.tol]


@pytest.mark.parametrize("variant", NUMPY_VARIANTS)
@pytest.mark.parametrize("case", params(FD_CASES, "grad"))
def test_gradients_match_finite_differences(case, variant, rng):
    inputs = case.draw(rng)
    douts = output_grads(rng, as_list(case.ref(*float64(inputs))))
    numeric = numeric_input_grads(case, inputs, douts)
    args = copies(inputs)
    with using(variant):  # no outputs or state: run_op_backward recomputes what it needs
        grads = backward(case, args, douts)
    assert all(x is None or np.array_equal(a, x) for a, x in zip(args, inputs)), \
        "backward modified an input"
    assert len(grads) == len(inputs)
    for i, g in enumerate(grads):
        if i in numeric:
            assert g is not None, f"no gradient for input {i}"
            assert_close(g, numeric[i], grad_tol(case), f"gradient of input {i}")
        else:  # by default only the differentiable inputs get gradients
            assert g is None, f"input {i} got a gradient"


@pytest.mark.parametrize("case", params(FD_CASES, "need"))
def test_gradients_asked_one_at_a_time_match_all_at_once(case, rng):
    """`need` skips gradients (caffe's propagate_down): each alone equals it among all."""
    inputs = case.draw(rng)
    outputs, state = forward(case, copies(inputs))
    douts = output_grads(rng, outputs)
    every = backward(case, copies(inputs), douts, outputs=outputs, state=state)
    for i in case.differentiable:
        need = [j == i for j in range(len(inputs))]
        alone = backward(case, copies(inputs), douts, outputs=outputs, state=state, need=need)
        assert all(g is None for j, g in enumerate(alone) if j != i)
        assert np.array_equal(alone[i], every[i]), f"gradient of input {i}"


# ---- bad arguments ---------------------------------------------------------------------------

@pytest.mark.parametrize("case,bad", BAD_CASES)
def test_bad_arguments_raise(case, bad, rng):
    args = case.draw(rng)
    for i, spec in sorted(bad.inputs.items()):
        args += [None] * (i + 1 - len(args))
        args[i] = None if spec is None else spec.draw(rng, dict(enumerate(args)))
    while args and args[-1] is None:  # trailing omitted inputs are not passed at all
        args.pop()
    attrs = {**case.attrs, **bad.attrs}  # a None value leaves the attribute out
    if bad.dy is None and bad.need is None:
        with pytest.raises(bad.raises, match=bad.match):
            forward(case, args, attrs)
        return
    douts = output_grads(rng, forward(case, copies(args), attrs)[0])
    if bad.dy is not None:
        douts[0] = bad.dy.draw(rng, {})
    with pytest.raises(bad.raises, match=bad.match):
        backward(case, args, douts, attrs, need=bad.need)


# ---- onnxruntime -----------------------------------------------------------------------------

def one_node_model(case, inputs, num_outputs):
    from onnx import helper, numpy_helper  # noqa: F401  (imported only where ONNX is tested)
    from onnx.helper import np_dtype_to_tensor_dtype

    names = ["" if x is None else f"in{i}" for i, x in enumerate(inputs)]
    node = helper.make_node(case.op_type, names, [f"out{k}" for k in range(num_outputs)],
                            **case.attrs)
    graph = helper.make_graph(
        [node], case.id,
        [helper.make_tensor_value_info(n, np_dtype_to_tensor_dtype(x.dtype), x.shape)
         for n, x in zip(names, inputs) if x is not None],
        [helper.make_empty_tensor_value_info(f"out{k}") for k in range(num_outputs)])
    # onnx 1.23 would write IR 14, newer than some onnxruntime builds read.
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", case.onnx)],
                             ir_version=8)


@pytest.mark.parametrize("case", params(ONNX_CASES, "onnx"))
def test_matches_onnxruntime(case, rng):
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime compares the ONNX semantics")
    inputs = case.draw(rng)
    outputs, _ = forward(case, copies(inputs))
    if case.onnx_dtype:
        inputs = [None if x is None else x.astype(case.onnx_dtype) for x in inputs]
    model = one_node_model(case, inputs, len(outputs))
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    feeds = {f"in{i}": x for i, x in enumerate(inputs) if x is not None}
    for k, (out, want) in enumerate(zip(outputs, session.run(None, feeds))):
        want = want.astype(out.dtype)  # Dropout's mask: bool in ONNX, 1.0 / 0.0 here
        assert out.shape == want.shape, f"output {k}: {out.shape} != {want.shape}"
        assert np.all(np.isfinite(out)) if out.dtype == np.float32 else True, f"output {k}"
        # Kernel vs kernel, as in check_variants: a long sum's rounding (Winograd's most of
        # all) grows with its length.
        np.testing.assert_allclose(out, want, rtol=1e-3, atol=1e-5 * math.sqrt(case.k),
                                   err_msg=f"output {k}")


# ---- coverage of the table -------------------------------------------------------------------

def split_op(op):
    return tuple(op.split(".")) if "." in op else ("", op)


def test_every_supported_op_has_cases():
    supported = set(_core.supported_ops())
    covered = {c.op for c in CASES}
    assert not supported - covered, f"ops without cases: {sorted(supported - covered)}"
    assert not covered - supported, f"cases for ops the engine lacks: {sorted(covered - supported)}"


def test_every_op_has_gradient_onnx_and_bad_argument_cases():
    problems = []
    for op in _core.supported_ops():
        cases = [c for c in CASES if c.op == op]
        if any(c.differentiable for c in cases) and not any(c in FD_CASES for c in cases):
            problems.append(f"{op}: no case small enough for finite differences")
        if not split_op(op)[0] and not any(c in ONNX_CASES for c in cases):
            problems.append(f"{op}: no onnxruntime comparison")
        if not any(c.bad for c in cases):
            problems.append(f"{op}: no bad-argument case")
    assert not problems, "\n".join(problems)


def test_every_attribute_is_exercised_or_excused():
    problems = []
    for op in _core.supported_ops():
        schema = set(_core.op_schema(*reversed(split_op(op)))["attributes"])
        exercised = {name for c in CASES if c.op == op
                     for attrs in [c.attrs] + [b.attrs for b in c.bad]
                     for name, value in attrs.items() if value is not None}
        excused = set(NOT_EXERCISED.get(op, {}))
        if schema - exercised - excused:
            problems.append(f"{op}: attributes never set: {sorted(schema - exercised - excused)}")
        stale = (excused & exercised) | (excused - schema)
        if stale:
            problems.append(f"{op}: stale NOT_EXERCISED entries: {sorted(stale)}")
    assert not problems, "\n".join(problems)
