"""Optimizers: 20 steps against an independent float64 numpy version of Keras 3's rules."""
import contextlib
import math

import numpy as np
import pytest

from engine import _core, optimizers, schedules
from engine.layers.base import Variable
from helpers import ELEMENTWISE_RTOL, REDUCTION_RTOL, assert_close

STEPS = 20
SHAPES = [(7,), (13, 5), (3, 1, 33), (33, 9)]
# Spans several threads' chunks and several blocks of the norm reduction.
LARGE = (257, 163)

KERAS_DEFAULTS = {
    "sgd": dict(learning_rate=0.01, momentum=0.0, nesterov=False),
    "adagrad": dict(learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7),
    "rmsprop": dict(learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False),
    "adam": dict(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False),
    "adamax": dict(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7),
    "nadam": dict(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7),
    "adamw": dict(learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                  epsilon=1e-7, amsgrad=False),
}
BASE_DEFAULTS = dict(weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None)


class NumpyOptimizer:
    """Keras 3's BaseOptimizer.apply + update_step, in float64 numpy, keyed by position."""

    def __init__(self, kind, **kwargs):
        self.kind = kind
        self.h = {**BASE_DEFAULTS, **KERAS_DEFAULTS[kind], **kwargs}
        self.t = 0  # iterations
        self.slots = None
        self.u_product = 1.0

    def slot_names(self):
        h, k = self.h, self.kind
        if k == "sgd":
            return ["momentum"] if h["momentum"] != 0 else []
        if k == "adagrad":
            return ["accumulator"]
        if k == "rmsprop":
            return (["velocity"] + (["momentum"] if h["momentum"] > 0 else [])
                    + (["average_gradient"] if h["centered"] else []))
        if k in ("adam", "adamw"):
            return ["momentum", "velocity"] + (["velocity_hat"] if h["amsgrad"] else [])
        if k == "adamax":
            return ["momentum", "norm"]
        return ["momentum", "velocity"]

    def clip(self, grads):
        h = self.h
        if h["clipnorm"] and h["clipnorm"] > 0:
            c = h["clipnorm"]
            return [g * c / max(np.sqrt(np.sum(g * g)), c) for g in grads]
        if h["global_clipnorm"] and h["global_clipnorm"] > 0:
            c = h["global_clipnorm"]
            norm = np.sqrt(sum(np.sum(g * g) for g in grads))
            return [g * (c / norm if norm > c else 1.0) for g in grads]
        if h["clipvalue"] and h["clipvalue"] > 0:
            return [np.clip(g, -h["clipvalue"], h["clipvalue"]) for g in grads]
        return grads

    def step(self, params, grads, lr):
        """params: float64 arrays updated in place; lr: the learning rate of this step."""
        h = self.h
        if self.slots is None:
            init = h["initial_accumulator_value"] if self.kind == "adagrad" else 0.0
            self.slots = [{n: np.full(p.shape, init) for n in self.slot_names()} for p in params]
        grads = self.clip([np.asarray(g, np.float64) for g in grads])
        if h["weight_decay"]:
            for p in params:
                p -= p * h["weight_decay"] * lr
        t = self.t + 1
        if self.kind == "nadam":
            self.u_product *= h["beta_1"] * (1 - 0.5 * 0.96 ** t)
        for p, g, s in zip(params, grads, self.slots):
            getattr(self, "_" + self.kind)(p, g, s, lr, t)
        self.t = t

    def _sgd(self, p, g, s, lr, t):
        mom = self.h["momentum"]
        if mom == 0:
            p -= lr * g
            return
        s["momentum"][...] = mom * s["momentum"] - lr * g
        if self.h["nesterov"]:
            p += mom * s["momentum"] - lr * g
        else:
            p += s["momentum"]

    def _adagrad(self, p, g, s, lr, t):
        s["accumulator"] += g * g
        p -= lr * g / np.sqrt(s["accumulator"] + self.h["epsilon"])

    def _rmsprop(self, p, g, s, lr, t):
        h = self.h
        v = s["velocity"]
        v[...] = h["rho"] * v + (1 - h["rho"]) * g * g
        if h["centered"]:
            a = s["average_gradient"]
            a[...] = h["rho"] * a + (1 - h["rho"]) * g
            inc = lr * g / np.sqrt(v - a * a + h["epsilon"])
        else:
            inc = lr * g / np.sqrt(v + h["epsilon"])
        if h["momentum"] > 0:
            s["momentum"][...] = h["momentum"] * s["momentum"] + inc
            p -= s["momentum"]
        else:
            p -= inc

    def _adam(self, p, g, s, lr, t):
        h = self.h
        m, v = s["momentum"], s["velocity"]
        m[...] = h["beta_1"] * m + (1 - h["beta_1"]) * g
        v[...] = h["beta_2"] * v + (1 - h["beta_2"]) * g * g
        if h["amsgrad"]:
            s["velocity_hat"][...] = np.maximum(s["velocity_hat"], v)
            v = s["velocity_hat"]
        alpha = lr * math.sqrt(1 - h["beta_2"] ** t) / (1 - h["beta_1"] ** t)
        p -= alpha * m / (np.sqrt(v) + h["epsilon"])

    _adamw = _adam

    def _adamax(self, p, g, s, lr, t):
        h = self.h
        m, u = s["momentum"], s["norm"]
        m[...] = h["beta_1"] * m + (1 - h["beta_1"]) * g
        u[...] = np.maximum(h["beta_2"] * u, np.abs(g))
        p -= lr * m / ((1 - h["beta_1"] ** t) * (u + h["epsilon"]))

    def _nadam(self, p, g, s, lr, t):
        h = self.h
        b1 = h["beta_1"]
        mu_t = b1 * (1 - 0.5 * 0.96 ** t)
        mu_next = b1 * (1 - 0.5 * 0.96 ** (t + 1))
        m, v = s["momentum"], s["velocity"]
        m[...] = b1 * m + (1 - b1) * g
        v[...] = h["beta_2"] * v + (1 - h["beta_2"]) * g * g
        m_hat = mu_next * m / (1 - self.u_product * mu_next) + (1 - mu_t) * g / (1 - self.u_product)
        v_hat = v / (1 - h["beta_2"] ** t)
        p -= lr * m_hat / (np.sqrt(v_hat) + h["epsilon"])

    def flat_slots(self):
        return [s[n] for s in self.slots for n in self.slot_names()]


