"""Sum: the elementwise sum of any number of arrays with numpy broadcasting (ONNX Sum)."""
from engine import _core

__all__ = ["sum", "sum_backward"]


def sum(xs):  # noqa: A001 - the ONNX op's name
    """x_0 + x_1 + ... (float32 arrays, broadcast together)."""
    return _core.sum_forward(list(xs))


def sum_backward(dy, xs):
    """One gradient per input: dy summed over the axes that input was broadcast along."""
    return _core.sum_backward(dy, list(xs))
