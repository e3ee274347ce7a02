"""Learning-rate schedules: callables `step -> learning rate` (Keras 3 formulas).

An optimizer given a schedule as its `learning_rate` evaluates it at its current
`iterations` (0 for the first step) before every update.
"""
import abc
import math

__all__ = ["LearningRateSchedule", "ExponentialDecay", "PiecewiseConstantDecay",
           "InverseTimeDecay", "CosineDecay", "OneCycle", "serialize", "deserialize"]


def _positive(name, value, cls):
    if not value > 0:
        raise ValueError(f"{cls}: `{name}` must be > 0, got {name}={value!r}")
    return value


class LearningRateSchedule(abc.ABC):
    """Base class: `__call__(step) -> float` and `get_config()`."""

    @abc.abstractmethod
    def __call__(self, step):
        """The learning rate at optimizer step `step`."""

    @abc.abstractmethod
    def get_config(self):
        """The constructor arguments."""

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class _TimeDecay(LearningRateSchedule):
    """Shared by the decays driven by p = step / decay_steps (floored with staircase)."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase, name):
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = _positive("decay_steps", decay_steps, type(self).__name__)
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    def _progress(self, step):
        p = float(step) / self.decay_steps
        return math.floor(p) if self.staircase else p

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


class ExponentialDecay(_TimeDecay):
    """lr = initial_learning_rate * decay_rate ** (step / decay_steps); with staircase the
    exponent is floored."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="ExponentialDecay"):
        super().__init__(initial_learning_rate, decay_steps, decay_rate, staircase, name)

    def __call__(self, step):
        return float(self.initial_learning_rate * self.decay_rate ** self._progress(step))