# id -> (optimizer name, hyperparameters). Large epsilons make its placement visible.
CASES = {
    "sgd": ("sgd", {}),
    "sgd-momentum": ("sgd", dict(learning_rate=0.05, momentum=0.9)),
    "sgd-nesterov": ("sgd", dict(learning_rate=0.05, momentum=0.8, nesterov=True)),
    "sgd-wd-clipvalue": ("sgd", dict(momentum=0.5, weight_decay=0.3, clipvalue=0.4)),
    "adagrad": ("adagrad", dict(learning_rate=0.05)),
    "adagrad-eps": ("adagrad", dict(learning_rate=0.05, epsilon=0.3, initial_accumulator_value=0.5)),
    "rmsprop": ("rmsprop", dict(learning_rate=0.01)),
    "rmsprop-eps": ("rmsprop", dict(learning_rate=0.01, rho=0.7, epsilon=0.2)),
    "rmsprop-momentum-centered": ("rmsprop", dict(learning_rate=0.01, momentum=0.6, centered=True)),
    "rmsprop-global-clipnorm": ("rmsprop", dict(learning_rate=0.01, momentum=0.3, global_clipnorm=2.0)),
    "adam": ("adam", dict(learning_rate=0.02)),
    "adam-eps": ("adam", dict(learning_rate=0.02, beta_1=0.8, beta_2=0.95, epsilon=0.1)),
    "adam-amsgrad": ("adam", dict(learning_rate=0.02, amsgrad=True)),
    "adam-clipnorm": ("adam", dict(learning_rate=0.02, clipnorm=1.5)),
    "adamax": ("adamax", dict(learning_rate=0.02)),
    "adamax-eps": ("adamax", dict(learning_rate=0.02, beta_1=0.7, beta_2=0.9, epsilon=0.2)),
    "nadam": ("nadam", dict(learning_rate=0.02)),
    "nadam-eps-wd": ("nadam", dict(learning_rate=0.02, epsilon=0.1, weight_decay=0.5)),
    "adamw": ("adamw", dict(learning_rate=0.02)),
    "adamw-amsgrad": ("adamw", dict(learning_rate=0.02, weight_decay=0.2, amsgrad=True)),
    "adamw-clipnorm-wide": ("adamw", dict(learning_rate=0.02, clipnorm=1e4)),
}


