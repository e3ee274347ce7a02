# Pooling (ONNX MaxPool, AveragePool, GlobalAveragePool), NCHW. Included by _core.pyx.
cimport ops_pool as pool_ops
cimport window2d as win


cdef pool_ops.PoolAttrs _pool_attrs(str op, kernel_shape, strides, pads, dilations, auto_pad,
                                    bint ceil_mode, bint count_include_pad) except *:
    cdef pool_ops.PoolAttrs attrs
    attrs.window.kernel_shape = as_int_list(kernel_shape, op + ": kernel_shape")
    attrs.window.strides = as_int_list(strides, op + ": strides")
    attrs.window.pads = as_int_list(pads, op + ": pads")
    attrs.window.dilations = as_int_list(dilations, op + ": dilations")
    attrs.window.auto_pad = win.auto_pad_from_string(str(auto_pad).encode())
    attrs.window.ceil_mode = ceil_mode
    attrs.count_include_pad = count_include_pad
    return attrs


cdef pool_ops.PoolKind _pool_kind(str kind) except *:
    if kind == "max":
        return pool_ops.PoolKind.Max
    if kind == "average":
        return pool_ops.PoolKind.Average
    raise ValueError(f"pool2d: unknown kind {kind!r} (expected 'max' or 'average')")


def pool2d_forward(str kind, x, kernel_shape, strides=None, pads=None, dilations=None,
                   auto_pad="NOTSET", ceil_mode=False, count_include_pad=False):
    """ONNX MaxPool (kind "max") or AveragePool (kind "average") on NCHW input."""
    cdef pool_ops.PoolKind k = _pool_kind(kind)
    op = "MaxPool" if kind == "max" else "AveragePool"
    cdef pool_ops.PoolAttrs attrs = _pool_attrs(op, kernel_shape, strides, pads, dilations,
                                                auto_pad, ceil_mode, count_include_pad)
    cdef Tensor tx = as_tensor(x, op + ": x")
    cdef Tensor ty
    with nogil:
        ty = pool_ops.pool2d_forward(k, tx, attrs)
    return to_numpy(ty)


def pool2d_backward(str kind, dy, x, kernel_shape, strides=None, pads=None, dilations=None,
                    auto_pad="NOTSET", ceil_mode=False, count_include_pad=False):
    """dx of pool2d_forward (overwritten, never accumulated)."""
    cdef pool_ops.PoolKind k = _pool_kind(kind)
    op = ("MaxPool" if kind == "max" else "AveragePool") + "_backward"
    cdef pool_ops.PoolAttrs attrs = _pool_attrs(op, kernel_shape, strides, pads, dilations,
                                                auto_pad, ceil_mode, count_include_pad)
    cdef Tensor tdy = as_tensor(dy, op + ": dy")
    cdef Tensor tx = as_tensor(x, op + ": x")
    cdef Tensor tdx
    with nogil:
        tdx = pool_ops.pool2d_backward(k, tdy, tx, attrs)
    return to_numpy(tdx)


def global_avg_pool2d_forward(x):
    """ONNX GlobalAveragePool: [N, C, H, W] -> [N, C, 1, 1]."""
    cdef Tensor tx = as_tensor(x, "GlobalAveragePool: x")
    cdef Tensor ty
    with nogil:
        ty = pool_ops.global_avg_pool2d_forward(tx)
    return to_numpy(ty)


def global_avg_pool2d_backward(dy, x):
    cdef Tensor tdy = as_tensor(dy, "GlobalAveragePool_backward: dy")
    cdef Tensor tx = as_tensor(x, "GlobalAveragePool_backward: x")
    cdef Tensor tdx
    with nogil:
        tdx = pool_ops.global_avg_pool2d_backward(tdy, tx)
    return to_numpy(tdx)
