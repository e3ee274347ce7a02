"""Pooling on NCHW images (ONNX MaxPool, AveragePool, GlobalAveragePool) and gradients.

Attributes follow ONNX: `kernel_shape` [KH, KW] is required, `strides` default to 1,
`pads` are [top, left, bottom, right], `auto_pad` is "NOTSET", "SAME_UPPER", "SAME_LOWER"
or "VALID", and `ceil_mode` rounds the output size up (a last window may not start in
the end padding). Backward functions return dx.
"""
from engine.ops._run import backward, forward

__all__ = [
    "max_pool2d", "max_pool2d_backward", "avg_pool2d", "avg_pool2d_backward",
    "global_avg_pool2d", "global_avg_pool2d_backward",
]


def _attrs(kernel_shape, strides, pads, dilations, auto_pad, ceil_mode, **extra):
    return {"kernel_shape": kernel_shape, "strides": strides, "pads": pads,
            "dilations": dilations, "auto_pad": auto_pad, "ceil_mode": int(ceil_mode), **extra}


def max_pool2d(x, kernel_shape, strides=None, pads=(0, 0, 0, 0), dilations=(1, 1),
               auto_pad="NOTSET", ceil_mode=False):
    """ONNX MaxPool: the largest input under each window; padding never wins."""
    return forward("MaxPool", [x], ("x",),
                   _attrs(kernel_shape, strides, pads, dilations, auto_pad, ceil_mode))


def max_pool2d_backward(dy, x, kernel_shape, strides=None, pads=(0, 0, 0, 0),
                        dilations=(1, 1), auto_pad="NOTSET", ceil_mode=False):
    """dx: each dy goes to its window's maximum (the first one in scan order on ties)."""
    return backward("MaxPool", [x], ("x",), dy,
                    _attrs(kernel_shape, strides, pads, dilations, auto_pad, ceil_mode))[0]


def avg_pool2d(x, kernel_shape, strides=None, pads=(0, 0, 0, 0), auto_pad="NOTSET",
               ceil_mode=False, count_include_pad=False, dilations=(1, 1)):
    """ONNX AveragePool. The divisor counts the taps inside the input, or with
    `count_include_pad` those inside the padded input (never a ceil_mode overhang)."""
    return forward("AveragePool", [x], ("x",),
                   _attrs(kernel_shape, strides, pads, dilations, auto_pad, ceil_mode,
                          count_include_pad=int(count_include_pad)))


def avg_pool2d_backward(dy, x, kernel_shape, strides=None, pads=(0, 0, 0, 0),
                        auto_pad="NOTSET", ceil_mode=False, count_include_pad=False,
                        dilations=(1, 1)):
    """dx: each dy spread evenly, dy / count, over its window's taps inside the input."""
    return backward("AveragePool", [x], ("x",), dy,
                    _attrs(kernel_shape, strides, pads, dilations, auto_pad, ceil_mode,
                           count_include_pad=int(count_include_pad)))[0]


def global_avg_pool2d(x):
    """ONNX GlobalAveragePool: [N, C, H, W] -> [N, C, 1, 1]."""
    return forward("GlobalAveragePool", [x], ("x",))


def global_avg_pool2d_backward(dy, x):
    return backward("GlobalAveragePool", [x], ("x",), dy)[0]
