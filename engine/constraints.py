"""Weight constraints (Keras names): applied to a variable right after each update."""
import numpy as np


class Constraint:
    def __call__(self, w):
        return w

    def get_config(self):
        return {}


class MaxNorm(Constraint):
    """Rescales weights whose norm along `axis` exceeds max_value (Keras: axis 0 suits a
    Dense kernel [in, out]; for this engine's conv kernels [OC, IC, KH, KW] use
    axis=(1, 2, 3))."""

    def __init__(self, max_value=2.0, axis=0):
        self.max_value = float(max_value)
        self.axis = tuple(axis) if isinstance(axis, (list, tuple)) else int(axis)

    def __call__(self, w):
        norms = np.sqrt(np.sum(np.square(w), axis=self.axis, keepdims=True))
        desired = np.clip(norms, 0.0, self.max_value)
        return (w * (desired / (1e-7 + norms))).astype(w.dtype)

    def get_config(self):
        return {"max_value": self.max_value, "axis": list(self.axis) if isinstance(self.axis, tuple) else self.axis}


class NonNeg(Constraint):
    def __call__(self, w):
        return np.maximum(w, 0).astype(w.dtype)


class FunctionConstraint(Constraint):
    """A constraint written as a function of the weights (engine.ops or numpy on arrays)."""

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, w):
        return np.asarray(self.fn(w), dtype=np.float32)

    def get_config(self):
        return {"name": self.fn.__name__}


_BY_NAME = {"max_norm": MaxNorm, "maxnorm": MaxNorm, "non_neg": NonNeg, "nonneg": NonNeg}


def get(identifier):
    if identifier is None or isinstance(identifier, Constraint):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _BY_NAME:
        return _BY_NAME[identifier.lower()]()
    if isinstance(identifier, dict) and identifier.get("class_name") in ("MaxNorm", "NonNeg"):
        return {"MaxNorm": MaxNorm, "NonNeg": NonNeg}[identifier["class_name"]](**identifier.get("config", {}))
    if callable(identifier) and not isinstance(identifier, (str, type)):
        return FunctionConstraint(identifier)
    if isinstance(identifier, dict) and "class_name" in identifier:  # a custom one, saved by name
        from engine import saving

        return saving.deserialize_custom("constraint", identifier, FunctionConstraint)
    raise ValueError(f"unknown constraint {identifier!r}; use 'max_norm', 'non_neg', an instance or a function")


def serialize(constraint):
    if constraint is None:
        return None
    return {"class_name": type(constraint).__name__, "config": constraint.get_config()}


def max_norm(max_value=2.0, axis=0):
    return MaxNorm(max_value, axis)
