"""Elementwise binary ops with numpy broadcasting (ONNX Add, Sub, Mul, Div), Clip, and their
gradients.

Shapes broadcast as in numpy: aligned on the right, each axis equal or 1. Backward
functions return (da, db), each summed over the axes its input was broadcast along so
that it has that input's shape.
"""
import numpy as np

from engine.ops._run import backward, forward

__all__ = [
    "add", "add_backward", "sub", "sub_backward", "mul", "mul_backward", "div",
    "div_backward", "clip", "clip_backward",
]


def add(a, b):
    return forward("Add", [a, b], ("a", "b"))


def add_backward(dy, a, b):
    return tuple(backward("Add", [a, b], ("a", "b"), dy))


def sub(a, b):
    return forward("Sub", [a, b], ("a", "b"))


def sub_backward(dy, a, b):
    return tuple(backward("Sub", [a, b], ("a", "b"), dy))


def mul(a, b):
    return forward("Mul", [a, b], ("a", "b"))


def mul_backward(dy, a, b):
    return tuple(backward("Mul", [a, b], ("a", "b"), dy))


def div(a, b):
    return forward("Div", [a, b], ("a", "b"))


def div_backward(dy, a, b):
    """da = dy / b, db = -dy * a / b**2 (each summed back to its input's shape)."""
    return tuple(backward("Div", [a, b], ("a", "b"), dy))


def _bound(value):
    return None if value is None else np.asarray(value, dtype=np.float32)


def clip(x, x_min=None, x_max=None):
    """ONNX Clip: min(max(x, x_min), x_max) elementwise; a bound left out does not clip.

    NaN stays NaN; with x_min > x_max every element becomes x_max (the ONNX rule)."""
    return forward("Clip", [x, _bound(x_min), _bound(x_max)], ("x", "min", "max"))


def clip_backward(dy, x, x_min=None, x_max=None):
    """dx = dy where x_min <= x <= x_max, else 0 (the bounds get no gradient)."""
    return backward("Clip", [x, _bound(x_min), _bound(x_max)], ("x", "min", "max"), dy,
                    need=[True, False, False])[0]
