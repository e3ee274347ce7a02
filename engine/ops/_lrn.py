"""LRN: local response normalization across channels (ONNX semantics, AlexNet)."""
from engine import _core

__all__ = ["lrn", "lrn_backward"]


def lrn(x, size, alpha=1e-4, beta=0.75, bias=1.0):
    """y = x / (bias + alpha / size * sum of x^2 over `size` neighbouring channels)^beta.

    x is [N, C, ...]; the window of channel c is [c - floor((size-1)/2), c + ceil((size-1)/2)].
    """
    return _core.lrn_forward(x, size, alpha, beta, bias)


def lrn_backward(dy, x, size, alpha=1e-4, beta=0.75, bias=1.0):
    """dx of lrn (computed from x)."""
    return _core.lrn_backward(dy, x, size, alpha, beta, bias)
