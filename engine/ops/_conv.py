"""2-D convolution (ONNX Conv, NCHW) and its gradients."""
import numpy as np

from engine.ops._run import backward, forward

__all__ = ["conv2d", "conv2d_backward"]


def _pair(values):
    """An int means the same value on both spatial axes; sequences pass through."""
    return (values, values) if isinstance(values, (int, np.integer)) else values


def _pads(pads):
    """[top, left, bottom, right]; an int pads every side, a pair (ph, pw) pads
    symmetrically (top = bottom = ph, left = right = pw); None means no padding."""
    if pads is None:
        return None
    if isinstance(pads, (int, np.integer)):
        return (pads,) * 4
    pads = tuple(pads)
    return pads * 2 if len(pads) == 2 else pads


def _attrs(strides, pads, dilations, group, auto_pad):
    return {"strides": _pair(strides), "pads": _pads(pads), "dilations": _pair(dilations),
            "group": group, "auto_pad": auto_pad}


def conv2d(x, w, b=None, strides=(1, 1), pads=(0, 0, 0, 0), dilations=(1, 1), group=1,
           auto_pad="NOTSET"):
    """ONNX Conv on NCHW input: x [N, C, H, W], w [OC, C/group, KH, KW], b [OC] or None.

    `pads` is [top, left, bottom, right] (ONNX order), or an int / (ph, pw) pair for
    symmetric padding; `strides` and `dilations` are (h, w) pairs or an int for both.
    `auto_pad` is "NOTSET" (use `pads`), "SAME_UPPER", "SAME_LOWER" (output = ceil(in /
    stride), the odd pad at the end / the beginning) or "VALID" (no padding).
    Returns y [N, OC, OH, OW].
    """
    return forward("Conv", [x, w, b], ("x", "w", "b"),
                   _attrs(strides, pads, dilations, group, auto_pad))


def conv2d_backward(dy, x, w, b=None, strides=(1, 1), pads=(0, 0, 0, 0), dilations=(1, 1),
                    group=1, auto_pad="NOTSET", need=("dx", "dw", "db")):
    """Gradients of `conv2d` for the upstream gradient dy [N, OC, OH, OW].

    Takes the forward inputs and attributes as `conv2d` does; `b` only tells whether the
    forward had a bias (its values are not used). Returns (dx, dw, db); a gradient is None
    when not named in `need`, and db is None when b is None.
    """
    unknown = set(need) - {"dx", "dw", "db"}
    if unknown:
        raise ValueError(f"Conv_backward: unknown gradients {sorted(unknown)} in need={need!r} "
                         "(expected 'dx', 'dw', 'db')")
    if b is not None and np.shape(b) != np.shape(w)[:1]:
        raise ValueError(f"Conv_backward: b must have shape (OC,) = {np.shape(w)[:1]}, "
                         f"got {np.shape(b)}")
    flags = ["dx" in need, "dw" in need, b is not None and "db" in need]
    return tuple(backward("Conv", [x, w, b], ("x", "w", "b"), dy,
                          _attrs(strides, pads, dilations, group, auto_pad), need=flags))
