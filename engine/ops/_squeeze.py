"""Unsqueeze and Squeeze (ONNX opset 13 semantics): insert or remove size-1 dims.

Both accept float32 or int64 arrays and return views of x (no copy)."""
import numpy as np

from engine import _core
from engine.ops._shape import _view_as

__all__ = ["unsqueeze", "unsqueeze_backward", "unsqueeze_output_shape",
           "squeeze", "squeeze_backward", "squeeze_output_shape"]


def _axes(axes):
    return np.asarray([] if axes is None else axes, dtype=np.int64).reshape(-1)


def unsqueeze_output_shape(shape, axes):
    return _core.infer_op("Unsqueeze", [(tuple(shape), "float32"), _axes(axes)])[0][0]


def unsqueeze(x, axes):
    """x with a size-1 dim at every entry of `axes` (indices into the output)."""
    x = _core.op_input(x, "Unsqueeze: x")
    return x.reshape(unsqueeze_output_shape(x.shape, axes))


def unsqueeze_backward(dy, x, axes):
    """dx = dy with x's shape."""
    return _view_as(dy, np.shape(x), "Unsqueeze_backward")


def squeeze_output_shape(shape, axes=None):
    return _core.infer_op("Squeeze", [(tuple(shape), "float32"), _axes(axes)])[0][0]


def squeeze(x, axes=None):
    """x without the size-1 dims in `axes` (all of them when axes is None or empty)."""
    x = _core.op_input(x, "Squeeze: x")
    return x.reshape(squeeze_output_shape(x.shape, axes))


def squeeze_backward(dy, x, axes=None):
    """dx = dy with x's shape."""
    return _view_as(dy, np.shape(x), "Squeeze_backward")
