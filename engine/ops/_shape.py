"""BatchNormalization, Dropout and the data-movement ops (ONNX semantics).

Concat, Transpose, Reshape, Flatten and Identity accept float32 or int64 arrays.
"""
from engine import _core

__all__ = [
    "batch_norm", "batch_norm_backward", "dropout", "dropout_backward",
    "concat", "concat_backward", "concat_output_shape",
    "transpose", "transpose_backward", "transpose_output_shape",
    "reshape", "reshape_backward", "reshape_output_shape",
    "flatten", "flatten_backward", "flatten_output_shape",
    "identity", "identity_backward",
]


def batch_norm(x, scale, bias, mean, var, epsilon=1e-5, momentum=0.9, training=False):
    """ONNX BatchNormalization over axis 1 of x ([N, C] or [N, C, H, W]).

    Inference: returns y computed with the running statistics `mean` and `var`.
    Training: returns (y, saved_mean, saved_inv_std) computed with the batch statistics and
    updates `mean` and `var` in place (float32 numpy arrays):
    running = momentum * running + (1 - momentum) * batch, where the batch variance is the
    biased one (divided by N*H*W) as in Keras 3, ONNX and onnxruntime (PyTorch instead uses
    the unbiased variance). Keras's BatchNormalization(momentum=0.99) means momentum=0.99.
    """
    if training:
        return _core.batch_norm_training(x, scale, bias, mean, var, epsilon, momentum)
    return _core.batch_norm_inference(x, scale, bias, mean, var, epsilon)


def batch_norm_backward(dy, x, scale, saved_mean, saved_inv_std, training=True):
    """(dx, dscale, dbias) of batch_norm.

    Training mode: pass the (saved_mean, saved_inv_std) the forward returned. For a frozen
    layer (inference-mode forward) pass training=False with the running mean and
    1 / sqrt(running_var + epsilon).
    """
    return _core.batch_norm_backward(dy, x, scale, saved_mean, saved_inv_std, training)


def dropout(x, rate, seed, training=True):
    """Inverted dropout: (y, mask), y = x * mask / (1 - rate) with mask[i] in {0, 1}.

    The mask depends only on (seed, element index): the same seed gives the same mask for
    any thread count. Inference mode returns (copy of x, None).
    """
    return _core.dropout_forward(x, rate, seed, training)


def dropout_backward(dy, mask, rate):
    """dx = dy * mask / (1 - rate); mask None (inference-mode forward) gives dx = dy."""
    return _core.dropout_backward(dy, mask, rate)


def concat(xs, axis):
    """ONNX Concat of the arrays `xs` along `axis` (negative counts from the end)."""
    return _core.concat_forward(list(xs), axis)


def concat_backward(dy, shapes_or_xs, axis):
    """The input gradients: dy split along `axis` by the inputs' shapes (or the inputs)."""
    return _core.concat_backward(dy, list(shapes_or_xs), axis)


def concat_output_shape(shapes, axis):
    return _core.concat_output_shape(list(shapes), axis)


def transpose(x, perm=None):
    """ONNX Transpose: y.shape[k] = x.shape[perm[k]]; perm None reverses the axes."""
    return _core.transpose_forward(x, perm)


def transpose_backward(dy, perm=None):
    """dx: dy transposed by the inverse of the forward's `perm`."""
    return _core.transpose_backward(dy, perm)


def transpose_output_shape(shape, perm=None):
    return _core.transpose_output_shape(shape, perm)


def reshape(x, shape, allowzero=False):
    """ONNX Reshape (0 copies the input dim unless allowzero, one -1 is inferred).

    Returns a view of x (no copy), like numpy.reshape.
    """
    return _core.reshape_forward(x, shape, allowzero)


def reshape_backward(dy, x_shape):
    """dx: dy with the forward input's shape (a view)."""
    return _core.reshape_backward(dy, x_shape)


def reshape_output_shape(shape, spec, allowzero=False):
    return _core.reshape_output_shape(shape, spec, allowzero)


def flatten(x, axis=1):
    """ONNX Flatten: [d0 * ... * d(axis-1), d(axis) * ... * d(r-1)] (a view of x)."""
    return _core.flatten_forward(x, axis)


def flatten_backward(dy, x_shape):
    return _core.reshape_backward(dy, x_shape)


def flatten_output_shape(shape, axis=1):
    return _core.flatten_output_shape(shape, axis)


def identity(x):
    """ONNX Identity: a copy of x."""
    return _core.identity_forward(x)


def identity_backward(dy):
    return _core.identity_forward(dy)
