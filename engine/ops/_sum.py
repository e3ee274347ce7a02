"""Sum: the elementwise sum of any number of arrays with numpy broadcasting (ONNX Sum)."""
from engine.ops._run import backward, forward

__all__ = ["sum", "sum_backward"]


def _names(n):
    return tuple(f"input {i}" for i in range(n))


def sum(xs):  # noqa: A001 - the ONNX op's name
    """x_0 + x_1 + ... (float32 arrays, broadcast together)."""
    xs = list(xs)
    return forward("Sum", xs, _names(len(xs)))


def sum_backward(dy, xs):
    """One gradient per input: dy summed over the axes that input was broadcast along."""
    xs = list(xs)
    return list(backward("Sum", xs, _names(len(xs)), dy))
