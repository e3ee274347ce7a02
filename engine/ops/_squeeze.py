"""Unsqueeze and Squeeze (ONNX opset 13 semantics): insert or remove size-1 dims.

Both accept float32 or int64 arrays and return views of x (no copy)."""
import numpy as np

from engine import _core

__all__ = ["unsqueeze", "unsqueeze_backward", "unsqueeze_output_shape",
           "squeeze", "squeeze_backward", "squeeze_output_shape"]


def unsqueeze_output_shape(shape, axes):
    return _core.unsqueeze_output_shape(shape, axes)


def unsqueeze(x, axes):
    """x with a size-1 dim at every entry of `axes` (indices into the output)."""
    return _core.unsqueeze_forward(x, axes)


def unsqueeze_backward(dy, x, axes):
    """dx = dy with x's shape."""
    return _core.reshape_backward(dy, np.shape(x))


def squeeze_output_shape(shape, axes=None):
    return _core.squeeze_output_shape(shape, () if axes is None else axes)


def squeeze(x, axes=None):
    """x without the size-1 dims in `axes` (all of them when axes is None or empty)."""
    return _core.squeeze_forward(x, () if axes is None else axes)


def squeeze_backward(dy, x, axes=None):
    """dx = dy with x's shape."""
    return _core.reshape_backward(dy, np.shape(x))
