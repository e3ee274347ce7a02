"""Pooling on NCHW images (ONNX MaxPool, AveragePool, GlobalAveragePool) and gradients.

Attributes follow ONNX: `kernel_shape` [KH, KW] is required, `strides` default to 1,
`pads` are [top, left, bottom, right], `auto_pad` is "NOTSET", "SAME_UPPER", "SAME_LOWER"
or "VALID", and `ceil_mode` rounds the output size up (a last window may not start in
the end padding). Backward functions return dx.
"""
from engine import _core

__all__ = [
    "max_pool2d", "max_pool2d_backward", "avg_pool2d", "avg_pool2d_backward",
    "global_avg_pool2d", "global_avg_pool2d_backward",
]


def max_pool2d(x, kernel_shape, strides=None, pads=(0, 0, 0, 0), dilations=(1, 1),
               auto_pad="NOTSET", ceil_mode=False):
    """ONNX MaxPool: the largest input under each window; padding never wins."""
    return _core.pool2d_forward("max", x, kernel_shape, strides, pads, dilations, auto_pad,
                                ceil_mode)


def max_pool2d_backward(dy, x, kernel_shape, strides=None, pads=(0, 0, 0, 0),
                        dilations=(1, 1), auto_pad="NOTSET", ceil_mode=False):
    """dx: each dy goes to its window's maximum (the first one in scan order on ties)."""
    return _core.pool2d_backward("max", dy, x, kernel_shape, strides, pads, dilations,
                                 auto_pad, ceil_mode)


def avg_pool2d(x, kernel_shape, strides=None, pads=(0, 0, 0, 0), auto_pad="NOTSET",
               ceil_mode=False, count_include_pad=False, dilations=(1, 1)):
    """ONNX AveragePool. The divisor counts the taps inside the input, or with
    `count_include_pad` those inside the padded input (never a ceil_mode overhang)."""
    return _core.pool2d_forward("average", x, kernel_shape, strides, pads, dilations, auto_pad,
                                ceil_mode, count_include_pad)


def avg_pool2d_backward(dy, x, kernel_shape, strides=None, pads=(0, 0, 0, 0),
                        auto_pad="NOTSET", ceil_mode=False, count_include_pad=False,
                        dilations=(1, 1)):
    """dx: each dy spread evenly, dy / count, over its window's taps inside the input."""
    return _core.pool2d_backward("average", dy, x, kernel_shape, strides, pads, dilations,
                                 auto_pad, ceil_mode, count_include_pad)


def global_avg_pool2d(x):
    """ONNX GlobalAveragePool: [N, C, H, W] -> [N, C, 1, 1]."""
    return _core.global_avg_pool2d_forward(x)


def global_avg_pool2d_backward(dy, x):
    return _core.global_avg_pool2d_backward(dy, x)
