"""Learning-rate schedules against their formulas at many steps."""
import math

import numpy as np
import pytest

from engine import schedules

STEPS = list(range(0, 400, 7)) + [1, 2, 99, 100, 101, 1000, 12345]


@pytest.mark.parametrize("staircase", [False, True])
def test_exponential_decay(staircase):
    s = schedules.ExponentialDecay(0.3, decay_steps=37, decay_rate=0.6, staircase=staircase)
    for step in STEPS:
        p = step // 37 if staircase else step / 37
        assert s(step) == pytest.approx(0.3 * 0.6 ** p, rel=1e-12), step
    assert s(np.int64(74)) == pytest.approx(0.3 * 0.36)


@pytest.mark.parametrize("staircase", [False, True])
def test_inverse_time_decay(staircase):
    s = schedules.InverseTimeDecay(0.2, decay_steps=13, decay_rate=1.5, staircase=staircase)
    for step in STEPS:
        p = math.floor(step / 13) if staircase else step / 13
        assert s(step) == pytest.approx(0.2 / (1 + 1.5 * p), rel=1e-12), step


def test_piecewise_constant_decay():
    s = schedules.PiecewiseConstantDecay([10, 100, 250], [1.0, 0.5, 0.1, 0.01])
    for step in STEPS:
        expected = 1.0 if step <= 10 else 0.5 if step <= 100 else 0.1 if step <= 250 else 0.01
        assert s(step) == expected, step
    assert s(10) == 1.0 and s(11) == 0.5 and s(251) == 0.01


@pytest.mark.parametrize("alpha", [0.0, 0.2])
def test_cosine_decay(alpha):
    s = schedules.CosineDecay(0.1, decay_steps=157, alpha=alpha)
    for step in STEPS:
        frac = min(step, 157) / 157
        expected = 0.1 * ((1 - alpha) * 0.5 * (1 + np.cos(np.pi * frac)) + alpha)
        assert s(step) == pytest.approx(expected, rel=1e-12, abs=1e-15), step
    assert s(0) == pytest.approx(0.1)
    assert s(10**6) == pytest.approx(0.1 * alpha, abs=1e-15)


def test_cosine_decay_with_warmup():
    s = schedules.CosineDecay(0.01, decay_steps=200, alpha=0.1, warmup_target=0.5, warmup_steps=33)
    for step in STEPS:
        t = min(step, 233)
        if t < 33:
            expected = 0.01 + (0.5 - 0.01) * t / 33
        else:
            expected = 0.5 * (0.9 * 0.5 * (1 + np.cos(np.pi * (t - 33) / 200)) + 0.1)
        assert s(step) == pytest.approx(expected, rel=1e-12), step
    assert s(33) == pytest.approx(0.5)


@pytest.mark.parametrize("total", [1, 7, 100, 1001])
def test_one_cycle_defaults(total):
    s = schedules.OneCycle(0.2, total)
    last = total // 10 + 1
    half = (total - last) // 2
    start, final = 0.02, 0.02 / 1000
    for step in list(range(0, total + 5)) + STEPS:
        if step < half:
            expected = start + (0.2 - start) * step / half
        elif step < 2 * half:
            expected = 0.2 + (start - 0.2) * (step - half) / half
        elif step <= total:
            expected = start + (final - start) * (step - 2 * half) / (total - 2 * half)
        else:
            expected = final
        assert s(step) == pytest.approx(expected, rel=1e-12, abs=1e-18), step
    assert s(0) == pytest.approx(start if half > 0 else start)
    if half > 0:
        assert s(half) == pytest.approx(0.2)
        assert s(2 * half) == pytest.approx(start)
    assert s(total) == pytest.approx(final)


def test_one_cycle_custom():
    s = schedules.OneCycle(1.0, 120, start_learning_rate=0.3, last_steps=20, last_learning_rate=0.001)
    assert s(0) == pytest.approx(0.3)
    assert s(25) == pytest.approx(0.3 + 0.7 * 25 / 50)
    assert s(50) == pytest.approx(1.0)
    assert s(75) == pytest.approx(1.0 - 0.7 * 25 / 50)
    assert s(100) == pytest.approx(0.3)
    assert s(110) == pytest.approx(0.3 + (0.001 - 0.3) * 10 / 20)
    assert s(120) == pytest.approx(0.001)
    assert s(500) == pytest.approx(0.001)


@pytest.mark.parametrize("schedule", [
    schedules.ExponentialDecay(0.1, 10, 0.9, staircase=True),
    schedules.PiecewiseConstantDecay([5, 9], [0.3, 0.2, 0.1]),
    schedules.InverseTimeDecay(0.1, 3, 0.5),
    schedules.CosineDecay(0.1, 40, alpha=0.05, warmup_target=0.3, warmup_steps=5),
    schedules.OneCycle(0.5, 77, last_steps=9),
], ids=lambda s: type(s).__name__)
def test_config_roundtrip(schedule):
    again = schedules.deserialize(schedules.serialize(schedule))
    assert type(again) is type(schedule)
    assert again.get_config() == schedule.get_config()
    for step in range(0, 90, 3):
        assert again(step) == schedule(step)


@pytest.mark.parametrize("make,match", [
    (lambda: schedules.ExponentialDecay(0.1, 0, 0.5), "decay_steps"),
    (lambda: schedules.InverseTimeDecay(0.1, -3, 0.5), "decay_steps"),
    (lambda: schedules.CosineDecay(0.1, 0), "decay_steps"),
    (lambda: schedules.CosineDecay(0.1, 10, warmup_target=0.2, warmup_steps=-1), "warmup_steps"),
    (lambda: schedules.PiecewiseConstantDecay([1, 2], [0.1, 0.2]), "1 less than"),
    (lambda: schedules.PiecewiseConstantDecay([5, 2], [0.1, 0.2, 0.3]), "increase strictly"),
    (lambda: schedules.OneCycle(0.1, 0), "total_steps"),
    (lambda: schedules.OneCycle(0.1, 10, last_steps=11), "last_steps"),
    (lambda: schedules.OneCycle(-0.1, 10), "max_learning_rate"),
    (lambda: schedules.deserialize({"class_name": "Warp", "config": {}}), "unknown learning-rate schedule"),
], ids=["exp-steps", "inv-steps", "cos-steps", "warmup", "piecewise-len", "piecewise-order",
        "1cycle-total", "1cycle-last", "1cycle-max", "unknown"])
def test_bad_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()
