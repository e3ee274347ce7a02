"""LRN: local response normalization across channels (ONNX semantics, AlexNet)."""
from engine.ops._run import backward, forward

__all__ = ["lrn", "lrn_backward"]


def _attrs(size, alpha, beta, bias):
    return {"size": size, "alpha": alpha, "beta": beta, "bias": bias}


def lrn(x, size, alpha=1e-4, beta=0.75, bias=1.0):
    """y = x / (bias + alpha / size * sum of x^2 over `size` neighbouring channels)^beta.

    x is [N, C, ...]; the window of channel c is [c - floor((size-1)/2), c + ceil((size-1)/2)].
    """
    return forward("LRN", [x], ("x",), _attrs(size, alpha, beta, bias))


def lrn_backward(dy, x, size, alpha=1e-4, beta=0.75, bias=1.0):
    """dx of lrn (computed from x)."""
    return backward("LRN", [x], ("x",), dy, _attrs(size, alpha, beta, bias))[0]
