"""Weight regularizers (Keras names and defaults): penalties added to the training loss.

In a compiled model the penalty is part of the core training graph, so its gradient flows
with the rest: L2 adds l2 * sum(w^2), L1 adds l1 * sum(|w|).
"""
import numpy as np


class Regularizer:
    """A subclass written as Keras does defines __call__(weights) with engine.ops: it computes
    on arrays (`layer.losses`) and is traced into the training graph."""

    def __call__(self, w):
        """The penalty for weights `w`, as Keras computes it."""
        raise NotImplementedError(f"{type(self).__name__}: a Regularizer subclass defines __call__(weights)")

    def emit(self, builder, w, shape, name):
        """Adds nodes computing the penalty of graph value `w`; returns its scalar name."""
        from engine.layers.base import Trace

        trace = Trace(self, [tuple(shape)], ["float32"], name)
        if trace.outputs[0].shape != ():
            raise ValueError(f"{name}: a regularizer must return a scalar, got shape {trace.outputs[0].shape}")
        return trace.emit(builder, [w])[0]


class FunctionRegularizer(Regularizer):
    """A regularizer written as a function of the weights with engine.ops."""

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, w):
        return self.fn(w)

    def get_config(self):
        return {"name": self.fn.__name__}

    def get_config(self):
        return {}


def _flat(builder, w, name):
    spec = builder.constant(np.array([-1], np.int64), name + "/flat_shape")
    return builder.node("Reshape", [w, spec], name=name + "/flat")[0]


def _scaled(builder, value, factor, name):
    k = builder.constant(np.array(factor, np.float32), name + "/factor")
    return builder.node("Mul", [value, k], name=name + "/scaled")[0]


class L1L2(Regularizer):
    def __init__(self, l1=0.0, l2=0.0):
        self.l1, self.l2 = float(l1), float(l2)
        if self.l1 < 0 or self.l2 < 0:
            raise ValueError(f"regularization factors must be >= 0, got l1={l1}, l2={l2}")

    def __call__(self, w):
        w = np.asarray(w, np.float64)
        return self.l1 * np.abs(w).sum() + self.l2 * np.square(w).sum()

    def emit(self, builder, w, shape, name):
        terms = []
        if self.l2:
            flat = _flat(builder, w, name + "/l2")
            squares = builder.node("MatMul", [flat, flat], name=name + "/l2/sum_squares")[0]
            terms.append(_scaled(builder, squares, self.l2, name + "/l2"))
        if self.l1:
            # sum|w| = n * mean|w - 0|, the mean absolute error against zeros.
            n = int(np.prod(shape))
            row_shape = builder.constant(np.array([1, -1], np.int64), name + "/l1/row_shape")
            row = builder.node("Reshape", [w, row_shape], name=name + "/l1/row")[0]
            zeros = builder.constant(np.zeros((1, n), np.float32), name + "/l1/zeros")
            mean = builder.node("MeanAbsoluteError", [row, zeros], attrs={"reduction": "sum"},
                                name=name + "/l1/mean_abs", domain="engine")[0]
            terms.append(_scaled(builder, mean, self.l1 * n, name + "/l1"))
        total = terms[0] if terms else None
        for t in terms[1:]:
            total = builder.node("Add", [total, t], name=name + "/sum")[0]
        return total

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    def __init__(self, l1=0.01):
        super().__init__(l1=l1)

    def get_config(self):
        return {"l1": self.l1}


class L2(L1L2):
    def __init__(self, l2=0.01):
        super().__init__(l2=l2)

    def get_config(self):
        return {"l2": self.l2}


_BY_NAME = {"l1": L1, "l2": L2, "l1_l2": L1L2, "l1l2": L1L2}


def get(identifier):
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _BY_NAME:
        return _BY_NAME[identifier.lower()]()
    if isinstance(identifier, dict) and identifier.get("class_name") in ("L1", "L2", "L1L2"):
        return {"L1": L1, "L2": L2, "L1L2": L1L2}[identifier["class_name"]](**identifier.get("config", {}))
    if callable(identifier) and not isinstance(identifier, (str, type)):
        return FunctionRegularizer(identifier)
    if isinstance(identifier, dict) and "class_name" in identifier:  # a custom one, saved by name
        from engine import saving

        return saving.deserialize_custom("regularizer", identifier, FunctionRegularizer)
    raise ValueError(f"unknown regularizer {identifier!r}; use 'l1', 'l2', 'l1_l2', an instance or a function")


def serialize(regularizer):
    if regularizer is None:
        return None
    return {"class_name": type(regularizer).__name__, "config": regularizer.get_config()}


def l1(l1=0.01):
    return L1(l1)


def l2(l2=0.01):
    return L2(l2)


def l1_l2(l1=0.01, l2=0.01):
    return L1L2(l1, l2)
