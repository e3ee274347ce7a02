# Conv (2-D, NCHW). Included by _core.pyx.
cimport ops_conv as cv
cimport window2d as win

_AUTO_PADS = ("NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID")


cdef cv.ConvAttrs _conv_attrs(strides, pads, dilations, group, auto_pad) except *:
    cdef cv.ConvAttrs attrs
    if auto_pad not in _AUTO_PADS:
        raise ValueError(f"Conv: unknown auto_pad {auto_pad!r} (expected one of {_AUTO_PADS})")
    attrs.window.auto_pad = win.auto_pad_from_string(auto_pad.encode())
    attrs.window.strides = as_int_list(strides, "Conv: strides")
    attrs.window.pads = as_int_list(pads, "Conv: pads")
    attrs.window.dilations = as_int_list(dilations, "Conv: dilations")
    if not isinstance(group, (int, np.integer)):
        raise TypeError(f"Conv: group must be an integer, got {group!r}")
    attrs.group = group
    return attrs


def conv_forward(x, w, b, strides, pads, dilations, group, auto_pad):
    """y = Conv(x, w, b) with ONNX attributes; `b` may be None."""
    cdef cv.ConvAttrs attrs = _conv_attrs(strides, pads, dilations, group, auto_pad)
    cdef Tensor tx = as_tensor(x, "Conv: x")
    cdef Tensor tw = as_tensor(w, "Conv: w")
    cdef Tensor tb = as_optional_tensor(b, "Conv: b")
    cdef Tensor ty
    with nogil:
        ty = cv.conv_forward(tx, tw, tb, attrs)
    return to_numpy(ty)


def conv_backward(dy, x, w, strides, pads, dilations, group, auto_pad,
                  bint need_dx, bint need_dw, bint need_db):
    """(dx, dw, db) of Conv, each None unless requested; dw and db start from zeros."""
    cdef cv.ConvAttrs attrs = _conv_attrs(strides, pads, dilations, group, auto_pad)
    cdef Tensor tdy = as_tensor(dy, "Conv_backward: dy")
    cdef Tensor tx = as_tensor(x, "Conv_backward: x")
    cdef Tensor tw = as_tensor(w, "Conv_backward: w")
    cdef cv.ConvGrads grads
    with nogil:
        grads = cv.conv_backward(tdy, tx, tw, attrs, need_dx, need_dw, need_db)
    return (to_numpy(grads.dx) if need_dx else None,
            to_numpy(grads.dw) if need_dw else None,
            to_numpy(grads.db) if need_db else None)
