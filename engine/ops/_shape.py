"""BatchNormalization, Dropout and the data-movement ops (ONNX semantics).

Concat, Transpose, Reshape, Flatten and Identity accept float32 or int64 arrays.
"""
import numpy as np

from engine import _core
from engine.ops._run import backward, forward

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
    attrs = {"epsilon": epsilon, "momentum": momentum}
    names = ("x", "scale", "bias", "mean", "var")
    if not training:
        return forward("BatchNormalization", [x, scale, bias, mean, var], names, attrs)
    label = "BatchNormalization(training)"
    for arr, name in ((mean, "running_mean"), (var, "running_var")):
        if not isinstance(arr, np.ndarray) or arr.dtype != np.float32:
            raise TypeError(f"{label}: {name} must be a float32 numpy array (updated in place), "
                            f"got {type(arr).__name__} {getattr(arr, 'dtype', '')}")
        if not arr.flags.writeable:
            raise ValueError(f"{label}: {name} must be writeable: it is updated in place")
    (y,), state = _core.run_op("BatchNormalization", [x, scale, bias, mean, var], attrs,
                               training=True, names=names[:3] + ("running_mean", "running_var"),
                               label=label)
    return y, state[0], state[1]


def batch_norm_backward(dy, x, scale, saved_mean, saved_inv_std, training=True):
    """(dx, dscale, dbias) of batch_norm.

    Training mode: pass the (saved_mean, saved_inv_std) the forward returned. For a frozen
    layer (inference-mode forward) pass training=False with the running mean and
    1 / sqrt(running_var + epsilon).
    """
    # Backward reads the statistics the forward used (the op's state) and only the shapes
    # of bias, mean and var, which are those of scale.
    state = [saved_mean, saved_inv_std] + ([saved_mean, saved_inv_std] if training else [])
    names = ("x", "scale", "bias", "mean", "var")
    return tuple(backward("BatchNormalization", [x, scale, scale, scale, scale], names, dy,
                          need=[True, True, True, False, False], state=state,
                          training=training))[:3]


def dropout(x, rate, seed, training=True):
    """Inverted dropout: (y, mask), y = x * mask / (1 - rate) with mask[i] in {0, 1}.

    The mask depends only on (seed, element index): the same seed gives the same mask for
    any thread count. Inference mode returns (copy of x, None).
    """
    if not isinstance(seed, (int, np.integer)):
        raise TypeError(f"Dropout: seed must be an integer, got {seed!r}")
    seed = int(seed) & 0xFFFFFFFFFFFFFFFF
    seed = seed - (1 << 64) if seed >= 1 << 63 else seed  # the int64 attribute's bits
    (y, mask), _ = _core.run_op("Dropout", [x], {"ratio": float(rate), "seed": seed},
                                training=training, num_outputs=2, names=("x",))
    return y, (mask if training else None)


def dropout_backward(dy, mask, rate):
    """dx = dy * mask / (1 - rate); mask None (inference-mode forward) gives dx = dy."""
    # Backward reads the mask (the op's state in training mode) and dy's shape.
    return backward("Dropout", [dy], ("dy",), dy, {"ratio": float(rate)},
                    state=[] if mask is None else [mask], training=mask is not None)[0]


def concat(xs, axis):
    """ONNX Concat of the arrays `xs` along `axis` (negative counts from the end)."""
    xs = list(xs)
    return forward("Concat", xs, tuple(f"input {i}" for i in range(len(xs))), {"axis": axis})


def concat_backward(dy, shapes_or_xs, axis):
    """The input gradients: dy split along `axis` by the inputs' shapes (or the inputs)."""
    # Backward reads only the inputs' shapes.
    xs = [np.empty(np.shape(s) if hasattr(s, "shape") else tuple(s), np.asarray(dy).dtype)
          for s in shapes_or_xs]
    return tuple(backward("Concat", xs, None, dy, {"axis": axis}))


def _output_shape(op_type, inputs, attrs=None):
    return _core.infer_op(op_type, inputs, attrs)[0][0]


def concat_output_shape(shapes, axis):
    return _output_shape("Concat", [(tuple(s), "float32") for s in shapes], {"axis": axis})


def transpose(x, perm=None):
    """ONNX Transpose: y.shape[k] = x.shape[perm[k]]; perm None reverses the axes."""
    return forward("Transpose", [x], ("x",), {"perm": perm})


def transpose_backward(dy, perm=None):
    """dx: dy transposed by the inverse of the forward's `perm`."""
    if perm is not None:
        transpose_output_shape(np.shape(dy), perm)  # the core checks the permutation
        perm = np.argsort(perm).tolist()
    return forward("Transpose", [dy], ("dy",), {"perm": perm}, label="Transpose_backward")


def transpose_output_shape(shape, perm=None):
    return _output_shape("Transpose", [(tuple(shape), "float32")], {"perm": perm})


def reshape(x, shape, allowzero=False):
    """ONNX Reshape (0 copies the input dim unless allowzero, one -1 is inferred).

    Returns a view of x (no copy), like numpy.reshape.
    """
    x = _core.op_input(x, "Reshape: x")
    return x.reshape(reshape_output_shape(x.shape, shape, allowzero))


def reshape_backward(dy, x_shape):
    """dx: dy with the forward input's shape (a view)."""
    return _view_as(dy, x_shape, "Reshape_backward")


def reshape_output_shape(shape, spec, allowzero=False):
    spec = np.asarray(spec, dtype=np.int64).reshape(-1)
    return _output_shape("Reshape", [(tuple(shape), "float32"), spec], {"allowzero": int(allowzero)})


def flatten(x, axis=1):
    """ONNX Flatten: [d0 * ... * d(axis-1), d(axis) * ... * d(r-1)] (a view of x)."""
    x = _core.op_input(x, "Flatten: x")
    return x.reshape(flatten_output_shape(x.shape, axis))


def flatten_backward(dy, x_shape):
    return _view_as(dy, x_shape, "Reshape_backward")


def flatten_output_shape(shape, axis=1):
    return _output_shape("Flatten", [(tuple(shape), "float32")], {"axis": axis})


def identity(x):
    """ONNX Identity: a copy of x."""
    return forward("Identity", [x], ("x",))


def identity_backward(dy):
    return forward("Identity", [dy], ("dy",))


def _view_as(dy, x_shape, op):
    """dy with the forward input's shape, as a view (the shape-only ops' backward)."""
    dy = _core.op_input(dy, f"{op}: dy")
    x_shape = tuple(int(d) for d in x_shape)
    if int(np.prod(x_shape)) != dy.size:
        raise ValueError(f"{op}: dy {dy.dtype}{list(dy.shape)} cannot take the input shape "
                         f"{list(x_shape)}")
    return dy.reshape(x_shape)
