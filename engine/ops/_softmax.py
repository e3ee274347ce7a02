"""Softmax and LogSoftmax along one axis (ONNX opset >= 13 semantics) and their gradients.

The backward functions take the forward OUTPUT `y` (not the input x): both gradients are
cheapest from it, and it is what a training step keeps from the forward pass anyway.
"""
from engine.ops._run import backward, forward

__all__ = ["softmax", "softmax_backward", "log_softmax", "log_softmax_backward"]


def softmax(x, axis=-1):
    """exp(x - max) / sum(exp(x - max)) along `axis` (any rank; stable for huge |x|)."""
    return forward("Softmax", [x], ("x",), {"axis": axis})


def softmax_backward(dy, y, axis=-1):
    """dx = y * (dy - sum(dy * y, axis)), where y = softmax(x, axis) is the forward output."""
    # The input's shape is the output's; backward reads only y.
    return backward("Softmax", [y], ("y",), dy, {"axis": axis}, outputs=[y], state=[])[0]


def log_softmax(x, axis=-1):
    """x - max - log(sum(exp(x - max))) along `axis`."""
    return forward("LogSoftmax", [x], ("x",), {"axis": axis})


def log_softmax_backward(dy, y, axis=-1):
    """dx = dy - exp(y) * sum(dy, axis), where y = log_softmax(x, axis) is the forward output."""
    return backward("LogSoftmax", [y], ("y",), dy, {"axis": axis}, outputs=[y], state=[])[0]
