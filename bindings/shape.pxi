# BatchNormalization, Dropout and the data-movement ops (Concat, Transpose, Reshape,
# Flatten, Identity). Included by _core.pyx.
from libc.stdint cimport uint64_t
from ops_shape cimport BatchNormAttrs, BatchNormSaved, BatchNormGrads
cimport ops_shape as shp


cdef Tensor _running_stat(object arr, str what) except *:
    """A view of a running-statistics array the core updates in place."""
    if not isinstance(arr, np.ndarray) or arr.dtype != np.float32:
        raise TypeError(f"{what} must be a float32 numpy array (updated in place), got "
                        f"{type(arr).__name__} {getattr(arr, 'dtype', '')}")
    if not arr.flags.writeable:
        raise ValueError(f"{what} must be writeable: it is updated in place")
    return as_tensor(arr, what)


def batch_norm_inference(x, scale, bias, mean, var, float epsilon):
    """y = scale * (x - mean) / sqrt(var + epsilon) + bias, channels on axis 1."""
    cdef BatchNormAttrs attrs
    attrs.epsilon = epsilon
    cdef Tensor tx = as_tensor(x, "BatchNormalization: x")
    cdef Tensor ts = as_tensor(scale, "BatchNormalization: scale")
    cdef Tensor tb = as_tensor(bias, "BatchNormalization: bias")
    cdef Tensor tm = as_tensor(mean, "BatchNormalization: mean")
    cdef Tensor tv = as_tensor(var, "BatchNormalization: var")
    cdef Tensor ty
    with nogil:
        ty = shp.batch_norm_forward_inference(tx, ts, tb, tm, tv, attrs)
    return to_numpy(ty)


def batch_norm_training(x, scale, bias, running_mean, running_var, float epsilon,
                        float momentum):
    """(y, batch mean, batch inv_std); running_mean/running_var are updated in place."""
    cdef BatchNormAttrs attrs
    attrs.epsilon = epsilon
    attrs.momentum = momentum
    cdef Tensor tx = as_tensor(x, "BatchNormalization(training): x")
    cdef Tensor ts = as_tensor(scale, "BatchNormalization(training): scale")
    cdef Tensor tb = as_tensor(bias, "BatchNormalization(training): bias")
    cdef Tensor tm = _running_stat(running_mean, "BatchNormalization(training): running_mean")
    cdef Tensor tv = _running_stat(running_var, "BatchNormalization(training): running_var")
    cdef BatchNormSaved saved
    cdef Tensor ty
    with nogil:
        ty = shp.batch_norm_forward_training(tx, ts, tb, tm, tv, attrs, saved)
    return to_numpy(ty), to_numpy(saved.mean), to_numpy(saved.inv_std)


def batch_norm_backward(dy, x, scale, saved_mean, saved_inv_std, bint training):
    """(dx, dscale, dbias) from the statistics the forward used."""
    cdef Tensor tdy = as_tensor(dy, "BatchNormalization_backward: dy")
    cdef Tensor tx = as_tensor(x, "BatchNormalization_backward: x")
    cdef Tensor ts = as_tensor(scale, "BatchNormalization_backward: scale")
    cdef BatchNormSaved saved
    saved.mean = as_tensor(saved_mean, "BatchNormalization_backward: saved_mean")
    saved.inv_std = as_tensor(saved_inv_std, "BatchNormalization_backward: saved_inv_std")
    cdef BatchNormGrads g
    with nogil:
        g = shp.batch_norm_backward(tdy, tx, ts, saved, training)
    return to_numpy(g.dx), to_numpy(g.dscale), to_numpy(g.dbias)


def dropout_forward(x, float rate, seed, bint training):
    """(y, mask) with mask[i] in {0, 1}; inference mode gives y = x and mask = None."""
    if not isinstance(seed, (int, np.integer)):
        raise TypeError(f"Dropout: seed must be an integer, got {seed!r}")
    cdef uint64_t useed = int(seed) & 0xFFFFFFFFFFFFFFFF
    cdef Tensor tx = as_tensor(x, "Dropout: x")
    cdef Tensor tmask
    cdef Tensor ty
    with nogil:
        ty = shp.dropout_forward(tx, rate, useed, training, tmask)
    return to_numpy(ty), (to_numpy(tmask) if training else None)


