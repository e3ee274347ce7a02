"""Random draws (Keras's keras.random names): on arrays they return numpy values; inside a
layer's call() they become graph nodes (ONNX RandomNormalLike / RandomUniformLike) that draw
afresh on every training step and every call, replaying from the seed.

A shape with sizes known only at run time (the batch) comes from `engine.ops.shape(x)` of a
symbolic tensor: the draws then take x's shape, as `normal_like(x)` does.
"""
import numpy as np

from engine import _random
from engine.ops._symbolic import apply, is_symbolic, shape_of

__all__ = ["normal", "uniform", "normal_like", "uniform_like"]


def _seed(seed):
    # ONNX carries the seed as a float: seeds below 2^24 stay exact.
    return float((_random.next_seed() if seed is None else int(seed)) % (1 << 24))


def _draw(op_type, function, like, seed, **attrs):
    attrs = {**attrs, "seed": _seed(seed)}
    return apply(function, [like], lambda b, names: b.node(op_type, names, attrs=attrs),
                 lambda s: tuple(s))


def normal_like(x, mean=0.0, stddev=1.0, seed=None):
    """Draws from N(mean, stddev^2) with x's shape."""
    return _draw("RandomNormalLike", "normal", x, seed, mean=float(mean), scale=float(stddev))


def uniform_like(x, minval=0.0, maxval=1.0, seed=None):
    """Draws from U[minval, maxval) with x's shape."""
    return _draw("RandomUniformLike", "uniform", x, seed, low=float(minval), high=float(maxval))


def _like(shape):
    tensor = getattr(shape, "tensor", None)  # engine.ops.shape of a symbolic tensor
    if tensor is not None:
        return tensor
    if any(d is None for d in shape):
        raise ValueError(f"random: shape {tuple(shape)} has unknown sizes; pass engine.ops.shape(x) of the "
                         "tensor it follows, or use normal_like(x)")
    return np.zeros(tuple(int(d) for d in shape), np.float32)


def normal(shape, mean=0.0, stddev=1.0, seed=None):
    return normal_like(_like(shape), mean, stddev, seed)


def uniform(shape, minval=0.0, maxval=1.0, seed=None):
    return uniform_like(_like(shape), minval, maxval, seed)


del is_symbolic, shape_of
