"""Elementwise binary ops with numpy broadcasting (ONNX Add, Sub, Mul, Div) and gradients.

Shapes broadcast as in numpy: aligned on the right, each axis equal or 1. Backward
functions return (da, db), each summed over the axes its input was broadcast along so
that it has that input's shape.
"""
from engine import _core

__all__ = [
    "add", "add_backward", "sub", "sub_backward", "mul", "mul_backward", "div",
    "div_backward",
]


def add(a, b):
    return _core.binary_forward("Add", a, b)


def add_backward(dy, a, b):
    return _core.binary_backward("Add", dy, a, b)


def sub(a, b):
    return _core.binary_forward("Sub", a, b)


def sub_backward(dy, a, b):
    return _core.binary_backward("Sub", dy, a, b)


def mul(a, b):
    return _core.binary_forward("Mul", a, b)


def mul_backward(dy, a, b):
    return _core.binary_backward("Mul", dy, a, b)


def div(a, b):
    return _core.binary_forward("Div", a, b)


def div_backward(dy, a, b):
    """da = dy / b, db = -dy * a / b**2 (each summed back to its input's shape)."""
    return _core.binary_backward("Div", dy, a, b)
