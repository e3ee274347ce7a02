"""Weight initializers with Keras names and formulas (seeded by engine.set_seed).

Fans follow Keras: for a Dense kernel [in, out], fan_in = in and fan_out = out; for a
convolution kernel [OC, IC/groups, KH, KW] (ONNX layout), the receptive field is KH*KW,
fan_in = IC/groups * KH * KW and fan_out = OC * KH * KW.
"""
import abc
import math

import numpy as np

from engine import _random


def compute_fans(shape):
    shape = tuple(shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


class Initializer(abc.ABC):
    @abc.abstractmethod
    def __call__(self, shape):
        """float32 values of the given shape."""

    def get_config(self):
        return {}


class Constant(Initializer):
    def __init__(self, value=0.0):
        self.value = float(value)

    def __call__(self, shape):
        return np.full(shape, self.value, dtype=np.float32)

    def get_config(self):
        return {"value": self.value}


class Zeros(Constant):
    def __init__(self):
        super().__init__(0.0)

    def get_config(self):
        return {}


class Ones(Constant):
    def __init__(self):
        super().__init__(1.0)

    def get_config(self):
        return {}


class VarianceScaling(Initializer):
    """scale / fan (fan_in, fan_out or their average), normal (truncated) or uniform."""

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal"):
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"VarianceScaling: mode must be fan_in, fan_out or fan_avg, got {mode!r}")
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform"):
            raise ValueError(f"VarianceScaling: unknown distribution {distribution!r}")
        self.scale, self.mode, self.distribution = float(scale), mode, distribution

    def __call__(self, shape):
        fan_in, fan_out = compute_fans(shape)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        variance = self.scale / max(1.0, fan)
        rng = _random.generator()
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * variance)
            values = rng.uniform(-limit, limit, size=shape)
        elif self.distribution == "untruncated_normal":
            values = rng.normal(0.0, math.sqrt(variance), size=shape)
        else:
            # Keras truncates at two standard deviations; 0.8796... is the std of a unit
            # normal truncated there, divided out so the variance is as requested.
            std = math.sqrt(variance) / 0.87962566103423978
            values = rng.normal(0.0, std, size=shape)
            bad = np.abs(values) > 2 * std
            while np.any(bad):
                values[bad] = rng.normal(0.0, std, size=int(bad.sum()))
                bad = np.abs(values) > 2 * std
        return values.astype(np.float32)

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution}


class GlorotUniform(VarianceScaling):
    def __init__(self):
        super().__init__(1.0, "fan_avg", "uniform")


class GlorotNormal(VarianceScaling):
    def __init__(self):
        super().__init__(1.0, "fan_avg", "truncated_normal")


class HeNormal(VarianceScaling):
    def __init__(self):
        super().__init__(2.0, "fan_in", "truncated_normal")


class HeUniform(VarianceScaling):
    def __init__(self):
        super().__init__(2.0, "fan_in", "uniform")


class LecunNormal(VarianceScaling):
    def __init__(self):
        super().__init__(1.0, "fan_in", "truncated_normal")


class LecunUniform(VarianceScaling):
    def __init__(self):
        super().__init__(1.0, "fan_in", "uniform")


class RandomUniform(Initializer):
    """U[minval, maxval); Keras's default range is [-0.05, 0.05] (Embedding's "uniform")."""

    def __init__(self, minval=-0.05, maxval=0.05):
        self.minval, self.maxval = float(minval), float(maxval)

    def __call__(self, shape):
        return _random.generator().uniform(self.minval, self.maxval, size=shape).astype(np.float32)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval}


class RandomNormal(Initializer):
    """N(mean, stddev^2), Keras's stddev 0.05."""

    def __init__(self, mean=0.0, stddev=0.05):
        self.mean, self.stddev = float(mean), float(stddev)

    def __call__(self, shape):
        return _random.generator().normal(self.mean, self.stddev, size=shape).astype(np.float32)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev}


class TruncatedNormal(RandomNormal):
    """N(mean, stddev^2) redrawn outside two standard deviations (Keras)."""

    def __call__(self, shape):
        rng = _random.generator()
        values = rng.normal(self.mean, self.stddev, size=shape)
        bad = np.abs(values - self.mean) > 2 * self.stddev
        while np.any(bad):
            values[bad] = rng.normal(self.mean, self.stddev, size=int(bad.sum()))
            bad = np.abs(values - self.mean) > 2 * self.stddev
        return values.astype(np.float32)


class Orthogonal(Initializer):
    """A random orthogonal matrix (rows or columns orthonormal) times `gain`, from the QR
    decomposition of a normal draw; shapes of rank > 2 are flattened to [prod(leading), last]
    (Keras; the recurrent layers' default for their recurrent kernels)."""

    def __init__(self, gain=1.0):
        self.gain = float(gain)

    def __call__(self, shape):
        if len(shape) < 2:
            raise ValueError(f"Orthogonal: needs a shape of rank >= 2, got {tuple(shape)}")
        rows, cols = int(np.prod(shape[:-1])), int(shape[-1])
        draw = _random.generator().normal(size=(max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(draw)
        q *= np.sign(np.diag(r))  # a uniform distribution over orthogonal matrices
        if rows < cols:
            q = q.T
        return (self.gain * q).reshape(shape).astype(np.float32)

    def get_config(self):
        return {"gain": self.gain}


_BY_NAME = {
    "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal,
    "he_normal": HeNormal, "he_uniform": HeUniform,
    "lecun_normal": LecunNormal, "lecun_uniform": LecunUniform,
    "zeros": Zeros, "ones": Ones, "constant": Constant,
    "uniform": RandomUniform, "random_uniform": RandomUniform, "normal": RandomNormal,
    "random_normal": RandomNormal, "truncated_normal": TruncatedNormal, "orthogonal": Orthogonal,
}


def get(identifier):
    """An initializer from a name ("he_normal"), an instance, or a callable(shape)."""
    if isinstance(identifier, Initializer) or callable(identifier):
        return identifier
    if isinstance(identifier, str):
        key = identifier.lower()
        if key not in _BY_NAME:
            raise ValueError(f"unknown initializer {identifier!r}; known: {sorted(_BY_NAME)}")
        return _BY_NAME[key]()
    raise TypeError(f"initializer must be a name, an Initializer or a callable, got {identifier!r}")