def dropout_backward(dy, mask, float rate):
    """dx = dy * mask / (1 - rate); mask None (inference-mode forward) gives dx = dy."""
    cdef Tensor tdy = as_tensor(dy, "Dropout_backward: dy")
    cdef Tensor tmask = as_optional_tensor(mask, "Dropout_backward: mask")
    cdef Tensor tdx
    with nogil:
        tdx = shp.dropout_backward(tdy, tmask, rate)
    return to_numpy(tdx)


cdef vector[Shape] _shapes_of(object shapes_or_arrays, str what) except *:
    cdef vector[Shape] shapes
    for item in shapes_or_arrays:
        shapes.push_back(as_int_list(item.shape if hasattr(item, "shape") else item, what))
    return shapes


def concat_output_shape(shapes, int64_t axis):
    return tuple(shp.concat_output_shape(_shapes_of(shapes, "Concat: shapes"), axis))


def concat_forward(xs, int64_t axis):
    cdef vector[Tensor] txs
    for i, x in enumerate(xs):
        txs.push_back(as_tensor(x, f"Concat: input {i}"))
    cdef Tensor ty
    with nogil:
        ty = shp.concat_forward(txs, axis)
    return to_numpy(ty)


def concat_backward(dy, shapes_or_xs, int64_t axis):
    cdef Tensor tdy = as_tensor(dy, "Concat_backward: dy")
    cdef vector[Shape] shapes = _shapes_of(shapes_or_xs, "Concat_backward: shapes")
    cdef vector[Tensor] tdxs
    with nogil:
        tdxs = shp.concat_backward(tdy, shapes, axis)
    return tuple(to_numpy(t) for t in tdxs)


def transpose_output_shape(shape, perm):
    return tuple(shp.transpose_output_shape(as_int_list(shape, "Transpose: shape"),
                                            as_int_list(perm, "Transpose: perm")))


def transpose_forward(x, perm):
    cdef vector[int64_t] p = as_int_list(perm, "Transpose: perm")
    cdef Tensor tx = as_tensor(x, "Transpose: x")
    cdef Tensor ty
    with nogil:
        ty = shp.transpose_forward(tx, p)
    return to_numpy(ty)


def transpose_backward(dy, perm):
    cdef vector[int64_t] p = as_int_list(perm, "Transpose_backward: perm")
    cdef Tensor tdy = as_tensor(dy, "Transpose_backward: dy")
    cdef Tensor tdx
    with nogil:
        tdx = shp.transpose_backward(tdy, p)
    return to_numpy(tdx)


def reshape_output_shape(shape, spec, bint allowzero):
    return tuple(shp.reshape_output_shape(as_int_list(shape, "Reshape: input shape"),
                                          as_int_list(spec, "Reshape: shape"), allowzero))


def flatten_output_shape(shape, int64_t axis):
    return tuple(shp.flatten_output_shape(as_int_list(shape, "Flatten: input shape"), axis))


def reshape_forward(x, spec, bint allowzero):
    """A view of x with the ONNX Reshape of `spec` (no copy)."""
    cdef vector[int64_t] s = as_int_list(spec, "Reshape: shape")
    cdef Tensor tx = as_tensor(x, "Reshape: x")
    cdef Tensor ty
    with nogil:
        ty = shp.reshape_forward(tx, s, allowzero)
    return to_numpy(ty)


def flatten_forward(x, int64_t axis):
    """A view of x flattened to 2-D around `axis` (no copy)."""
    cdef Tensor tx = as_tensor(x, "Flatten: x")
    cdef Tensor ty
    with nogil:
        ty = shp.flatten_forward(tx, axis)
    return to_numpy(ty)


def identity_forward(x):
    """A copy of x."""
    cdef Tensor tx = as_tensor(x, "Identity: x")
    cdef Tensor ty = core.tensor_empty(tx.shape(), tx.dtype())
    with nogil:
        shp.identity_forward(tx, ty)
    return to_numpy(ty)


def reshape_backward(dy, x_shape):
    """dy viewed with the forward input's shape (no copy)."""
    cdef Shape s = as_int_list(x_shape, "Reshape_backward: x_shape")
    cdef Tensor tdy = as_tensor(dy, "Reshape_backward: dy")
    cdef Tensor tdx
    with nogil:
        tdx = shp.reshape_backward(tdy, s)
    return to_numpy(tdx)