class PiecewiseConstantDecay(LearningRateSchedule):
    """values[0] while step <= boundaries[0], values[i] while boundaries[i-1] < step <=
    boundaries[i], values[-1] once step > boundaries[-1]."""

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        boundaries, values = list(boundaries), list(values)
        if len(boundaries) != len(values) - 1:
            raise ValueError(
                "PiecewiseConstantDecay: the length of boundaries should be 1 less than the "
                f"length of values, got boundaries={boundaries} of length {len(boundaries)} "
                f"and values={values} of length {len(values)}")
        if any(b >= c for b, c in zip(boundaries, boundaries[1:])):
            raise ValueError(f"PiecewiseConstantDecay: boundaries must increase strictly, "
                             f"got {boundaries}")
        self.boundaries = boundaries
        self.values = values
        self.name = name

    def __call__(self, step):
        for boundary, value in zip(self.boundaries, self.values):
            if step <= boundary:
                return float(value)
        return float(self.values[-1])

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class InverseTimeDecay(_TimeDecay):
    """lr = initial_learning_rate / (1 + decay_rate * step / decay_steps) (power scheduling
    with power 1); with staircase, step / decay_steps is floored."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="InverseTimeDecay"):
        super().__init__(initial_learning_rate, decay_steps, decay_rate, staircase, name)

    def __call__(self, step):
        return float(self.initial_learning_rate / (1.0 + self.decay_rate * self._progress(step)))


class CosineDecay(LearningRateSchedule):
    """Cosine decay with an optional linear warmup (Keras 3).

    Without warmup_target: s = min(step, decay_steps) and
    lr = initial_learning_rate * ((1 - alpha) * 0.5 * (1 + cos(pi * s / decay_steps)) + alpha).
    With warmup_target: s = min(step, warmup_steps + decay_steps); while s < warmup_steps,
    lr rises linearly from initial_learning_rate to warmup_target, then decays as above
    from warmup_target over s - warmup_steps.
    """

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay",
                 warmup_target=None, warmup_steps=0):
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = _positive("decay_steps", decay_steps, "CosineDecay")
        self.alpha = alpha
        self.name = name
        self.warmup_target = warmup_target
        if warmup_steps < 0:
            raise ValueError(f"CosineDecay: `warmup_steps` must be >= 0, got {warmup_steps!r}")
        self.warmup_steps = warmup_steps

    def _decay(self, step, decay_from):
        cosine = 0.5 * (1.0 + math.cos(math.pi * step / self.decay_steps))
        return decay_from * ((1.0 - self.alpha) * cosine + self.alpha)

    def __call__(self, step):
        step = float(step)
        if self.warmup_target is None:
            return float(self._decay(min(step, self.decay_steps), self.initial_learning_rate))
        step = min(step, self.decay_steps + self.warmup_steps)
        if step < self.warmup_steps:
            delta = self.warmup_target - self.initial_learning_rate
            return float(delta * step / self.warmup_steps + self.initial_learning_rate)
        return float(self._decay(step - self.warmup_steps, self.warmup_target))

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "alpha": self.alpha, "name": self.name,
                "warmup_target": self.warmup_target, "warmup_steps": self.warmup_steps}


class OneCycle(LearningRateSchedule):
    """1cycle scheduling (Smith 2018), piecewise linear in the step:

    with last = last_steps (default total_steps // 10 + 1), half = (total_steps - last) // 2,
    start = start_learning_rate (default max_learning_rate / 10) and
    final = last_learning_rate (default start / 1000):
      step in [0, half):            start -> max_learning_rate
      step in [half, 2*half):       max_learning_rate -> start
      step in [2*half, total_steps]: start -> final
    and `final` beyond total_steps. Each segment interpolates linearly between its end
    values at its end steps: lr = a + (b - a) * (step - s0) / (s1 - s0).
    """

    def __init__(self, max_learning_rate, total_steps, start_learning_rate=None,
                 last_steps=None, last_learning_rate=None, name="OneCycle"):
        self.max_learning_rate = _positive("max_learning_rate", max_learning_rate, "OneCycle")
        if not isinstance(total_steps, int) or total_steps < 1:
            raise ValueError(f"OneCycle: `total_steps` must be an int >= 1, got {total_steps!r}")
        self.total_steps = total_steps
        self.start_learning_rate = start_learning_rate
        self.last_steps = last_steps
        self.last_learning_rate = last_learning_rate
        self.name = name
        self._start = max_learning_rate / 10 if start_learning_rate is None else start_learning_rate
        self._final = self._start / 1000 if last_learning_rate is None else last_learning_rate
        self._last = total_steps // 10 + 1 if last_steps is None else last_steps
        if not isinstance(self._last, int) or not 1 <= self._last <= total_steps:
            raise ValueError(f"OneCycle: `last_steps` must be an int in [1, total_steps="
                             f"{total_steps}], got {last_steps!r}")
        self._half = (total_steps - self._last) // 2

    @staticmethod
    def _interpolate(step, s0, s1, a, b):
        return a + (b - a) * (step - s0) / (s1 - s0)

    def __call__(self, step):
        step = float(step)
        half, total = self._half, self.total_steps
        if step < half:
            return float(self._interpolate(step, 0, half, self._start, self.max_learning_rate))
        if step < 2 * half:
            return float(self._interpolate(step, half, 2 * half, self.max_learning_rate,
                                           self._start))
        if step <= total:
            return float(self._interpolate(step, 2 * half, total, self._start, self._final))
        return float(self._final)

    def get_config(self):
        return {"max_learning_rate": self.max_learning_rate, "total_steps": self.total_steps,
                "start_learning_rate": self.start_learning_rate,
                "last_steps": self.last_steps, "last_learning_rate": self.last_learning_rate,
                "name": self.name}


_SCHEDULES = {cls.__name__: cls for cls in (ExponentialDecay, PiecewiseConstantDecay,
                                            InverseTimeDecay, CosineDecay, OneCycle)}


def serialize(schedule):
    """{"class_name": ..., "config": ...} for a schedule of this module."""
    return {"class_name": type(schedule).__name__, "config": schedule.get_config()}


def deserialize(config):
    """The schedule described by serialize()'s dict."""
    name = config.get("class_name")
    if name not in _SCHEDULES:
        raise ValueError(f"unknown learning-rate schedule {name!r} "
                         f"(expected one of {', '.join(sorted(_SCHEDULES))})")
    return _SCHEDULES[name].from_config(config.get("config", {}))
