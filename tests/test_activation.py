"""Activations: forward vs numpy float64, backward vs finite differences and numpy."""
import numpy as np
import pytest
from scipy.special import erf, expit

from engine import _core, ops
from helpers import ELEMENTWISE_RTOL, REDUCTION_RTOL, assert_close, away_from, numeric_grads

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_GAMMA = 1.0507009873554804934193349852946


np_sigmoid = expit


# name -> (forward, reference f(x) in float64, reference f'(x), kwargs, kinks)
CASES = {
    "relu": (ops.relu, ops.relu_backward, lambda x: np.maximum(x, 0), lambda x: (x > 0) * 1.0, {}, (0.0,)),
    "leaky_relu": (ops.leaky_relu, ops.leaky_relu_backward, lambda x: np.where(x >= 0, x, 0.3 * x),
                   lambda x: np.where(x >= 0, 1.0, 0.3), {"alpha": 0.3}, (0.0,)),
    "elu": (ops.elu, ops.elu_backward, lambda x: np.where(x > 0, x, 0.7 * np.expm1(x)),
            lambda x: np.where(x > 0, 1.0, 0.7 * np.exp(x)), {"alpha": 0.7}, (0.0,)),
    "selu": (ops.selu, ops.selu_backward,
             lambda x: SELU_GAMMA * np.where(x > 0, x, SELU_ALPHA * np.expm1(x)),
             lambda x: SELU_GAMMA * np.where(x > 0, 1.0, SELU_ALPHA * np.exp(x)), {}, (0.0,)),
    "sigmoid": (ops.sigmoid, ops.sigmoid_backward, np_sigmoid,
                lambda x: np_sigmoid(x) * (1 - np_sigmoid(x)), {}, ()),
    "tanh": (ops.tanh, ops.tanh_backward, np.tanh, lambda x: 1 - np.tanh(x) ** 2, {}, ()),
    "softplus": (ops.softplus, ops.softplus_backward, lambda x: np.logaddexp(0, x), np_sigmoid, {}, ()),
}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("shape", [(7,), (13, 33), (2, 3, 7, 5), (257, 129)], ids=str)
def test_forward_matches_numpy(name, shape, rng, kernel_impl):
    fwd, _, ref, _, kwargs, kinks = CASES[name]
    x = away_from(rng, shape, kinks, scale=3.0)
    assert_close(fwd(x, **kwargs), ref(x.astype(np.float64)), ELEMENTWISE_RTOL)


@pytest.mark.parametrize("name", sorted(CASES))
def test_backward_matches_finite_differences(name, rng, kernel_impl):
    fwd, bwd, ref, _, kwargs, kinks = CASES[name]
    x = away_from(rng, (3, 5), kinks, margin=0.05, scale=2.0)
    dy = rng.standard_normal(x.shape).astype(np.float32)
    (numeric,) = numeric_grads(ref, [x], dy)
    assert_close(bwd(dy, x, **kwargs), numeric, REDUCTION_RTOL, "dx")
    # Passing the saved forward output must give the same gradient.
    assert_close(bwd(dy, x, y=fwd(x, **kwargs), **kwargs), numeric, REDUCTION_RTOL, "dx(y)")


@pytest.mark.parametrize("name", sorted(CASES))
def test_backward_matches_numpy_on_large_input(name, rng):
    _, bwd, _, dref, kwargs, kinks = CASES[name]
    x = away_from(rng, (64, 257), kinks, scale=3.0)
    dy = rng.standard_normal(x.shape).astype(np.float32)
    expected = dy.astype(np.float64) * dref(x.astype(np.float64))
    assert_close(bwd(dy, x, **kwargs), expected, ELEMENTWISE_RTOL)


ISAS = ["avx512", "avx2", "portable"]


def use_isa(isa):
    if not _core.cpu_isa_supported(isa):
        pytest.skip(f"this CPU has no {isa}")
    _core.set_cpu_isa(isa)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("name", sorted(CASES))