def _grads(rng, shapes, steps=STEPS):
    # Varying scales so that clipping is active on some tensors and idle on others.
    return [[(rng.standard_normal(s) * (0.3 + 2.0 * (i % 3))).astype(np.float32)
             for i, s in enumerate(shapes)] for _ in range(steps)]


def _params(rng, shapes):
    return [rng.standard_normal(s).astype(np.float32) for s in shapes]


def _check(opt, ref, params, ref_params, start_params):
    for i, (p, r, p0) in enumerate(zip(params, ref_params, start_params)):
        assert_close(p, r, ELEMENTWISE_RTOL, what=f"param {i}")
        # The displacement isolates the update from the (exact) starting values.
        assert_close(p - p0.astype(np.float64), r - p0, REDUCTION_RTOL, what=f"update of param {i}")
    slots = opt.variables()
    expected = ref.flat_slots()
    assert opt.slot_names == ref.slot_names()
    assert len(slots) == len(expected)
    for j, (s, e) in enumerate(zip(slots, expected)):
        assert_close(s, e, ELEMENTWISE_RTOL, what=f"slot {j}")


@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_numpy_keras_rule(case, rng, kernel_impl):
    _matches_numpy_keras_rule(case, rng)


@pytest.mark.parametrize("isa", ["avx512", "avx2", "portable"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_every_isa_matches_numpy_keras_rule(case, isa, rng):
    """The CPU update loop is compiled once per instruction-set level: each copy that the
    machine can run against the float64 rule."""
    if not _core.cpu_isa_supported(isa):
        pytest.skip(f"this CPU has no {isa}")
    _core.set_cpu_isa(isa)
    try:
        _matches_numpy_keras_rule(case, rng)
    finally:
        _core.set_cpu_isa("best")


def _matches_numpy_keras_rule(case, rng):
    name, hyper = CASES[case]
    opt = optimizers.get(name).from_config({**optimizers.get(name).get_config(), **hyper})
    ref = NumpyOptimizer(name, **hyper)
    params = _params(rng, SHAPES)
    start = [p.copy() for p in params]
    ref_params = [p.astype(np.float64) for p in params]
    for grads in _grads(rng, SHAPES):
        before = [g.copy() for g in grads]
        lr = opt.learning_rate
        opt.apply(grads, params)
        ref.step(ref_params, grads, lr)
        for g, b in zip(grads, before):
            np.testing.assert_array_equal(g, b)  # gradients are only read
    assert opt.iterations == STEPS
    _check(opt, ref, params, ref_params, start)


@pytest.mark.parametrize("name,hyper", [(k, dict(clipnorm=3.0)) for k in sorted(KERAS_DEFAULTS)]
                         + [("sgd", dict(momentum=0.9, global_clipnorm=50.0))],
                         ids=lambda v: v if isinstance(v, str) else "-".join(v))
def test_large_tensor_threaded(name, hyper, rng, kernel_impl):
    opt = optimizers.get(name).from_config({**optimizers.get(name).get_config(), **hyper,
                                            "learning_rate": 0.02})
    ref = NumpyOptimizer(name, **hyper)
    shapes = [LARGE, (7,)]
    params = _params(rng, shapes)
    start = [p.copy() for p in params]
    ref_params = [p.astype(np.float64) for p in params]
    for grads in _grads(rng, shapes, steps=3):
        opt.apply(grads, params)
        ref.step(ref_params, grads, opt.learning_rate)
    _check(opt, ref, params, ref_params, start)


@pytest.mark.parametrize("name", sorted(KERAS_DEFAULTS))
def test_defaults_are_keras(name):
    opt = optimizers.get(name)
    config = opt.get_config()
    for key, value in KERAS_DEFAULTS[name].items():
        assert config[key] == pytest.approx(value, rel=1e-6), key
    assert opt.core.config["learning_rate"] == pytest.approx(KERAS_DEFAULTS[name]["learning_rate"])


def test_variables_and_apply_gradients(rng, kernel_impl):
    variables = [Variable(f"w{i}", rng.standard_normal(s)) for i, s in enumerate(SHAPES[:3])]
    ref_params = [v.numpy().astype(np.float64) for v in variables]
    start = [v.numpy() for v in variables]
    opt = optimizers.RMSprop(learning_rate=0.01, momentum=0.5)
    ref = NumpyOptimizer("rmsprop", learning_rate=0.01, momentum=0.5)
    for grads in _grads(rng, SHAPES[:3]):
        assert opt.apply_gradients(zip(grads, variables)) == ref.t + 1
        ref.step(ref_params, grads, 0.01)
    _check(opt, ref, [v.value for v in variables], ref_params, start)


def test_float64_gradients_are_converted(rng):
    params = _params(rng, SHAPES[:2])
    ref_params = [p.astype(np.float64) for p in params]
    opt = optimizers.SGD(learning_rate=0.1, momentum=0.9)
    ref = NumpyOptimizer("sgd", learning_rate=0.1, momentum=0.9)
    for grads in _grads(rng, SHAPES[:2], steps=3):
        grads64 = [g.astype(np.float64) for g in grads]
        opt.apply(grads64, params)
        ref.step(ref_params, grads, 0.1)
    for p, r in zip(params, ref_params):
        assert_close(p, r, ELEMENTWISE_RTOL)


@pytest.mark.parametrize("name", ["sgd", "adam", "nadam"])
def test_learning_rate_schedule(name, rng, kernel_impl):
    schedule = schedules.ExponentialDecay(0.05, decay_steps=7, decay_rate=0.5)
    hyper = dict(momentum=0.9) if name == "sgd" else {}
    opt = optimizers.get(name).from_config({**optimizers.get(name).get_config(), **hyper,
                                            "learning_rate": schedule, "weight_decay": 0.1})
    ref = NumpyOptimizer(name, weight_decay=0.1, **hyper)
    params = _params(rng, SHAPES[:3])
    start = [p.copy() for p in params]
    ref_params = [p.astype(np.float64) for p in params]
    for step, grads in enumerate(_grads(rng, SHAPES[:3])):
        expected_lr = 0.05 * 0.5 ** (step / 7)
        assert opt.learning_rate == pytest.approx(expected_lr, rel=1e-12)
        opt.apply(grads, params)
        ref.step(ref_params, grads, expected_lr)
    _check(opt, ref, params, ref_params, start)
    with pytest.raises(TypeError, match="schedule"):
        opt.learning_rate = 0.1


def test_learning_rate_setter(rng):
    params = _params(rng, SHAPES[:2])
    ref_params = [p.astype(np.float64) for p in params]
    opt = optimizers.Adam(learning_rate=0.02)
    ref = NumpyOptimizer("adam")
    for step, grads in enumerate(_grads(rng, SHAPES[:2], steps=6)):
        lr = 0.02 if step < 3 else 0.005
        opt.learning_rate = lr
        assert opt.learning_rate == pytest.approx(lr)
        opt.apply(grads, params)
        ref.step(ref_params, grads, lr)
    for p, r in zip(params, ref_params):
        assert_close(p, r, ELEMENTWISE_RTOL)


@pytest.mark.parametrize("name,hyper", [("sgd", {}), ("sgd", dict(momentum=0.9)),
                                        ("adagrad", {}), ("rmsprop", dict(centered=True)),
                                        ("adam", dict(amsgrad=True)), ("adamax", {}),
                                        ("nadam", {}), ("adamw", {})],
                         ids=lambda v: v if isinstance(v, str) else "-".join(v) or "default")
def test_state_restore_continues_identically(name, hyper, rng, kernel_impl):
    make = lambda: optimizers.get(name).from_config(  # noqa: E731
        {**optimizers.get(name).get_config(), **hyper, "learning_rate": 0.01})
    params = _params(rng, SHAPES[:3])
    all_grads = _grads(rng, SHAPES[:3], steps=16)
    opt = make()
    for grads in all_grads[:8]:
        opt.apply(grads, params)
    state = opt.get_state()
    saved = [p.copy() for p in params]
    for grads in all_grads[8:]:
        opt.apply(grads, params)

    # Restored into a fresh optimizer (slots created from the state) ...
    fresh = make()
    fresh.set_state(state)
    assert fresh.iterations == 8
    restored = [p.copy() for p in saved]
    for grads in all_grads[8:]:
        fresh.apply(grads, restored)
    # ... and into one that was already built (values copied into its slots).
    built = make()
    again = [p.copy() for p in saved]
    built.apply(all_grads[0], again)
    again = [p.copy() for p in saved]
    built.set_state(state)
    for grads in all_grads[8:]:
        built.apply(grads, again)
    for p, r, a in zip(params, restored, again):
        np.testing.assert_array_equal(r, p)
        np.testing.assert_array_equal(a, p)
    assert fresh.iterations == built.iterations == opt.iterations == 16


def test_state_is_a_copy_and_variables_are_live(rng):
    params = _params(rng, SHAPES[:2])
    opt = optimizers.Adam()
    opt.apply(_grads(rng, SHAPES[:2], steps=1)[0], params)
    state = opt.get_state()
    assert [s.shape for s in state["slots"]] == [SHAPES[0]] * 2 + [SHAPES[1]] * 2
    state["slots"][0][...] = 7.0
    assert not np.any(opt.variables()[0] == 7.0)
    opt.variables()[0][...] = 3.0
    assert np.all(opt.get_state()["slots"][0] == 3.0)


def test_empty_update_is_a_no_op():
    opt = optimizers.Adam()
    assert opt.apply_gradients([]) == 0
    assert opt.iterations == 0


def test_non_finite_gradients_are_left_as_is():
    p = np.ones(7, np.float32)
    g = np.ones(7, np.float32)
    g[3] = np.nan
    optimizers.SGD(learning_rate=0.1).apply([g], [p])
    assert np.isnan(p[3]) and np.all(p[np.arange(7) != 3] == np.float32(0.9))


def test_config_roundtrip():
    schedule = schedules.CosineDecay(0.1, 50, alpha=0.1)
    opt = optimizers.Adam(learning_rate=schedule, beta_1=0.8, amsgrad=True, clipnorm=2.0)
    again = optimizers.deserialize(optimizers.serialize(opt))
    assert isinstance(again, optimizers.Adam)
    config = again.get_config()
    assert config == opt.get_config()
    assert config["learning_rate"]["class_name"] == "CosineDecay"
    assert again.learning_rate == pytest.approx(0.1)
    sgd = optimizers.get({"class_name": "SGD", "config": {"learning_rate": 0.3, "momentum": 0.5}})
    assert sgd.learning_rate == pytest.approx(0.3)
    assert sgd.get_config()["momentum"] == 0.5
    assert optimizers.get(sgd) is sgd
    assert isinstance(optimizers.get("RMSprop"), optimizers.RMSprop)


# ---- bad input ----------------------------------------------------------------------

def test_unknown_optimizer():
    with pytest.raises(ValueError, match="unknown optimizer 'adamm'"):
        optimizers.get("adamm")
    with pytest.raises(ValueError, match="unknown optimizer"):
        _core.CoreOptimizer("lbfgs")
    with pytest.raises(TypeError):
        optimizers.get(3.5)


@pytest.mark.parametrize("make,match", [
    (lambda: optimizers.SGD(learning_rate=-0.1), "learning_rate must be a finite number >= 0, got -0.1"),
    (lambda: optimizers.Adam(learning_rate=float("nan")), "learning_rate"),
    (lambda: optimizers.SGD(momentum=1.5), "momentum"),
    (lambda: optimizers.Adam(beta_1=1.0), r"beta_1 must be in \[0, 1\)"),
    (lambda: optimizers.RMSprop(rho=-0.1), "rho"),
    (lambda: optimizers.Adagrad(epsilon=-1.0), "epsilon"),
    (lambda: optimizers.Adam(weight_decay=-0.1), "weight_decay"),
    (lambda: optimizers.Adam(clipnorm=1.0, global_clipnorm=1.0), "only one of clipnorm and global_clipnorm"),
    (lambda: optimizers.AdamW(weight_decay=None), "weight_decay"),
], ids=["negative-lr", "nan-lr", "momentum", "beta_1", "rho", "epsilon", "weight_decay",
        "two-clipnorms", "adamw-no-decay"])
def test_bad_hyperparameters(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_learning_rate_later(rng):
    opt = optimizers.SGD()
    with pytest.raises(ValueError, match="learning_rate"):
        opt.learning_rate = -1.0
    bad = optimizers.SGD(learning_rate=schedules.PiecewiseConstantDecay([2], [0.1, -0.1]))
    p = _params(rng, [(7,)])
    bad.apply([np.ones(7, np.float32)], p)
    bad.apply([np.ones(7, np.float32)], p)
    bad.apply([np.ones(7, np.float32)], p)
    with pytest.raises(ValueError, match="learning_rate"):
        bad.apply([np.ones(7, np.float32)], p)


def test_unknown_hyperparameter():
    with pytest.raises(TypeError, match="unknown hyperparameter 'betta'"):
        _core.CoreOptimizer("adam", betta=0.3)
    with pytest.raises(TypeError, match="momentum must be a number"):
        _core.CoreOptimizer("sgd", momentum="high")


def test_mismatched_shapes_and_counts(rng, kernel_impl):
    params = _params(rng, [(7,), (13, 5)])
    opt = optimizers.Adam()
    with pytest.raises(ValueError, match=r"grads\[1\] float32\[5, 13\] does not match params\[1\] float32\[13, 5\]"):
        opt.apply([np.ones(7, np.float32), np.ones((5, 13), np.float32)], params)
    with pytest.raises(ValueError, match="got 1 gradients for 2 variables"):
        opt.apply([np.ones(7, np.float32)], params)
    with pytest.raises(ValueError, match="got 2 parameters but 1 gradients"):
        opt.core.apply(params, [np.ones(7, np.float32)])
    assert opt.iterations == 0
    opt.apply([np.ones(7, np.float32), np.ones((13, 5), np.float32)], params)
    # Later steps must pass the same list: same count, same shapes.
    other = _params(rng, [(7,), (5, 13)])
    with pytest.raises(ValueError, match=r"params\[1\] has shape \[5, 13\] but its slots were built for \[13, 5\]"):
        opt.apply([np.ones(7, np.float32), np.ones((5, 13), np.float32)], other)
    with pytest.raises(ValueError, match="built for 2"):
        opt.apply([np.ones(7, np.float32)], params[:1])
    with pytest.raises(ValueError, match="gradient 0 is None"):
        opt.apply([None, np.ones((13, 5), np.float32)], params)
    assert opt.iterations == 1


def test_bad_parameter_arrays(rng):
    opt = optimizers.SGD()
    g = np.ones((4, 6), np.float32)
    with pytest.raises(TypeError, match=r"params\[0\] must be a float32 or int64 array, got dtype float64"):
        opt.core.apply([np.ones((4, 6))], [g])
    with pytest.raises(TypeError, match="float32"):
        opt.core.apply([np.ones((4, 6), np.int64)], [g])
    with pytest.raises(ValueError, match=r"params\[0\] must be C-contiguous"):
        opt.core.apply([np.ones((4, 12), np.float32)[:, ::2]], [g])
    ro = np.ones((4, 6), np.float32)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        opt.core.apply([ro], [g])
    with pytest.raises(TypeError, match="must be a numpy float32 array"):
        opt.core.apply([[1.0, 2.0]], [[1.0, 1.0]])
    with pytest.raises(TypeError, match="must be a numpy float32 array or have a `.value` array"):
        opt.apply([g], ["w"])
    with pytest.raises(ValueError, match="pass the variables"):
        opt.apply([g])


def test_bad_state(rng):
    params = _params(rng, [(7,), (13, 5)])
    opt = optimizers.Adam()
    opt.apply([np.ones(7, np.float32), np.ones((13, 5), np.float32)], params)
    state = opt.get_state()
    with pytest.raises(ValueError, match="expected 4 slot tensors"):
        opt.set_state({"iterations": 1, "slots": state["slots"][:3]})
    swapped = [state["slots"][0], state["slots"][1], state["slots"][2].T.copy(), state["slots"][3]]
    with pytest.raises(ValueError, match=r"state\[2\] has shape \[5, 13\], expected \[13, 5\]"):
        opt.set_state({"iterations": 1, "slots": swapped})
    with pytest.raises(ValueError, match="iterations must be >= 0"):
        opt.set_state({"iterations": -1, "slots": state["slots"]})
    with pytest.raises(ValueError, match="keeps no slots"):
        optimizers.SGD().set_state({"iterations": 1, "slots": state["slots"]})
    with pytest.raises(ValueError, match="multiple of 2"):
        optimizers.Adam().set_state({"iterations": 1, "slots": state["slots"][:3]})
    # A fresh optimizer restored from a state checks the shapes at its first step.
    fresh = optimizers.Adam()
    fresh.set_state(state)
    with pytest.raises(ValueError, match="slots were built for"):
        fresh.apply([np.ones(7, np.float32), np.ones((5, 13), np.float32)],
                    _params(rng, [(7,), (5, 13)]))


@contextlib.contextmanager
def _kernel_variant(name):
    _core.set_kernel_variant(name)
    try:
        yield
    finally:
        _core.set_kernel_variant("cpu")


@pytest.mark.parametrize("case", sorted(CASES))
def test_cuda_kernels_emulated_match_cpu(case, rng):
    """The CUDA kernels' bodies looped over their grid on the host ("cuda-emulated"): every
    kind and clipping option (the norms go through the block reduction, several blocks on
    LARGE) against the optimized CPU kernels."""
    name, hyper = CASES[case]
    shapes = SHAPES + [LARGE]
    start = _params(rng, shapes)
    all_grads = _grads(rng, shapes, steps=4)
    results = {}
    for variant in ("cpu", "cuda-emulated"):
        with _kernel_variant(variant):
            opt = optimizers.get(name).from_config({**optimizers.get(name).get_config(), **hyper})
            params = [p.copy() for p in start]
            for grads in all_grads:
                opt.apply(grads, params)
            results[variant] = params + [np.array(s) for s in opt.variables()]
    for i, (emulated, cpu) in enumerate(zip(results["cuda-emulated"], results["cpu"])):
        assert_close(emulated, cpu, 1e-5, what=f"param or slot {i}")


def test_cuda_emulated_train_step_rejects_infinite_gradients():
    # loss = (x w)^2 = 1e38 fits float32; its gradient 2 x (x w) x = 2e39 does not: the
    # emulated all_finite reduction must see it before the update.
    g = _core.Graph()
    g.add_input("x", [1])
    g.set_initializer("w", np.array([0.1], np.float32), True)
    g.add_node("Mul", ["x", "w"], ["y"])
    g.add_node("Mul", ["y", "y"], ["loss"])
    g.add_output("loss")
    with _kernel_variant("cuda-emulated"):
        ex = _core.Executor(g)
        ex.set_optimizer(_core.CoreOptimizer("sgd", learning_rate=0.5), ["w"])
        with pytest.raises(FloatingPointError, match="gradients' global norm is inf"):
            ex.train_step([np.array([1e20], np.float32)], "loss")
        # A finite step goes through: w -= 0.5 * 2 x^2 w.
        ex.train_step([np.array([0.5], np.float32)], "loss")
    np.testing.assert_allclose(g.initializer("w"), [0.1 - 0.5 * 2 * 0.25 * 0.1], rtol=1e-6)
