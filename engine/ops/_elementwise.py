"""Elementwise binary ops with numpy broadcasting (ONNX Add, Sub, Mul, Div) and gradients.

Shapes broadcast as in numpy: aligned on the right, each axis equal or 1. Backward
functions return (da, db), each summed over the axes its input was broadcast along so
that it has that input's shape.
"""
from engine.ops._run import backward, forward

__all__ = [
    "add", "add_backward", "sub", "sub_backward", "mul", "mul_backward", "div",
    "div_backward",
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