def test_every_value_is_within_a_few_ulps(name, isa):
    """The CPU kernels compute exp, expm1, tanh and log1p themselves (so that they
    vectorize): each output against float64, element by element, over the whole range
    (huge, tiny, denormal), on every instruction-set level the machine has. (The gradients
    of Elu, Selu, Sigmoid and Tanh are formulas of the output, y + alpha or 1 - y^2, whose
    cancellation near saturation no exp can help: they are checked in norm above.)"""
    fwd, _, ref, _, kwargs, _ = CASES[name]
    rng = np.random.default_rng(11)
    x = np.concatenate([np.linspace(-110, 90, 20011), rng.standard_normal(5003) * 4,
                        np.geomspace(1e-38, 1e-3, 1001), -np.geomspace(1e-38, 1e-3, 1001),
                        [0.0, 1e-42, -1e-42, 88.5, -88.5, 30.0, -30.0]]).astype(np.float32)
    use_isa(isa)
    try:
        y = fwd(x, **kwargs)
    finally:
        _core.set_cpu_isa("best")
    want = np.asarray(ref(x.astype(np.float64)), np.float64)
    assert np.all(np.isfinite(y))
    # 8 float ulps relative; values below the normal range are compared absolutely.
    bad = np.abs(y.astype(np.float64) - want) > 1e-6 * np.abs(want) + 2e-38
    assert not bad.any(), f"x={x[bad][:3]} got {y[bad][:3]} want {want[bad][:3]}"


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("op", ["Erf", "Gelu"])
def test_erf_and_gelu_are_within_a_few_ulps(op, isa):
    """Erf (and the exact GELU built on it) comes from the engine's own vectorizable erf:
    element by element against float64 over the whole range, both sides of where its two
    formulas meet (|x| = 0.875) and where erf rounds to 1 (|x| = 3.925)."""
    rng = np.random.default_rng(12)
    x = np.concatenate([np.linspace(-8, 8, 40009), rng.standard_normal(5003) * 3,
                        np.linspace(0.86, 0.89, 2001), np.linspace(3.9, 3.95, 2001),
                        np.geomspace(1e-38, 1e-3, 1001), -np.geomspace(1e-38, 1e-3, 1001),
                        [0.0, 1e-42, -1e-42, 30.0, -30.0, 1e30, -1e30]]).astype(np.float32)
    use_isa(isa)
    try:
        (y,), _ = _core.run_op(op, [x], {})
    finally:
        _core.set_cpu_isa("best")
    x64 = x.astype(np.float64)
    want = erf(x64) if op == "Erf" else 0.5 * x64 * (1 + erf(x64 / np.sqrt(2)))
    # GELU's 1 + erf(x / sqrt 2) cancels for negative x: in float it may lose up to half an
    # ulp of 1, times x / 2, whatever the erf.
    cancellation = 0.0 if op == "Erf" else 3e-8 * np.abs(x64)
    bad = np.abs(y.astype(np.float64) - want) > 1e-6 * np.abs(want) + cancellation + 2e-38
    assert not bad.any(), f"x={x[bad][:3]} got {y[bad][:3]} want {want[bad][:3]}"
    special = np.array([np.inf, -np.inf, np.nan], np.float32)
    (y,), _ = _core.run_op(op, [special], {})
    np.testing.assert_array_equal(y, [1, -1, np.nan] if op == "Erf" else [np.inf, np.nan, np.nan])


def test_extreme_inputs_stay_finite():
    x = np.array([-1e4, -100.0, -20.0, 0.0, 20.0, 100.0, 1e4], dtype=np.float32)
    for fn in (ops.sigmoid, ops.softplus, ops.tanh, ops.elu, ops.selu):
        y = fn(x)
        assert np.all(np.isfinite(y)), fn.__name__
    assert_close(ops.softplus(x), np.logaddexp(0, x.astype(np.float64)), ELEMENTWISE_RTOL)
    assert_close(ops.sigmoid(x), np_sigmoid(x.astype(np.float64)), ELEMENTWISE_RTOL)


def test_bad_inputs_raise_clear_errors():
    x = np.ones((3, 4), dtype=np.float32)
    with pytest.raises(TypeError, match="Relu: x must be a float32"):
        ops.relu(x.astype(np.float64))
    with pytest.raises(TypeError, match="float32"):
        ops.relu(x.astype(np.int64))
    with pytest.raises(ValueError, match="C-contiguous"):
        ops.relu(x.T)
    with pytest.raises(ValueError, match="dy .* does not match x"):
        ops.relu_backward(x[:2], x)


# The math functions the CPU kernels take from libm: op -> (float64 reference, inputs over
# the whole domain).
LIBM = {
    "Tan": (np.tan, np.linspace(-1.55, 1.55, 20011)),
    "Asin": (np.arcsin, np.linspace(-1, 1, 20011)),
    "Acos": (np.arccos, np.linspace(-1, 1, 20011)),
    "Atan": (np.arctan, np.linspace(-1e4, 1e4, 20011)),
    "Sinh": (np.sinh, np.linspace(-88, 88, 20011)),
    "Cosh": (np.cosh, np.linspace(-88, 88, 20011)),
    "Asinh": (np.arcsinh, np.linspace(-1e4, 1e4, 20011)),
    "Acosh": (np.arccosh, np.geomspace(1, 1e30, 20011)),
    "Atanh": (np.arctanh, np.linspace(-0.999, 0.999, 20011)),
}


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("op", sorted(LIBM))
def test_libm_functions_are_within_a_few_ulps(op, isa):
    """Each output against float64, element by element, on every instruction-set level the
    machine has, tiny and denormal inputs included where the domain has them."""
    ref, x = LIBM[op]
    if op != "Acosh":
        rng = np.random.default_rng(13)
        tiny = np.geomspace(1e-38, 1e-3, 1001)
        x = np.concatenate([x, rng.uniform(x.min(), x.max(), 5003), tiny, -tiny, [0.0, 1e-42]])
    x = x.astype(np.float32)
    use_isa(isa)
    try:
        (y,), _ = _core.run_op(op, [x], {})
    finally:
        _core.set_cpu_isa("best")
    want = ref(x.astype(np.float64))
    assert np.all(np.isfinite(y))
    bad = np.abs(y.astype(np.float64) - want) > 1e-6 * np.abs(want) + 2e-38
    assert not bad.any(), f"x={x[bad][:3]} got {y[bad][:3]} want {want[bad][:3]}"


def test_round_takes_halves_to_even():
    x = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 2.4999998, -3.5000002, 8388609.0, 1e30,
                  -0.0, np.inf, -np.inf, np.nan], np.float32)
    (y,), _ = _core.run_op("Round", [x], {})
    want = np.array([-2, -2, -0.0, 0, 2, 2, 2, -4, 8388609.0, 1e30, -0.0, np.inf, -np.inf, np.nan],
                    np.float32)
    np.testing.assert_array_equal(y, want)
    assert np.array_equal(np.signbit(y), np.signbit(want))
    # A step function: no gradient flows through it.
    (dx,) = _core.run_op_backward("Round", [x[:-3]], [np.ones(len(x) - 3, np.float32)])
    np.testing.assert_array_equal(dx, 0.0)


def test_keras_names_run_the_math_functions(rng):
    """engine.ops.tan ... arctanh, round and mod, on arrays and in a model."""
    import engine
    x = rng.uniform(-0.9, 0.9, (3, 5)).astype(np.float32)
    x64 = x.astype(np.float64)
    refs = {"tan": np.tan, "arcsin": np.arcsin, "arccos": np.arccos, "arctan": np.arctan,
            "sinh": np.sinh, "cosh": np.cosh, "arcsinh": np.arcsinh, "arctanh": np.arctanh}
    for name, ref in refs.items():
        assert_close(getattr(ops, name)(x), ref(x64), ELEMENTWISE_RTOL, name)
    assert_close(ops.arccosh(x + 2), np.arccosh(x64 + 2), ELEMENTWISE_RTOL, "arccosh")
    inp = engine.Input((5,))
    model = engine.Model(inp, [ops.tan(inp), ops.round(inp * 4.0), ops.round(inp, decimals=1),
                               ops.mod(inp, -0.25)])
    tan, rounded, tenths, rest = model.predict(x, verbose=0)
    assert_close(tan, np.tan(x64), ELEMENTWISE_RTOL)
    np.testing.assert_array_equal(rounded, np.round(x * np.float32(4.0)))
    assert_close(tenths, np.round(x64, 1), ELEMENTWISE_RTOL)
    assert_close(rest, np.mod(x64, -0.25), ELEMENTWISE_RTOL)
